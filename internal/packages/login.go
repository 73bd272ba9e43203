package packages

import (
	"context"
	"strings"
)

// AuthenticateLogin authenticates a personal access token given as the
// password of a login under a user name (npm's legacy login, as GitHub's
// npm registry takes it): the token must be valid and belong to the user
// named. Logins compare case-insensitively, as everywhere.
func (s *Service) AuthenticateLogin(ctx context.Context, login, token string) (*Actor, error) {
	a, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(a.User.Login, login) {
		return nil, Errorf(KindBadCredentials, "Bad credentials: the token does not belong to the user named.")
	}
	return a, nil
}
