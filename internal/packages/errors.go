package packages

import (
	"errors"
	"fmt"
)

// Kind classifies an error so each protocol front can map it to a status
// code and its own error body in one place.
type Kind int

// Error kinds.
const (
	KindInternal        Kind = iota
	KindNotFound             // the thing does not exist or the caller may not see it
	KindUnauthenticated      // no credentials where some are needed
	KindBadCredentials       // credentials given but not valid
	KindForbidden            // authenticated, may see it, but may not do this
	KindConflict             // already exists
	KindInvalid              // the request breaks a rule or is malformed
	KindTooLarge             // over a configured size limit
	// KindInsufficientStorage: the storage behind the registry is full,
	// or over its quota; nothing was stored.
	KindInsufficientStorage
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindBadCredentials:
		return "bad credentials"
	case KindForbidden:
		return "forbidden"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	case KindTooLarge:
		return "too large"
	case KindInsufficientStorage:
		return "insufficient storage"
	}
	return "internal"
}

// Error is a domain error: a kind, a message safe to show the caller, and an
// optional cause that is only logged.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error of kind k with a formatted public message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes an *Error of kind k that keeps cause for the logs.
func Wrap(k Kind, message string, cause error) *Error {
	return &Error{Kind: k, Message: message, Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain, or
// KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// PublicMessage returns the message of the first *Error in err's chain, or
// fallback for errors that carry none.
func PublicMessage(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return fallback
}

// IsNotFound reports whether err is of KindNotFound.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsPackageNotFound reports whether err says that the package itself is
// not there for the caller (it does not exist, or the caller may not see
// it), as opposed to something inside a package the caller reads.
func IsPackageNotFound(err error) bool { return errors.Is(err, ErrPackageNotFound) }

// BlobUnknownError is the cause of a publish that refers to a blob the
// registry does not hold (any more): garbage collection freed it between
// the push and the publish.
type BlobUnknownError struct{ Digest string }

func (e *BlobUnknownError) Error() string { return "blob unknown: " + e.Digest }

// IsConflict reports whether err is of KindConflict.
func IsConflict(err error) bool { return KindOf(err) == KindConflict }

// ErrNotFound is returned by stores for a missing row or blob.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}

// ErrConflict is returned by stores when a unique constraint is violated.
var ErrConflict = &Error{Kind: KindConflict, Message: "already exists"}

// ErrInsufficientStorage is returned by stores that cannot write because
// their disk is full or over its quota. They wrap the system's error too.
var ErrInsufficientStorage = &Error{Kind: KindInsufficientStorage, Message: MsgInsufficientStorage}

// MsgInsufficientStorage is what every front tells a client whose write
// found the storage full.
const MsgInsufficientStorage = "The registry is out of storage space."

// Messages GitHub uses that more than one layer needs.
const (
	MsgPackageNotFound        = "Package not found."
	MsgVersionNotFound        = "Version not found."
	MsgTagNotFound            = "Tag not found."
	MsgFileNotFound           = "File not found."
	MsgBlobNotFound           = "Blob not found."
	MsgRequiresAuthentication = "Requires authentication"
	MsgBadCredentials         = "Bad credentials"
	MsgLastVersion            = "You cannot delete the last version of a package. You must delete the package instead."
	MsgLastTaggedVersion      = "You cannot delete the last tagged version of a package. You must delete the package instead."
	MsgTooManyDownloads       = "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance."
)

// Sentinels for what a caller may branch on: errors.Is(err,
// ErrVersionNotFound) tells a missing version from a missing package.
// Each is of KindNotFound, with GitHub's message.
var (
	ErrPackageNotFound = &Error{Kind: KindNotFound, Message: MsgPackageNotFound}
	ErrVersionNotFound = &Error{Kind: KindNotFound, Message: MsgVersionNotFound}
	ErrTagNotFound     = &Error{Kind: KindNotFound, Message: MsgTagNotFound}
	ErrFileNotFound    = &Error{Kind: KindNotFound, Message: MsgFileNotFound}
	ErrBlobNotFound    = &Error{Kind: KindNotFound, Message: MsgBlobNotFound}
)

// notFound returns sentinel, keeping cause (when not nil) for the logs.
func notFound(sentinel *Error, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}

// notFoundAs turns a not-found err into sentinel and wraps anything else.
func notFoundAs(err error, sentinel *Error) error {
	if err == nil || IsNotFound(err) {
		return notFound(sentinel, err)
	}
	return err
}
