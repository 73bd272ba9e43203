// Package httperror maps the packages service's error kinds to the HTTP
// statuses the package registries answer with, in one table; each front
// still renders the body in its protocol's own format.
package httperror

import (
	"net/http"

	"github.com/packhub/packhub/internal/packages"
)

// MsgInternal is the public message of an internal error; its cause is
// only logged.
const MsgInternal = "Internal server error"

// Status returns the status and public message of a service error.
// invalid is the status of KindInvalid: 400 for most protocols, 422 for
// RubyGems, as rubygems.org answers.
func Status(err error, invalid int) (int, string) {
	msg := packages.PublicMessage(err, MsgInternal)
	switch packages.KindOf(err) {
	case packages.KindNotFound:
		return http.StatusNotFound, msg
	case packages.KindUnauthenticated, packages.KindBadCredentials:
		return http.StatusUnauthorized, msg
	case packages.KindForbidden:
		return http.StatusForbidden, msg
	case packages.KindConflict:
		return http.StatusConflict, msg
	case packages.KindInvalid:
		return invalid, msg
	case packages.KindTooLarge:
		return http.StatusRequestEntityTooLarge, msg
	case packages.KindInsufficientStorage:
		return http.StatusInsufficientStorage, packages.PublicMessage(err, packages.MsgInsufficientStorage)
	}
	return http.StatusInternalServerError, MsgInternal
}
