package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// wantRefused checks that a bearer token no longer pulls nor starts an
// upload: 401 with a challenge, as for bad credentials.
func (r *reg) wantRefused(name, bearer string) {
	r.t.Helper()
	for _, res := range []*resp{
		r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil),
		r.req("POST", "/v2/"+name+"/blobs/uploads/", bearer, nil),
	} {
		r.expect(res, http.StatusUnauthorized, "UNAUTHORIZED")
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer ") {
			r.t.Errorf("%s: challenge %q", res.Request.Method, res.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestBearerTokenFollowsPAT: a registry bearer token stops working when
// the personal access token it was minted from expires or is revoked, on
// the next request, although the bearer token itself is still within its
// lifetime.
func TestBearerTokenFollowsPAT(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		name := "alice/app"
		r.expect(r.push(name, r.bearer(r.alice, "repository:"+name+":pull,push"), makeImage("1", nil), "v1"), http.StatusCreated, "")

		// Expiry: the PAT expires while its bearer token has time left.
		pat, _, err := env.Service.CreateToken(context.Background(), "alice", []string{"read:packages", "write:packages"}, "short", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		bearer := r.bearer(pat, "repository:"+name+":pull,push")
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil), http.StatusOK, "")
		r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/", bearer, nil), http.StatusAccepted, "")
		env.Clock.Advance(time.Hour) // the PAT expires now; the bearer token has a minute left
		r.wantRefused(name, bearer)
		r.expect(r.req("GET", "/token?scope=repository:"+name+":pull", pat, nil), http.StatusUnauthorized, "UNAUTHORIZED")

		// Revocation: refused on the very next request.
		pat, tok, err := env.Service.CreateToken(context.Background(), "alice", []string{"read:packages", "write:packages"}, "laptop", 0)
		if err != nil {
			t.Fatal(err)
		}
		bearer = r.bearer(pat, "repository:"+name+":pull,push")
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil), http.StatusOK, "")
		if _, _, err := env.Service.RevokeToken(context.Background(), tok.ID); err != nil {
			t.Fatal(err)
		}
		r.wantRefused(name, bearer)
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", pat, nil), http.StatusUnauthorized, "UNAUTHORIZED")
		r.expect(r.req("GET", "/token?scope=repository:"+name+":pull", pat, nil), http.StatusUnauthorized, "UNAUTHORIZED")
		// Alice's other token is untouched.
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", r.bearer(r.alice, "repository:"+name+":pull"), nil), http.StatusOK, "")
	})
}

// TestBearerTokenAfterRemoveMember: a member removed from an organization
// loses its private packages at once, through a bearer token issued while
// it was a member.
func TestBearerTokenAfterRemoveMember(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		ctx := context.Background()
		env.Org("acme", "alice")
		env.Member("acme", "bob", packages.OrgMember)
		name := "acme/app"
		r.expect(r.push(name, r.bearer(r.bob, "repository:"+name+":pull,push"), makeImage("1", nil), "v1"), http.StatusCreated, "")

		bearer := r.bearer(r.bob, "repository:"+name+":pull,push")
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil), http.StatusOK, "")
		if err := env.Service.RemoveOrgMember(ctx, "acme", "bob"); err != nil {
			t.Fatal(err)
		}
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil), http.StatusNotFound, "NAME_UNKNOWN")
		// A push to a name it may not see fails as a push to a free name in
		// a namespace it may not create packages in.
		r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/", bearer, nil), http.StatusForbidden, "DENIED")
		// A token names pull on any name, so that a name the caller may
		// not see answers as a missing one; push it no longer grants.
		if acc := claims(t, r.bearer(r.bob, "repository:"+name+":pull,push"))["access"].([]any); fmt.Sprint(acc) != "[map[actions:[pull] name:acme/app type:repository]]" {
			t.Errorf("bob got %v after removal", acc)
		}
		bearer = r.bearer(r.bob, "repository:"+name+":pull,push")
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", bearer, nil), http.StatusNotFound, "NAME_UNKNOWN")
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", r.bearer(r.alice, "repository:"+name+":pull"), nil), http.StatusOK, "")
	})
}
