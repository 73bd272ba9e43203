package rubygems

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
)

func TestLRU(t *testing.T) {
	c := newLRU[int, string](100)
	var loads atomic.Int32
	load := func(v string, size int) func() (string, int, error) {
		return func() (string, int, error) { loads.Add(1); return v, size, nil }
	}
	// Concurrent misses of one key load it once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.fill(1, load("one", 10)); err != nil || v != "one" {
				t.Errorf("fill: %q %v", v, err)
			}
		}()
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
	// A failed load is not kept.
	if _, err := c.fill(2, func() (string, int, error) { return "", 0, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if _, ok := c.get(2); ok {
		t.Fatal("a failed load was cached")
	}
	// Over the limit, the least recently used go first.
	c.fill(3, load("three", 20))
	c.get(1)
	c.fill(4, load("four", 20))
	c.grow(4, 60) // 10 + 20 + 80 > 100: 3 goes
	if _, ok := c.get(3); ok {
		t.Fatal("the least recently used entry stayed")
	}
	if _, ok := c.get(1); !ok {
		t.Fatal("a recently used entry went")
	}
	// Too large to keep at all.
	c.fill(5, load("five", 30))
	if _, ok := c.get(5); ok {
		t.Fatal("an entry over a quarter of the cache was kept")
	}
}

// TestConcurrentReads reads every index while gems are pushed and yanked.
func TestConcurrentReads(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	tok := env.Token("alice", "read:packages,write:packages,delete:packages")
	f := newFixture(t, env, Options{CacheSize: 1 << 16})
	f.push("alice", tok, testGem{name: "base", version: "1.0.0"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths := []string{"versions", "info/base", "names", "specs.4.8.gz", "quick/Marshal.4.8/base-1.0.0.gemspec.rz", "gems/base-1.0.0.gem", "api/v1/dependencies?gems=base"}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if r := f.get("/rubygems/alice/"+paths[(n+i)%len(paths)], tok); r.status != 200 {
					t.Errorf("GET %s: %d %s", paths[(n+i)%len(paths)], r.status, r.body)
					return
				}
			}
		}()
	}
	for i := range 10 {
		f.push("alice", tok, testGem{name: "other", version: "1.0." + itoa(i)})
		if i%3 == 2 {
			wantStatus(t, f.yank("alice", tok, "other", "1.0."+itoa(i-1), ""), 200, "")
		}
	}
	close(stop)
	wg.Wait()
	lines := versionsLines(t, f.get("/rubygems/alice/versions", tok).body)
	if len(lines) != 1+10+3 {
		t.Fatalf("%d lines after 11 pushes and 3 yanks: %q", len(lines), lines)
	}
}
