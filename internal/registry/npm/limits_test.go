package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// jsLength is a string's length as JavaScript counts it.
func jsLength(s string) int { return len(utf16.Encode([]rune(s))) }

// TestManifestLimitAndReadme: a version manifest over the limit is refused
// with 413 before the document is read further; under it, the readme is
// cut to npm's 65,536 characters in what is kept and shown.
func TestManifestLimitAndReadme(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{MaxManifestSize: 256 << 10})
	readme := strings.Repeat("ab😀", 60<<10) // 240 Ki characters, 360 KiB
	long := strings.Repeat("ab😀", 34<<10)   // 204 KiB: under the limit with the rest of the manifest

	doc := func(name string, manifest map[string]any) []byte {
		return pubDoc{name: name, version: "1.0.0", tgz: pkgTarball(t, name, "1.0.0", nil), manifest: manifest}.build()
	}
	wantError(t, f.do("PUT", "/npm/@octo%2fhuge", tok, doc("@octo/huge", map[string]any{"readme": readme})), 413, "manifest of version")
	top := doc("@octo/top", nil)
	top = bytes.Replace(top, []byte(`{"_attachments"`), []byte(`{"readme":"`+readme+`","_attachments"`), 1)
	wantError(t, f.do("PUT", "/npm/@octo%2ftop", tok, top), 413, `"readme" member`)
	long404 := bytes.Replace(doc("@octo/key", nil), []byte(`{"_attachments"`), []byte(`{"`+readme+`":1,"_attachments"`), 1)
	wantError(t, f.do("PUT", "/npm/@octo%2fkey", tok, long404), 413, "member name")

	if r := f.do("PUT", "/npm/@octo%2fbig", tok, doc("@octo/big", map[string]any{"readme": long, "readmeFilename": "README.md"})); r.status != http.StatusCreated {
		t.Fatalf("publish under the limit: %d %s", r.status, r.body)
	}
	var full struct {
		Readme   string                     `json:"readme"`
		Versions map[string]json.RawMessage `json:"versions"`
	}
	f.do("GET", "/npm/@octo%2fbig", tok, nil).json(t, &full)
	if jsLength(full.Readme) != readmeLimit || !strings.HasPrefix(long, full.Readme) {
		t.Fatalf("packument readme of %d characters", jsLength(full.Readme))
	}
	if bytes.Contains(full.Versions["1.0.0"], []byte(`"readme"`)) {
		t.Fatal("the versions of a packument carry the readme")
	}
	var version struct {
		Readme string `json:"readme"`
	}
	f.do("GET", "/npm/@octo%2fbig/1.0.0", tok, nil).json(t, &version)
	if version.Readme != full.Readme {
		t.Fatalf("version readme of %d characters", jsLength(version.Readme))
	}
	// The stored manifest keeps the cut readme only.
	_, v, err := env.Service.GetVersionByName(context.Background(), env.Actor(tok), packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "big"}, "1.0.0", packages.ViaRegistry)
	if err != nil || len(v.Metadata) > 200<<10 {
		t.Fatalf("stored manifest of %d bytes, %v", len(v.Metadata), err)
	}
}

// TestStoredLongReadme: a version kept with a long readme (by an older
// Packhub, or under a larger limit) is shown with the readme cut, and the
// cached document holds only the cut readme.
func TestStoredLongReadme(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	srv := New(env.Service, Options{}).(*handler)
	f := newFixture(t, env, Options{})
	f.srv.Config.Handler = srv
	ctx := context.Background()
	tgz := pkgTarball(t, "@octo/old", "1.0.0", nil)
	up, err := env.Blobs.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	up.Write(tgz)
	sum := sha256.Sum256(tgz)
	digest, size, err := up.Commit(ctx, "sha256:"+hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Repeat("x", 4<<20)
	meta, _ := json.Marshal(map[string]any{"name": "@octo/old", "version": "1.0.0", "readme": readme, "description": "old"})
	ref := packages.PackageRef{Owner: "octo", Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: "old"}
	if _, err := env.Service.Publish(ctx, env.Actor(tok), packages.PublishRequest{Package: ref, Version: "1.0.0", Metadata: meta,
		Files: []packages.File{{Name: "old-1.0.0.tgz", Digest: digest, Size: size}}, Tags: []string{"latest"}}); err != nil {
		t.Fatal(err)
	}
	var full struct {
		Readme      string `json:"readme"`
		Description string `json:"description"`
	}
	r := f.do("GET", "/npm/@octo%2fold", tok, nil)
	r.json(t, &full)
	if len(full.Readme) != readmeLimit || full.Description != "old" || len(r.body) > 2*readmeLimit {
		t.Fatalf("packument of %d bytes, readme of %d", len(r.body), len(full.Readme))
	}
	e, err := srv.entry(ctx, env.Actor(tok), pkgName{owner: "octo", name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if e.elem == nil || e.size > 4*readmeLimit {
		t.Fatalf("cached entry of %d bytes (in cache: %v)", e.size, e.elem != nil)
	}
}

// TestLargeBodiesCapped: with every slot for large bodies taken, another
// large publish is refused with 503 and a Retry-After; small documents
// pass; a freed slot admits the next.
func TestLargeBodiesCapped(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	bodies := bodylimit.New(1, 4<<10, 100*time.Millisecond)
	f := newFixture(t, env, Options{Bodies: bodies})
	big := pubDoc{name: "@octo/big", version: "1.0.0", tgz: pkgTarball(t, "@octo/big", "1.0.0", nil), manifest: map[string]any{"pad": strings.Repeat("p", 8<<10)}}.build()

	// A slow client takes the slot: its body arrives in part, then stalls.
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /npm/@octo%%2fslow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", tok, len(big))
	conn.Write(big[:100])
	deadline := time.Now().Add(5 * time.Second)
	for bodies.InUse() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if bodies.InUse() != 1 {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		b, _ := io.ReadAll(conn)
		t.Fatalf("the slow publish took no slot: %s", b)
	}
	req, _ := http.NewRequest("PUT", f.srv.URL+"/npm/@octo%2fbig", bytes.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantError(t, resp{status: res.StatusCode, header: res.Header, body: b}, http.StatusServiceUnavailable, "retry")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// A small document takes no slot.
	wantError(t, f.do("PUT", "/npm/@octo%2fbig", tok, []byte(`{"name":"@octo/big"}`)), http.StatusNotFound, "not found")
	// The slow client gives up: its slot is free again.
	conn.Close()
	for bodies.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r := f.do("PUT", "/npm/@octo%2fbig", tok, big); r.status != http.StatusCreated {
		t.Fatalf("publish after the slot freed: %d %s", r.status, r.body)
	}
	if bodies.InUse() != 0 {
		t.Fatalf("%d slots still taken", bodies.InUse())
	}
}

// TestDocCacheSharesLargeDocuments: a document too large for the cache is
// still shared by the requests that ask for it while one holds it.
func TestDocCacheSharesLargeDocuments(t *testing.T) {
	c := newDocCache(1000)
	key := docKey{pkgID: 1, revision: 1}
	e, err := c.fill(key, func() (*docEntry, error) { return &docEntry{key: key, size: 900}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if e.elem != nil || c.size != 0 {
		t.Fatal("a large document went into the cache")
	}
	if got := c.get(key); got != e {
		t.Fatal("a large document in use is not shared")
	}
	if got := c.get(docKey{pkgID: 1, revision: 2}); got != nil {
		t.Fatal("a stale large document was returned")
	}
	// A small one of the same package replaces it.
	small := docKey{pkgID: 1, revision: 3}
	if _, err := c.fill(small, func() (*docEntry, error) { return &docEntry{key: small, size: 10}, nil }); err != nil {
		t.Fatal(err)
	}
	if c.get(key) != nil || c.get(small) == nil {
		t.Fatal("the small document did not replace the large one")
	}
}
