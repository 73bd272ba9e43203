package packages_test

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestAuthenticateTokenID: a registry bearer token is only as good as the
// personal access token behind it, checked on every call: expiry to the
// instant, revocation at once, and the user it names.
func TestAuthenticateTokenID(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		alice, bob := env.User("alice"), env.User("bob")
		_, good, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages", "write:packages"}, "ci", 0)
		must(t, err)
		_, expiring, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "short", time.Hour)
		must(t, err)
		_, revoked, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "gone", 0)
		must(t, err)
		_, _, err = env.Service.RevokeToken(ctx, revoked.ID)
		must(t, err)

		cases := []struct {
			name    string
			tokenID int64
			userID  int64
			advance time.Duration // clock moves before the call
			want    packages.Kind
		}{
			{"valid", good.ID, alice.ID, 0, ok},
			{"revoked", revoked.ID, alice.ID, 0, packages.KindBadCredentials},
			{"another user's token", good.ID, bob.ID, 0, packages.KindBadCredentials},
			{"unknown token", 987654, alice.ID, 0, packages.KindBadCredentials},
			{"no token", 0, alice.ID, 0, packages.KindBadCredentials},
			{"no user", good.ID, 0, 0, packages.KindBadCredentials},
			{"expiring, a second before", expiring.ID, alice.ID, time.Hour - time.Second, ok},
			{"expiring, at expiry", expiring.ID, alice.ID, time.Second, packages.KindBadCredentials},
			{"no expiry, much later", good.ID, alice.ID, 365 * day, ok},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				env.Clock.Advance(c.advance)
				a, err := env.Service.AuthenticateTokenID(ctx, c.tokenID, c.userID)
				if c.want != ok {
					wantMessage(t, err, c.want, packages.MsgBadCredentials)
					if a != nil {
						t.Fatalf("got actor %+v with an error", a)
					}
					return
				}
				must(t, err)
				if a.UserID() != alice.ID || a.Token == nil || a.Token.ID != c.tokenID {
					t.Fatalf("actor %+v, want alice with token %d", a, c.tokenID)
				}
				if !a.HasScope(packages.ScopeReadPackages) {
					t.Fatalf("scopes %v", a.Token.Scopes)
				}
			})
		}
	})
}

// TestRevokeToken: a revoked token fails at once, for the token itself and
// for its id (what bearer tokens carry); revoking again keeps the first
// time; listing shows it with no secret.
func TestRevokeToken(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		alice := env.User("alice")
		env.User("bob")
		plain, tok, err := env.Service.CreateToken(ctx, "alice", []string{"read:packages"}, "laptop", 0)
		must(t, err)
		_, other, err := env.Service.CreateToken(ctx, "alice", []string{"write:packages"}, "ci", time.Hour)
		must(t, err)
		env.Actor(plain)

		revokedAt := env.Clock.Now()
		got, user, err := env.Service.RevokeToken(ctx, tok.ID)
		must(t, err)
		if user.ID != alice.ID || got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
			t.Fatalf("revoke returned %+v of %+v", got, user)
		}
		_, err = env.Service.Authenticate(ctx, plain)
		wantMessage(t, err, packages.KindBadCredentials, packages.MsgBadCredentials)
		_, err = env.Service.AuthenticateTokenID(ctx, tok.ID, alice.ID)
		wantKind(t, err, packages.KindBadCredentials)
		if _, err := env.Service.AuthenticateTokenID(ctx, other.ID, alice.ID); err != nil {
			t.Fatalf("the other token stopped working: %v", err)
		}

		env.Clock.Advance(time.Minute)
		again, _, err := env.Service.RevokeToken(ctx, tok.ID)
		must(t, err)
		if !again.RevokedAt.Equal(revokedAt) {
			t.Fatalf("second revoke moved the time to %v", again.RevokedAt)
		}
		_, _, err = env.Service.RevokeToken(ctx, 987654)
		wantKind(t, err, packages.KindNotFound)

		list, err := env.Service.ListTokens(ctx, "alice")
		must(t, err)
		if len(list) != 2 || list[0].ID != tok.ID || list[1].ID != other.ID {
			t.Fatalf("listed %+v", list)
		}
		if list[0].RevokedAt == nil || list[1].RevokedAt != nil || list[0].Note != "laptop" || list[0].LastUsedAt == nil {
			t.Fatalf("listed %+v", list)
		}
		if list[1].ExpiresAt == nil || !list[1].Usable(env.Clock.Now()) || list[0].Usable(env.Clock.Now()) {
			t.Fatalf("listed %+v", list)
		}
		none, err := env.Service.ListTokens(ctx, "bob")
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("bob has %+v", none)
		}
		_, err = env.Service.ListTokens(ctx, "nobody")
		wantKind(t, err, packages.KindNotFound)
	})
}

// TestRemoveOrgMember: a removed member loses what membership gave
// (internal packages, creating packages) and the grants it held on the
// organization's packages and repositories, at once; grants elsewhere stay.
func TestRemoveOrgMember(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("oadmin")
		env.User("mem")
		env.User("alice")
		env.Org("acme", "oadmin")
		env.Member("acme", "mem", packages.OrgMember)
		env.Repo("acme/secret", packages.Private)
		must(t, env.Service.AddCollaborator(ctx, "acme/secret", "mem", packages.RoleWrite))
		oadmin, mem, alice := env.Token("oadmin", allScopes), env.Token("mem", allScopes), env.Token("alice", allScopes)
		env.Publish(oadmin, ref("acme", packages.TypeNpm, "internal"), "", "1.0.0")
		must(t, env.Service.SetPackageVisibility(ctx, env.Actor(oadmin), ref("acme", packages.TypeNpm, "internal"), packages.Internal))
		env.Publish(mem, ref("acme", packages.TypeNpm, "made-by-mem"), "", "1.0.0") // mem administers it
		env.Publish(oadmin, ref("acme", packages.TypeMaven, "com.acme:secret"), "acme/secret", "1.0")
		env.Publish(alice, ref("alice", packages.TypeNpm, "shared"), "", "1.0.0")
		must(t, env.Service.GrantPackageAccess(ctx, env.Actor(alice), ref("alice", packages.TypeNpm, "shared"), "mem", packages.RoleRead))

		a := env.Actor(mem)
		readable := []packages.PackageRef{
			ref("acme", packages.TypeNpm, "internal"),
			ref("acme", packages.TypeNpm, "made-by-mem"),
			ref("acme", packages.TypeMaven, "com.acme:secret"),
		}
		for _, r := range readable {
			if _, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaRegistry); err != nil {
				t.Fatalf("before removal, read %s: %v", r, err)
			}
		}
		must(t, env.Service.CanPublish(ctx, a, ref("acme", packages.TypeNpm, "new"), ""))

		must(t, env.Service.RemoveOrgMember(ctx, "acme", "MEM"))

		for _, r := range readable {
			_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaRegistry)
			wantKind(t, err, packages.KindNotFound)
		}
		wantKind(t, env.Service.CanPublish(ctx, a, ref("acme", packages.TypeNpm, "new"), ""), packages.KindForbidden)
		if _, err := env.Service.GetPackage(ctx, a, ref("alice", packages.TypeNpm, "shared"), packages.OpRead, packages.ViaRegistry); err != nil {
			t.Fatalf("a grant outside the organization went: %v", err)
		}
		if _, err := env.Service.GetPackage(ctx, env.Actor(oadmin), ref("acme", packages.TypeNpm, "made-by-mem"), packages.OpDelete, packages.ViaREST); err != nil {
			t.Fatalf("the organization's admin lost the package: %v", err)
		}

		wantKind(t, env.Service.RemoveOrgMember(ctx, "acme", "mem"), packages.KindNotFound)
		wantKind(t, env.Service.RemoveOrgMember(ctx, "acme", "nobody"), packages.KindNotFound)
		wantKind(t, env.Service.RemoveOrgMember(ctx, "alice", "mem"), packages.KindInvalid)
		wantKind(t, env.Service.RemoveOrgMember(ctx, "nowhere", "mem"), packages.KindNotFound)
	})
}
