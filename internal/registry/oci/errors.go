package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/packhub/packhub/internal/packages"
)

// Error codes of the distribution spec.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeTagInvalid          = "TAG_INVALID"
	codeUnknown             = "UNKNOWN"
)

// defaultStatus is the status each code is sent with unless a handler
// says otherwise.
var defaultStatus = map[string]int{
	codeBlobUnknown:         http.StatusNotFound,
	codeBlobUploadInvalid:   http.StatusBadRequest,
	codeBlobUploadUnknown:   http.StatusNotFound,
	codeDigestInvalid:       http.StatusBadRequest,
	codeManifestBlobUnknown: http.StatusBadRequest,
	codeManifestInvalid:     http.StatusBadRequest,
	codeManifestUnknown:     http.StatusNotFound,
	codeNameInvalid:         http.StatusBadRequest,
	codeNameUnknown:         http.StatusNotFound,
	codeSizeInvalid:         http.StatusBadRequest,
	codeUnauthorized:        http.StatusUnauthorized,
	codeDenied:              http.StatusForbidden,
	codeUnsupported:         http.StatusMethodNotAllowed,
	codeTagInvalid:          http.StatusBadRequest,
	codeUnknown:             http.StatusInternalServerError,
}

// regError is an error as the registry answers it: a status, a spec code
// and a public message; cause is only logged.
type regError struct {
	status  int
	code    string
	message string
	detail  any
	cause   error
	// scope, for a 401, is the scope the challenge asks for.
	scope string
	// insufficient marks a 401 for a bearer token that lacks the scope.
	insufficient bool
	// header holds extra response headers (a Range for a 416).
	header http.Header
}

func (e *regError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.message + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *regError) Unwrap() error { return e.cause }

// errorf makes a regError with the code's default status.
func errorf(code, format string, args ...any) *regError {
	return &regError{status: defaultStatus[code], code: code, message: fmt.Sprintf(format, args...)}
}

// withStatus overrides the status.
func (e *regError) withStatus(status int) *regError { e.status = status; return e }

// serviceError maps an error of the packages service to a registry error.
// notFound is the code for KindNotFound (NAME_UNKNOWN, MANIFEST_UNKNOWN,
// BLOB_UNKNOWN…); scope is what a 401 challenge asks for.
func serviceError(err error, notFound, scope string) error {
	var re *regError
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := packages.PublicMessage(err, "")
	switch packages.KindOf(err) {
	case packages.KindNotFound:
		e := errorf(notFound, "%s", orDefault(msg, "not found"))
		e.cause = err
		return e
	case packages.KindUnauthenticated, packages.KindBadCredentials:
		e := errorf(codeUnauthorized, "%s", orDefault(msg, "authentication required"))
		e.scope, e.cause = scope, err
		return e
	case packages.KindForbidden:
		e := errorf(codeDenied, "%s", orDefault(msg, "requested access to the resource is denied"))
		e.cause = err
		return e
	case packages.KindInvalid:
		if errors.Is(err, packages.ErrUnlinkUnsupported) {
			e := errorf(codeUnsupported, "%s", msg)
			e.cause = err
			return e
		}
		e := errorf(codeDenied, "%s", orDefault(msg, "the request is not allowed"))
		e.cause = err
		return e
	case packages.KindConflict:
		e := errorf(codeDenied, "%s", orDefault(msg, "conflict")).withStatus(http.StatusConflict)
		e.cause = err
		return e
	case packages.KindTooLarge:
		e := errorf(codeSizeInvalid, "%s", orDefault(msg, "too large")).withStatus(http.StatusRequestEntityTooLarge)
		e.cause = err
		return e
	case packages.KindInsufficientStorage:
		return insufficientStorage(err)
	}
	return err
}

// readError maps an error of the packages service to the answer of a read
// of name: a package the caller may not see answers as a missing one, the
// challenge to an anonymous caller without a token (so that its client
// logs in and asks again, for a private package and a missing one alike),
// NAME_UNKNOWN to anyone else. Other errors map as serviceError maps them,
// with notFound for what is missing inside a package.
func readError(c *caller, name Name, err error, notFound string) error {
	if packages.IsPackageNotFound(err) {
		return unknownName(c, name, err)
	}
	return serviceError(err, notFound, scope(name.Full, actionPull))
}

// unknownName is the answer to a read of a name the caller cannot see:
// missing, not visible to it, or (docker) a package of another repository.
func unknownName(c *caller, name Name, cause error) error {
	if c.claims == nil && c.anonymous() {
		e := errorf(codeUnauthorized, "authentication required")
		e.scope, e.cause = scope(name.Full, actionPull), cause
		return e
	}
	e := errorf(codeNameUnknown, "repository name not known to registry")
	e.cause = cause
	return e
}

// insufficientStorage is the answer to a write that found the storage
// full. The distribution spec has no code for it; UNKNOWN is what clients
// print with the message.
func insufficientStorage(err error) *regError {
	e := errorf(codeUnknown, "%s", packages.PublicMessage(err, packages.MsgInsufficientStorage)).withStatus(http.StatusInsufficientStorage)
	e.cause = err
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError renders any error as the spec's error body: the one place
// where errors become responses.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *regError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) || errors.Is(r.Context().Err(), context.Canceled) {
			// The client went away; nobody reads an answer.
			h.log.DebugContext(r.Context(), "request canceled", "method", r.Method, "path", r.URL.Path, "err", err)
			return
		}
		if packages.KindOf(err) == packages.KindInsufficientStorage {
			// Blob store errors reach here as they are.
			re = insufficientStorage(err)
		} else {
			re = errorf(codeUnknown, "internal server error")
			re.cause = err
		}
	}
	switch {
	case re.status >= 500:
		h.log.ErrorContext(r.Context(), "registry request failed", "method", r.Method, "path", r.URL.Path, "code", re.code, "err", err)
	case re.cause != nil:
		h.log.DebugContext(r.Context(), "registry request refused", "method", r.Method, "path", r.URL.Path, "code", re.code, "err", err)
	}
	hdr := w.Header()
	for k, v := range re.header {
		hdr[k] = v
	}
	if re.status == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", h.challenge(re.scope, re.insufficient))
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Del("Content-Length")
	hdr.Del("Docker-Content-Digest")
	w.WriteHeader(re.status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: re.code, Message: re.message, Detail: re.detail}}})
}
