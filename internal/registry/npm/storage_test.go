package npm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestErrorStatusInsufficientStorage: a write that found the storage full,
// from the blob store or the database, is 507 with a message saying so.
func TestErrorStatusInsufficientStorage(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"blob store", fmt.Errorf("start upload: %w", fmt.Errorf("fileblob: put: %w: %w", packages.ErrInsufficientStorage, syscall.ENOSPC))},
		{"database", fmt.Errorf("publish: %w", fmt.Errorf("store: create version: %w: %w", packages.ErrInsufficientStorage, errors.New("database or disk is full")))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, msg := errorStatus(c.err)
			if status != http.StatusInsufficientStorage || msg != packages.MsgInsufficientStorage {
				t.Fatalf("errorStatus = %d, %q; want 507, %q", status, msg, packages.MsgInsufficientStorage)
			}
		})
	}
}

// TestPublishOutOfSpace: a publish whose tarball does not fit is answered
// 507 in npm's error format, stores nothing, and succeeds once room is
// made.
func TestPublishOutOfSpace(t *testing.T) {
	disk := testenv.SmallDisk(t, 2<<20)
	env := testenv.NewWithBlobs(t, "sqlite", disk)
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})

	noise := make([]byte, 3<<20) // does not compress
	rand.NewChaCha8([32]byte{7}).Read(noise)
	big := makeTarball(t, map[string]string{
		"package/package.json": `{"name":"@octo/big","version":"1.0.0"}`,
		"package/blob.bin":     string(noise),
	})
	publish := func(name string, tgz []byte) resp {
		t.Helper()
		doc := pubDoc{name: name, version: "1.0.0", tgz: tgz}.build()
		req, err := http.NewRequest("PUT", f.srv.URL+"/npm/"+name[:5]+"%2f"+name[6:], bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{status: res.StatusCode, header: res.Header, body: b}
	}
	wantError(t, publish("@octo/big", big), http.StatusInsufficientStorage, "out of storage space")
	if r := f.do("GET", "/npm/@octo%2fbig", tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("package after a refused publish: %d %s", r.status, r.body)
	}

	filler := filepath.Join(disk, "filler")
	fillDisk(t, filler)
	small := pkgTarball(t, "@octo/small", "1.0.0", map[string]any{"description": string(noise[:20_000])})
	wantError(t, publish("@octo/small", small), http.StatusInsufficientStorage, "out of storage space")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := publish("@octo/small", small); r.status != http.StatusCreated {
		t.Fatalf("publish after room was made: %d %s", r.status, r.body)
	}
	r := f.do("GET", "/npm/@octo/small/-/small-1.0.0.tgz", tok, nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, small) {
		t.Fatalf("tarball: %d, %d bytes", r.status, len(r.body))
	}
}

// fillDisk writes to path until the disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
