package httperror_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/httperror"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err     error
		invalid int
		status  int
		msg     string
	}{
		{packages.ErrVersionNotFound, 400, 404, "Version not found."},
		{fmt.Errorf("wrapped: %w", packages.Errorf(packages.KindForbidden, "no")), 400, 403, "no"},
		{packages.Errorf(packages.KindUnauthenticated, "who"), 400, 401, "who"},
		{packages.Errorf(packages.KindBadCredentials, "bad"), 400, 401, "bad"},
		{packages.Errorf(packages.KindConflict, "again"), 400, 409, "again"},
		{packages.Errorf(packages.KindInvalid, "odd"), 400, 400, "odd"},
		{packages.Errorf(packages.KindInvalid, "odd"), 422, 422, "odd"},
		{packages.Errorf(packages.KindTooLarge, "big"), 400, 413, "big"},
		{packages.ErrInsufficientStorage, 400, http.StatusInsufficientStorage, packages.MsgInsufficientStorage},
		{errors.New("disk on fire at /srv/x"), 400, 500, httperror.MsgInternal},
	} {
		status, msg := httperror.Status(tc.err, tc.invalid)
		if status != tc.status || msg != tc.msg {
			t.Errorf("Status(%v) = %d %q, want %d %q", tc.err, status, msg, tc.status, tc.msg)
		}
	}
}
