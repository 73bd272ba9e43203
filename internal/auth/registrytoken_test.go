package auth

import (
	"errors"
	"testing"
	"time"
)

func TestRegistryTokens(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	iss := NewRegistryTokens([]byte("k"), "reg.example", time.Minute)
	iss.now = func() time.Time { return now }
	tok, issued, err := iss.Issue("alice", RegistryClaims{UserID: 7, TokenID: 9, Scopes: []string{"read:packages"},
		Access: []RegistryAccess{{Type: "repository", Name: "alice/app", Actions: []string{"pull", "push"}}}})
	if err != nil || !issued.Equal(now) || !LooksLikeJWT(tok) {
		t.Fatalf("issue: %v %v %q", err, issued, tok)
	}
	c, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.UserID != 7 || c.TokenID != 9 || !c.Allows("alice/app", "push") || !c.Allows("ALICE/app", "pull") || c.Allows("alice/app", "delete") || c.Allows("alice/other", "pull") {
		t.Fatalf("claims %+v", c)
	}

	// Another key, another service, expiry, tampering: all refused.
	other := NewRegistryTokens([]byte("other"), "reg.example", time.Minute)
	other.now = iss.now
	svc := NewRegistryTokens([]byte("k"), "elsewhere", time.Minute)
	svc.now = iss.now
	for name, v := range map[string]*RegistryTokens{"key": other, "service": svc} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrRegistryToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	later := NewRegistryTokens([]byte("k"), "reg.example", time.Minute)
	later.now = func() time.Time { return now.Add(2 * time.Minute) }
	if _, err := later.Verify(tok); !errors.Is(err, ErrRegistryToken) {
		t.Errorf("expired: %v", err)
	}
	if _, err := iss.Verify(tok[:len(tok)-2] + "xx"); !errors.Is(err, ErrRegistryToken) {
		t.Errorf("tampered: %v", err)
	}
	if LooksLikeJWT("phk_abc.def.ghi") || LooksLikeJWT("abc") {
		t.Error("LooksLikeJWT")
	}
	if !(RegistryAccess{Actions: []string{"*"}}).Allows("delete") {
		t.Error("* allows all")
	}
}
