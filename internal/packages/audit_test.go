package packages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func auditCount(t *testing.T, env *testenv.Env, action string) int {
	t.Helper()
	evs, _, err := env.Service.AuditEvents(ctx, nil, packages.AuditRequest{Action: action}, true)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestAuditTokenUse: a token's use is recorded at its first use, then at
// most once an hour, however many requests it makes.
func TestAuditTokenUse(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		for _, tc := range []struct {
			advance time.Duration
			want    int
		}{
			{0, 1}, {time.Second, 1}, {2 * time.Minute, 1}, {30 * time.Minute, 1}, {31 * time.Minute, 2}, {time.Second, 2}, {2 * time.Hour, 3},
		} {
			env.Clock.Advance(tc.advance)
			for range 3 {
				if _, err := env.Service.Authenticate(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			if got := auditCount(t, env, packages.ActionTokenUse); got != tc.want {
				t.Fatalf("after %v more: %d token.use events, want %d", tc.advance, got, tc.want)
			}
		}
	})
}

// TestAuditRecords: the request behind a change is recorded with it, and
// a sign-in and a policy run are events too; only site admins
// read the log.
func TestAuditRecords(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		if _, err := env.Service.CreateUser(ctx, "root", true); err != nil {
			t.Fatal(err)
		}
		rootTok := env.Token("root", allScopes)
		tok := env.Token("alice", allScopes)
		rctx := packages.WithRequestInfo(ctx, packages.RequestInfo{IP: "192.0.2.7", UserAgent: "npm/11.0.0", RequestID: "req-1"})
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "tool"}
		d, n, err := env.Blobs.Put(ctx, strings.NewReader("x"), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Service.Publish(rctx, env.Actor(tok), packages.PublishRequest{Package: ref, Version: "1.0.0",
			Files: []packages.File{{Name: "tool-1.0.0.tgz", Digest: d, Size: n}}}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := env.Service.SignIn(rctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := env.Service.RecordPolicyRun(ctx, nil, "keep-10", map[string]int{"deleted": 3}); err != nil {
			t.Fatal(err)
		}
		evs, total, err := env.Service.AuditEvents(ctx, nil, packages.AuditRequest{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(evs) || len(evs) < 4 {
			t.Fatalf("%d events of %d", len(evs), total)
		}
		byAction := map[string]packages.AuditEvent{}
		for _, e := range evs {
			byAction[e.Action] = e
		}
		pub := byAction[packages.ActionPublish]
		if pub.Actor != "alice" || pub.IP != "192.0.2.7" || pub.UserAgent != "npm/11.0.0" || pub.RequestID != "req-1" || pub.TokenID == 0 || pub.Package != "alice/npm/tool" {
			t.Errorf("publish event %+v", pub)
		}
		if si := byAction[packages.ActionSignIn]; si.Actor != "alice" || si.IP != "192.0.2.7" {
			t.Errorf("sign-in event %+v", si)
		}
		if pr := byAction[packages.ActionPolicyRun]; pr.Actor != "" || pr.Detail != `{"policy":"keep-10","summary":{"deleted":3}}` {
			t.Errorf("policy event %+v", pr)
		}
		if _, _, err := env.Service.AuditEvents(ctx, env.Actor(rootTok), packages.AuditRequest{Actor: "alice"}, false); err != nil {
			t.Fatalf("a site admin reads the log: %v", err)
		}
		_, _, err = env.Service.AuditEvents(ctx, env.Actor(tok), packages.AuditRequest{}, false)
		wantKind(t, err, packages.KindNotFound)
		_, _, err = env.Service.AuditEvents(ctx, nil, packages.AuditRequest{}, false)
		wantKind(t, err, packages.KindUnauthenticated)
	})
}
