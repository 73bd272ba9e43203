package restapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/packhub/packhub/internal/testenv"
)

// Every response the tests receive is checked against GitHub's official
// OpenAPI description of api.github.com, from npm @octokit/openapi (pinned
// in test/tools/package.json).

// EnvOpenAPI names a variable that points at api.github.com.json directly.
const EnvOpenAPI = "PACKHUB_OPENAPI"

// specHost is the server the description is given, so that one router
// serves every test server: requests are re-addressed to it for matching.
const specHost = "http://packhub.test"

type spec struct {
	doc        *openapi3.T
	router     routers.Router
	basicError *openapi3.Schema
	err        error
	path       string
}

var (
	specOnce sync.Once
	theSpec  spec
)

func openAPIPath() string {
	if p := os.Getenv(EnvOpenAPI); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(root, "test", "tools", "node_modules", "@octokit", "openapi", "generated", "api.github.com.json")
}

// loadSpec returns the description, loaded once per test binary. Without
// it the test is skipped, or fails when CI is set.
func loadSpec(t testing.TB) *spec {
	t.Helper()
	specOnce.Do(func() {
		theSpec.path = openAPIPath()
		if _, err := os.Stat(theSpec.path); err != nil {
			theSpec.err = err
			return
		}
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		doc, err := loader.LoadFromFile(theSpec.path)
		if err != nil {
			theSpec.err = fmt.Errorf("load %s: %w", theSpec.path, err)
			return
		}
		// GitHub's schema for package.visibility lists public and private
		// only, yet GitHub reports internal packages as "internal" (and
		// accepts "internal" as a filter). Packhub does the same, so the
		// check allows that value too; nothing else is relaxed.
		if pkg := doc.Components.Schemas["package"]; pkg != nil && pkg.Value != nil {
			if vis := pkg.Value.Properties["visibility"]; vis != nil && vis.Value != nil {
				vis.Value.Enum = append(vis.Value.Enum, "internal")
			}
		}
		doc.Servers = openapi3.Servers{{URL: specHost}, {URL: specHost + "/api/v3"}}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			theSpec.err = fmt.Errorf("router: %w", err)
			return
		}
		theSpec.doc, theSpec.router = doc, router
		theSpec.basicError = doc.Components.Schemas["basic-error"].Value
		// URLs in bodies must be absolute.
		openapi3.DefineStringFormatCallback("uri", func(s string) error {
			u, err := url.Parse(s)
			if err != nil || u.Scheme == "" || u.Host == "" {
				return fmt.Errorf("not an absolute URI: %q", s)
			}
			return nil
		})
	})
	if theSpec.err != nil {
		msg := fmt.Sprintf("GitHub's OpenAPI description is not available (%v): run `cd test/tools && npm install`, or set %s", theSpec.err, EnvOpenAPI)
		testenv.Missing(t, "%s", msg)
	}
	return &theSpec
}

// checkResponse validates one exchange: the headers every response carries,
// and the status and body against the operation's description. A status the
// operation does not document must be an error with a basic-error body.
func (s *spec) checkResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	where := req.Method + " " + req.URL.RequestURI()
	// net/http drops Content-Type from a 304, as RFC 9110 asks.
	if ct := header.Get("Content-Type"); ct != "application/json; charset=utf-8" && status != http.StatusNotModified {
		t.Errorf("%s: Content-Type %q", where, ct)
	}
	for _, h := range []string{"X-GitHub-Request-Id", "X-GitHub-Media-Type", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"} {
		if header.Get(h) == "" {
			t.Errorf("%s: no %s header", where, h)
		}
	}
	if r := header.Get("X-RateLimit-Remaining"); r == "0" {
		t.Errorf("%s: X-RateLimit-Remaining is 0", where)
	}
	switch status {
	case http.StatusNoContent, http.StatusNotModified:
		if len(body) != 0 {
			t.Errorf("%s: %d with a body: %q", where, status, body)
		}
		if status == http.StatusNotModified {
			return
		}
	default:
		if !json.Valid(body) {
			t.Errorf("%s: %d body is not JSON: %q", where, status, body)
			return
		}
	}
	if status >= 400 {
		s.checkError(t, where, status, body)
	}

	// Find the operation in GitHub's description, addressed as the spec's
	// server: the path keeps its escaping, so "a%2Fb" stays one segment.
	p := req.URL.EscapedPath()
	if p == "/api/v3" {
		p = "/api/v3/" // the API root, as the description's server spells it
	}
	u, _ := url.Parse(specHost + p)
	u.RawQuery = req.URL.RawQuery
	sreq := req.Clone(context.Background())
	sreq.URL, sreq.Host, sreq.RequestURI = u, u.Host, ""
	route, params, err := s.router.FindRoute(sreq)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusBadRequest && status != http.StatusUnauthorized {
			t.Errorf("%s: not an operation of GitHub's API (%v), yet answered %d", where, err, status)
		}
		return
	}
	if route.Operation.Responses.Status(status) == nil && route.Operation.Responses.Default() == nil {
		if status < 400 {
			t.Errorf("%s: %s does not document status %d", where, route.Operation.OperationID, status)
		}
		return // an undocumented error: checked as basic-error above
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: sreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true},
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s (%s): response %d does not match GitHub's description:\n%v\nbody: %s", where, route.Operation.OperationID, status, trimErr(err), truncate(body, 2000))
	}
}

// checkError asserts GitHub's error body: basic-error, with message,
// documentation_url and the status as a string.
func (s *spec) checkError(t testing.TB, where string, status int, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: error body: %v", where, err)
		return
	}
	if err := s.basicError.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("%s: error body is not a basic-error: %v", where, err)
	}
	m, _ := v.(map[string]any)
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("%s: error body without message: %s", where, body)
	}
	if doc, _ := m["documentation_url"].(string); !strings.HasPrefix(doc, "https://docs.github.com/") {
		t.Errorf("%s: error body documentation_url %q", where, doc)
	}
	if st, _ := m["status"].(string); st != strconv.Itoa(status) {
		t.Errorf("%s: error body status %q, want %q", where, st, strconv.Itoa(status))
	}
}

func trimErr(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 5 {
		return openapi3.MultiError(me[:5]).Error() + fmt.Sprintf(" (and %d more)", len(me)-5)
	}
	s := err.Error()
	if len(s) > 3000 {
		s = s[:3000] + "..."
	}
	return s
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// readAll reads and closes a body.
func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return buf.Bytes()
}
