package oci_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestTokenRequestOnlyReads: /token decides what to grant by reading; it
// answers while another transaction holds the database's write lock
// (SQLite) or the package's row (PostgreSQL).
func TestTokenRequestOnlyReads(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		ctx := context.Background()
		name := "alice/app"
		r.expect(r.push(name, r.bearer(r.alice, "repository:"+name+":pull,push"), makeImage("1", nil), "v1"), http.StatusCreated, "")
		pi, err := env.Service.GetPackage(ctx, env.Actor(r.alice), packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "app"}, packages.OpRead, packages.ViaRegistry)
		if err != nil {
			t.Fatal(err)
		}

		held, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		var txErr error
		stop := sync.OnceFunc(func() { close(release); wg.Wait() })
		t.Cleanup(stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			txErr = env.Store.WithTx(ctx, func(tx packages.Store) error {
				if l, ok := tx.(packages.PackageLocker); ok {
					if err := l.LockPackage(ctx, pi.ID); err != nil {
						return err
					}
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held

		client := &http.Client{Timeout: 3 * time.Second}
		for _, repo := range []string{name, "alice/new"} {
			req, err := http.NewRequest("GET", r.url+"/token?scope=repository:"+repo+":pull,push", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("x", r.alice)
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("token for %s while a writer holds the lock: %v", repo, err)
			}
			var tr struct {
				Token string `json:"token"`
			}
			err = json.NewDecoder(res.Body).Decode(&tr)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("token for %s: status %d, %v", repo, res.StatusCode, err)
			}
			acc := claims(t, tr.Token)["access"].([]any)
			if len(acc) != 1 || fmt.Sprint(acc[0].(map[string]any)["actions"]) != "[pull push]" {
				t.Fatalf("token for %s grants %v", repo, acc)
			}
		}
		stop()
		if txErr != nil {
			t.Fatal(txErr)
		}
	})
}
