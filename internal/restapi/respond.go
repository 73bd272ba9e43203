package restapi

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// call is one request in flight: what the shared steps learned about it and
// how to answer it.
type call struct {
	s         *server
	w         http.ResponseWriter
	r         *http.Request
	actor     *packages.Actor // nil: anonymous
	version   string          // the selected API version
	docs      string          // documentation_url of error bodies
	requestID string
	wrote     bool
}

func (s *server) newCall(w http.ResponseWriter, r *http.Request) *call {
	return &call{s: s, w: w, r: r, version: DefaultVersion, docs: docsREST, requestID: requestID(r)}
}

// requestID reuses the id a front middleware put in X-Request-Id, when it
// is a plain token, or makes one in GitHub's style.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && isPlainToken(id) {
		return id
	}
	var b [14]byte
	_, _ = rand.Read(b[:])
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:4] + ":" + h[4:8] + ":" + h[8:14] + ":" + h[14:20] + ":" + h[20:28]
}

func isPlainToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

const exposeHeaders = "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset"

// commonHeaders sets the headers every response carries.
func (c *call) commonHeaders() {
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", c.requestID)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "deny")
	h.Set("X-XSS-Protection", "0")
	h.Set("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", "default-src 'none'")
}

// preflight answers a CORS preflight request.
func (c *call) preflight() {
	h := c.w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, X-GitHub-Api-Version")
	h.Set("Access-Control-Max-Age", "86400")
	c.noContent()
}

// selectVersion applies X-GitHub-Api-Version. It answers 400 and returns
// false for a version that is not served.
func (c *call) selectVersion() bool {
	v := strings.TrimSpace(c.r.Header.Get("X-GitHub-Api-Version"))
	if v == "" {
		v = DefaultVersion
	}
	for _, sv := range SupportedVersions {
		if v == sv {
			c.version = v
			c.w.Header().Set("X-GitHub-Api-Version-Selected", v)
			return true
		}
	}
	shown := v
	if len(shown) > 64 {
		shown = shown[:64] + "..."
	}
	c.docs = "https://docs.github.com/rest/about-the-rest-api/api-versions"
	c.writeJSON(http.StatusBadRequest, versionError{
		Message: "Bad Request",
		Errors: fmt.Sprintf("The version you specified in the \"X-GitHub-API-Version\" request header, %q, is not a supported version. "+
			"The following versions are currently supported: %q (most recent) and %q. "+
			"For more information, see %s.", shown, Version20260310, Version20221128, c.docs),
		DocumentationURL: c.docs,
		Status:           "400",
	})
	return false
}

type versionError struct {
	Message          string `json:"message"`
	Errors           string `json:"errors"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status"`
}

// basicError is GitHub's error body (schema basic-error).
type basicError struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status"`
}

// error answers with GitHub's error body.
func (c *call) error(status int, message string) {
	c.writeJSON(status, basicError{Message: message, DocumentationURL: c.docs, Status: strconv.Itoa(status)})
}

// notFound is GitHub's answer for an unknown path or account.
func (c *call) notFound() { c.error(http.StatusNotFound, "Not Found") }

// badRequest answers 400 with message.
func (c *call) badRequest(message string) { c.error(http.StatusBadRequest, message) }

// fail maps a domain error to its status and GitHub body. This is the one
// place where error kinds become status codes.
func (c *call) fail(err error) {
	kind := packages.KindOf(err)
	switch kind {
	case packages.KindNotFound:
		c.error(http.StatusNotFound, packages.PublicMessage(err, "Not Found"))
	case packages.KindUnauthenticated:
		c.error(http.StatusUnauthorized, packages.MsgRequiresAuthentication)
	case packages.KindBadCredentials:
		c.error(http.StatusUnauthorized, packages.MsgBadCredentials)
	case packages.KindForbidden:
		c.error(http.StatusForbidden, packages.PublicMessage(err, "Forbidden"))
	case packages.KindInvalid:
		c.error(http.StatusBadRequest, packages.PublicMessage(err, "Bad Request"))
	case packages.KindConflict:
		c.error(http.StatusConflict, packages.PublicMessage(err, "Conflict"))
	case packages.KindTooLarge:
		c.error(http.StatusRequestEntityTooLarge, packages.PublicMessage(err, "Payload Too Large"))
	case packages.KindInsufficientStorage:
		c.s.log.ErrorContext(c.r.Context(), "restapi: out of storage space",
			"request_id", c.requestID, "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		c.error(http.StatusInsufficientStorage, packages.PublicMessage(err, packages.MsgInsufficientStorage))
	default:
		c.s.log.ErrorContext(c.r.Context(), "restapi: internal error",
			"request_id", c.requestID, "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		c.error(http.StatusInternalServerError, "Internal Server Error")
	}
}

// validationError is GitHub's validation-error body (422).
type validationError struct {
	Message          string            `json:"message"`
	Errors           []validationIssue `json:"errors"`
	DocumentationURL string            `json:"documentation_url"`
	Status           string            `json:"status"`
}

type validationIssue struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// failValidation is fail for the operations whose invalid input GitHub
// answers 422 Validation Failed (webhooks) rather than 400.
func (c *call) failValidation(err error) {
	if packages.KindOf(err) != packages.KindInvalid {
		c.fail(err)
		return
	}
	c.writeJSON(http.StatusUnprocessableEntity, validationError{
		Message:          "Validation Failed",
		Errors:           []validationIssue{{Resource: "Hook", Code: "custom", Message: packages.PublicMessage(err, "Invalid")}},
		DocumentationURL: c.docs,
		Status:           "422",
	})
}

// acceptScopes sets X-Accepted-OAuth-Scopes for a package operation.
func (c *call) acceptScopes(op packages.Op, typ packages.Type) {
	c.w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(c.s.svc.RequiredScopes(op, typ), ", "))
}

// noContent answers 204.
func (c *call) noContent() {
	c.wrote = true
	c.w.WriteHeader(http.StatusNoContent)
}

// ok answers 200 with v, with an ETag and conditional-request support on
// GET and HEAD.
func (c *call) ok(v any) { c.writeJSON(http.StatusOK, v) }

func (c *call) writeJSON(status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		// Every body is built from plain structs; this cannot happen.
		c.s.log.ErrorContext(c.r.Context(), "restapi: encode", "request_id", c.requestID, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"Internal Server Error","documentation_url":"` + docsREST + `","status":"500"}` + "\n")
	}
	h := c.w.Header()
	c.wrote = true
	if status == http.StatusOK && (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) {
		sum := sha256.Sum256(buf.Bytes())
		etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if etagMatch(c.r.Header.Values("If-None-Match"), etag) {
			h.Del("Content-Length")
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
}

// etagMatch reports whether an If-None-Match header list matches etag,
// comparing weakly as RFC 9110 says for If-None-Match.
func etagMatch(headers []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, h := range headers {
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == want {
				return true
			}
		}
	}
	return false
}
