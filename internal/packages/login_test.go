package packages_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestAuthenticateLogin(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		alice := env.User("alice")
		env.User("bob")
		tok := env.Token("alice", "read:packages")
		cases := []struct {
			name, login, token string
			want               packages.Kind
		}{
			{"own token", "alice", tok, ok},
			{"login in another case", "ALICE", tok, ok},
			{"another user's token", "bob", tok, packages.KindBadCredentials},
			{"unknown user", "nobody", tok, packages.KindBadCredentials},
			{"not a token", "alice", "hunter2", packages.KindBadCredentials},
			{"no token", "alice", "", packages.KindBadCredentials},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a, err := env.Service.AuthenticateLogin(ctx, c.login, c.token)
				wantKind(t, err, c.want)
				if c.want == ok && (a == nil || a.User.ID != alice.ID) {
					t.Fatalf("actor %+v, want alice", a)
				}
				if c.want != ok && a != nil {
					t.Fatalf("actor %+v with an error", a)
				}
			})
		}
	})
}
