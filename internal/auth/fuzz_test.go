package auth

import (
	"net/http"
	"testing"
	"time"
)

// FuzzFromRequest: any Authorization header is parsed without a panic, and
// a present header always yields a credential.
func FuzzFromRequest(f *testing.F) {
	for _, s := range []string{"Bearer phk_x", "token abc", "Basic YWxpY2U6c2VjcmV0", "Basic !!!", "raw-key", "Bearer", " ", "basic"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r, err := http.NewRequest("GET", "http://x/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", h)
		c, ok := FromRequest(r)
		if ok && c.Scheme == "" {
			t.Fatalf("credential without scheme for %q", h)
		}
		_ = LooksLikeToken(c.Secret)
	})
}

// FuzzVerifyRegistryToken: arbitrary bearer tokens are refused without a
// panic, and only tokens this key issued verify.
func FuzzVerifyRegistryToken(f *testing.F) {
	tokens := NewRegistryTokens([]byte("k"), "svc", time.Minute)
	good, _, err := tokens.Issue("alice", RegistryClaims{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "a.b.c", "", "eyJhbGciOiJub25lIn0.e30.", good + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tokens.Verify(s)
		if err == nil && s != good {
			// A different string may still be the same token only if it
			// decodes to the same signed bytes; anything verified must
			// carry the issued subject.
			if c == nil || c.Subject != "alice" {
				t.Fatalf("Verify(%q) accepted a token not issued here: %+v", s, c)
			}
		}
	})
}
