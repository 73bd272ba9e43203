package packages_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		alice := env.User("alice")
		good, _, err := env.Service.CreateToken(ctx, "alice", []string{"write:packages", " repo ", "write:packages"}, "ci", 0)
		must(t, err)
		expiring, _, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "short", time.Hour)
		must(t, err)
		unknown, _, err := auth.NewToken()
		must(t, err)

		cases := []struct {
			name    string
			token   string
			advance time.Duration // clock moves before the call
			want    packages.Kind
		}{
			{"valid", good, 0, ok},
			{"unknown", unknown, 0, packages.KindBadCredentials},
			{"empty", "", 0, packages.KindBadCredentials},
			{"garbage", "not-a-token", 0, packages.KindBadCredentials},
			{"other vendor's prefix", "ghp_" + good[len(auth.TokenPrefix):], 0, packages.KindBadCredentials},
			{"too short", good[:len(good)-1], 0, packages.KindBadCredentials},
			{"too long", good + "A", 0, packages.KindBadCredentials},
			{"bad character", good[:len(good)-1] + "-", 0, packages.KindBadCredentials},
			{"surrounding space", " " + good, 0, packages.KindBadCredentials},
			{"uppercased", strings.ToUpper(good), 0, packages.KindBadCredentials},
			{"expiring, still valid", expiring, 59 * time.Minute, ok},
			{"expiring, at expiry", expiring, time.Minute, packages.KindBadCredentials},
			{"expiring, later", expiring, time.Hour, packages.KindBadCredentials},
			{"no expiry, much later", good, 365 * day, ok},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				env.Clock.Advance(c.advance)
				a, err := env.Service.Authenticate(ctx, c.token)
				if c.want != ok {
					wantMessage(t, err, c.want, packages.MsgBadCredentials)
					if a != nil {
						t.Fatalf("got actor %+v with an error", a)
					}
					return
				}
				must(t, err)
				if a.User == nil || a.User.ID != alice.ID || a.Anonymous() {
					t.Fatalf("actor %+v, want alice", a)
				}
			})
		}

		t.Run("scopes", func(t *testing.T) {
			a := env.Actor(good)
			if !slices.Equal(a.Token.Scopes, []string{"write:packages", "repo"}) {
				t.Fatalf("scopes %v", a.Token.Scopes)
			}
			for scope, want := range map[string]bool{"read:packages": true, "write:packages": true, "repo": true, "delete:packages": false} {
				if got := a.HasScope(scope); got != want {
					t.Errorf("HasScope(%s) = %v, want %v", scope, got, want)
				}
			}
			_, _, err := env.Service.CreateToken(ctx, "alice", []string{"admin:org"}, "", 0)
			wantKind(t, err, packages.KindInvalid)
		})

		t.Run("last used", func(t *testing.T) {
			tok, _, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "", 0)
			must(t, err)
			lastUsed := func() *time.Time {
				t.Helper()
				st, err := env.Store.GetTokenByHash(ctx, auth.HashToken(tok))
				must(t, err)
				return st.LastUsedAt
			}
			if lu := lastUsed(); lu != nil {
				t.Fatalf("new token last used at %v", lu)
			}
			first := env.Clock.Now()
			a := env.Actor(tok)
			if a.Token.LastUsedAt == nil || !a.Token.LastUsedAt.Equal(first) {
				t.Fatalf("actor's token last used at %v, want %v", a.Token.LastUsedAt, first)
			}
			if lu := lastUsed(); lu == nil || !lu.Equal(first) {
				t.Fatalf("last used at %v, want %v", lu, first)
			}
			// Within a minute the stored time does not move.
			env.Clock.Advance(30 * time.Second)
			env.Actor(tok)
			if lu := lastUsed(); lu == nil || !lu.Equal(first) {
				t.Fatalf("last used at %v after 30s, want still %v", lu, first)
			}
			env.Clock.Advance(2 * time.Minute)
			env.Actor(tok)
			if lu := lastUsed(); lu == nil || !lu.Equal(env.Clock.Now()) {
				t.Fatalf("last used at %v, want %v", lu, env.Clock.Now())
			}
			// A refused token is not marked used.
			exp, _, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "", time.Minute)
			must(t, err)
			env.Clock.Advance(time.Hour)
			_, err = env.Service.Authenticate(ctx, exp)
			wantKind(t, err, packages.KindBadCredentials)
			st, err := env.Store.GetTokenByHash(ctx, auth.HashToken(exp))
			must(t, err)
			if st.LastUsedAt != nil {
				t.Fatalf("expired token marked used at %v", st.LastUsedAt)
			}
		})
	})
}
