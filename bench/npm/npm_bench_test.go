// Package npmbench measures the npm registry: packument and tarball reads
// over HTTP, and a cold-cache npm install of many dependencies.
//
//	go test ./bench/npm -run '^$' -bench . -benchtime 5s
package npmbench

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/npm"
	"github.com/packhub/packhub/internal/store/storetest"
)

type world struct {
	svc   *packages.Service
	srv   *httptest.Server
	token string
}

func newWorld(b *testing.B) *world {
	b.Helper()
	blobs, err := fileblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := packages.NewService(storetest.NewSQLite(b), blobs, packages.Options{})
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "bench", false); err != nil {
		b.Fatal(err)
	}
	tok, _, err := svc.CreateToken(ctx, "bench", []string{"read:packages", "write:packages", "delete:packages"}, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	b.Cleanup(srv.Close)
	srv.Config.Handler = npm.New(svc, npm.Options{BaseURL: srv.URL})
	return &world{svc: svc, srv: srv, token: tok}
}

func tarball(b *testing.B, name, version string, deps map[string]string) []byte {
	b.Helper()
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "main": "index.js", "dependencies": deps})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{{"package/package.json", string(pj)}, {"package/index.js", "module.exports = 1\n"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body))})
		io.WriteString(tw, f.body)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// publish sends a publish document as npm does.
func (w *world) publish(b *testing.B, name, version string, deps map[string]string) {
	b.Helper()
	tgz := tarball(b, name, version, deps)
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	doc, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: map[string]any{
			"name": name, "version": version, "main": "index.js", "description": "benchmark package " + name,
			"dependencies": deps, "license": "MIT", "repository": "bench/" + strings.TrimPrefix(name, "@bench/"),
			"scripts": map[string]string{"test": "echo ok"}, "keywords": []string{"bench", "npm"},
			"dist": map[string]string{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:])},
		}},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	req, _ := http.NewRequest("PUT", w.srv.URL+"/npm/"+strings.Replace(name, "/", "%2f", 1), bytes.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+w.token)
	res, err := w.srv.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b.Fatalf("publish %s@%s: %d %s", name, version, res.StatusCode, body)
	}
}

func (w *world) get(b *testing.B, c *http.Client, path, accept string) {
	req, _ := http.NewRequest("GET", w.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	b.SetBytes(n)
}

// BenchmarkPackument1000 reads the packument of a package with 1,000
// versions, authenticating a token on every request.
func BenchmarkPackument1000(b *testing.B) {
	w := newWorld(b)
	deps := map[string]string{"left-pad": "^1.3.0", "lodash": "^4.17.21"}
	for i := 0; i < 1000; i++ {
		w.publish(b, "@bench/big", fmt.Sprintf("1.%d.%d", i/100, i%100), deps)
	}
	for _, c := range []struct{ name, accept string }{
		{"full", "application/json"},
		{"abbreviated", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				for pb.Next() {
					w.get(b, cl, "/npm/@bench%2fbig", c.accept)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkTarball downloads a tarball with a token on every request; each
// download is counted.
func BenchmarkTarball(b *testing.B) {
	w := newWorld(b)
	w.publish(b, "@bench/small", "1.0.0", nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for pb.Next() {
			w.get(b, cl, "/npm/@bench/small/-/small-1.0.0.tgz", "")
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkNpmInstall50 runs npm install of 50 dependencies with a cold
// cache and no lockfile.
func BenchmarkNpmInstall50(b *testing.B) {
	bin, err := exec.LookPath("npm")
	if err != nil {
		b.Skip("npm is not on PATH")
	}
	w := newWorld(b)
	deps := map[string]string{}
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("@bench/dep-%02d", i)
		w.publish(b, name, "1.0.0", nil)
		w.publish(b, name, "1.1.0", nil)
		deps[name] = "^1.0.0"
	}
	home := b.TempDir()
	registry := w.srv.URL + "/npm/"
	rc := strings.TrimPrefix(registry, "http:") + ":_authToken=" + w.token + "\n@bench:registry=" + registry + "\n"
	os.WriteFile(filepath.Join(home, ".npmrc"), []byte(rc), 0o600)
	manifest, _ := json.Marshal(map[string]any{"name": "consumer", "version": "1.0.0", "private": true, "dependencies": deps})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		os.WriteFile(filepath.Join(dir, "package.json"), manifest, 0o644)
		cmd := exec.Command(bin, "install", "--cache", filepath.Join(dir, ".cache"), "--no-package-lock")
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "npm_config_registry=" + registry,
			"npm_config_audit=false", "npm_config_fund=false", "npm_config_update_notifier=false",
			"npm_config_globalconfig=" + filepath.Join(home, "global-npmrc")}
		b.StartTimer()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("npm install: %v\n%s", err, out)
		}
	}
}
