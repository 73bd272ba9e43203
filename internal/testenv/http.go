package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Token scopes tests hand out.
const (
	// AllScopes is what a token that may do everything carries.
	AllScopes = "read:packages,write:packages,delete:packages,repo"
	// ReadScopes may read, also from repository-scoped registries.
	ReadScopes = "read:packages,repo"
)

// Front is a protocol front under test on a real HTTP server on loopback,
// stopped when the test ends.
type Front struct {
	T      testing.TB
	URL    string // no trailing slash
	Client *http.Client
}

// Serve starts a front on a real HTTP server. build gets the server's URL,
// for fronts that write it into their answers.
func Serve(t testing.TB, build func(baseURL string) http.Handler) *Front {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	srv.Config.Handler = build(srv.URL)
	return &Front{T: t, URL: srv.URL, Client: srv.Client()}
}

// Auth puts a credential on a request.
type Auth func(*http.Request)

// Basic is HTTP Basic with the token as password, as most package
// clients send it.
func Basic(user, token string) Auth {
	return func(r *http.Request) { r.SetBasicAuth(user, token) }
}

// Bearer is "Authorization: Bearer TOKEN".
func Bearer(token string) Auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// RawToken is "Authorization: TOKEN", as gem push sends its API key.
func RawToken(token string) Auth {
	return func(r *http.Request) { r.Header.Set("Authorization", token) }
}

// Request is one request to a front.
type Request struct {
	Method string // default GET
	Path   string // under the front's URL
	Body   io.Reader
	Header http.Header
	Auth   Auth // nil: anonymous
}

// Response is a front's answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request and reads the answer. A 500 fails the test: a front
// never answers a client's input with an internal error (507, a full
// disk, and 503, busy, are answers of their own).
func (f *Front) Do(req Request) *Response {
	f.T.Helper()
	res, b := f.Send(req)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Send sends a request and reads the answer, for tests that look at more
// of it than Do keeps (the request it answers, trailers). The body is
// read and closed. A 500 fails the test, as with Do.
func (f *Front) Send(req Request) (*http.Response, []byte) {
	f.T.Helper()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequest(method, f.URL+req.Path, req.Body)
	if err != nil {
		f.T.Fatal(err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if req.Auth != nil {
		req.Auth(hr)
	}
	res, err := f.Client.Do(hr)
	if err != nil {
		f.T.Fatalf("%s %s: %v", method, req.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.T.Fatalf("%s %s: read the answer: %v", method, req.Path, err)
	}
	if res.StatusCode == http.StatusInternalServerError {
		f.T.Errorf("%s %s: status %d: %s", method, req.Path, res.StatusCode, b)
	}
	return res, b
}

// Headers builds a header from alternating names and values.
func Headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
