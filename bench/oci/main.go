// Command ocibench measures an OCI registry: pushing and pulling a large
// blob (monolithic and chunked), pushing many small blobs, and the request
// rates of blob HEAD, manifest GET and tag listing under concurrent
// clients. It drives Packhub in-process by default, or any registry by URL
// (e.g. CNCF distribution) for comparison:
//
//	go run ./bench/oci                                   # Packhub, in-process
//	go run ./bench/oci -url http://127.0.0.1:5000 -name bench/image
//
// Bearer token challenges are answered with -user/-password.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/store"
)

var (
	target      = flag.String("url", "", "registry base URL; empty runs Packhub in-process")
	name        = flag.String("name", "bench/image", "repository name (for Packhub in-process: OWNER/IMAGE, owner bench)")
	user        = flag.String("user", "bench", "user name for token challenges")
	password    = flag.String("password", "", "password (token) for token challenges")
	concurrency = flag.Int("c", 16, "concurrent clients for the rate tests")
	largeMiB    = flag.Int("large", 256, "size of the large blob in MiB")
	chunkMiB    = flag.Int("chunk", 8, "chunk size of the chunked upload in MiB")
	smallCount  = flag.Int("small", 1000, "number of small blobs")
	duration    = flag.Duration("d", 5*time.Second, "duration of each rate test")
)

func main() {
	flag.Parse()
	base := *target
	if base == "" {
		var stop func()
		var err error
		base, *password, stop, err = startPackhub()
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
	}
	c := &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	fmt.Printf("registry %s, repository %s, %d clients\n\n", c.base, *name, *concurrency)
	fmt.Printf("%-34s %14s %12s %10s %10s\n", "scenario", "throughput", "requests/s", "p50", "p99")

	large := make([]byte, *largeMiB<<20)
	rand.Read(large)
	ld := digest(large)
	timeIt("push large blob, monolithic", int64(len(large)), func() error { return c.pushMonolithic(large, ld) })
	large[0] ^= 1 // another blob, so that the store cannot deduplicate
	ld2 := digest(large)
	timeIt(fmt.Sprintf("push large blob, %d MiB chunks", *chunkMiB), int64(len(large)), func() error { return c.pushChunked(large, ld2, *chunkMiB<<20) })
	timeIt("pull large blob", int64(len(large)), func() error { return c.pullBlob(ld2, int64(len(large))) })

	small := make([][]byte, *smallCount)
	for i := range small {
		small[i] = make([]byte, 1024)
		rand.Read(small[i])
	}
	var next atomic.Int64
	start := time.Now()
	lat := parallel(*concurrency, func() (bool, error) {
		i := next.Add(1) - 1
		if i >= int64(len(small)) {
			return false, nil
		}
		return true, c.pushMonolithic(small[i], digest(small[i]))
	})
	report(fmt.Sprintf("push %d small blobs", len(small)), int64(len(small)*1024), time.Since(start), lat)

	// A manifest and tags for the read tests.
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	must(c.pushMonolithic(cfg, digest(cfg)))
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeOCIManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(small[0]), "size": 1024}},
	})
	for i := 0; i < 50; i++ {
		must(c.putManifest(fmt.Sprintf("t%03d", i), m))
	}
	rate(c, "HEAD blob", "HEAD", "/v2/"+*name+"/blobs/"+digest(small[1]))
	rate(c, "HEAD manifest by tag", "HEAD", "/v2/"+*name+"/manifests/t001")
	rate(c, "GET manifest by tag", "GET", "/v2/"+*name+"/manifests/t001")
	rate(c, "GET tags/list", "GET", "/v2/"+*name+"/tags/list")
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// startPackhub serves Packhub's container registry on a loopback port with
// a SQLite store and file blobs in a temporary directory.
func startPackhub() (base, token string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "ocibench")
	if err != nil {
		return "", "", nil, err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "packhub.db"))
	if err != nil {
		return "", "", nil, err
	}
	blobs, err := fileblob.New(filepath.Join(dir, "blobs"))
	if err != nil {
		return "", "", nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := packages.NewService(st, blobs, packages.Options{Logger: quiet})
	owner, _, _ := strings.Cut(*name, "/")
	if _, err := svc.CreateUser(ctx, owner, false); err != nil {
		return "", "", nil, err
	}
	token, _, err = svc.CreateToken(ctx, owner, []string{packages.ScopeWritePackages, packages.ScopeDeletePackages}, "bench", 0)
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	base = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: oci.New(svc, oci.Options{BaseURL: base, TokenKey: []byte("bench"), Logger: quiet})}
	go srv.Serve(ln)
	return base, token, func() { srv.Close(); st.Close(); os.RemoveAll(dir) }, nil
}

// client speaks the registry API, answering bearer challenges once per
// scope and reusing the token.
type client struct {
	base string
	http *http.Client
	mu   sync.Mutex
	tok  map[string]string // scope -> bearer token
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

func (c *client) do(method, path string, body []byte, hdr ...string) (*http.Response, error) {
	scope := ""
	for attempt := 0; attempt < 2; attempt++ {
		u := path
		if !strings.HasPrefix(u, "http") {
			u = c.base + path
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, u, rd)
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c.mu.Lock()
		if t := c.tok[scopeKey(path, method)]; t != "" {
			req.Header.Set("Authorization", "Bearer "+t)
		}
		c.mu.Unlock()
		res, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusUnauthorized || attempt == 1 {
			return res, nil
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		params := map[string]string{}
		for _, m := range challengeParam.FindAllStringSubmatch(res.Header.Get("WWW-Authenticate"), -1) {
			params[m[1]] = m[2]
		}
		scope = params["scope"]
		if err := c.fetchToken(params["realm"], params["service"], scope, scopeKey(path, method)); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("unreachable")
}

// scopeKey groups requests by the access they need.
func scopeKey(path, method string) string {
	if method == "GET" || method == "HEAD" {
		return "pull"
	}
	return "push"
}

func (c *client) fetchToken(realm, service, scope, key string) error {
	q := url.Values{"service": {service}, "scope": {"repository:" + *name + ":pull,push"}}
	_ = scope
	req, _ := http.NewRequest("GET", realm+"?"+q.Encode(), nil)
	if *password != "" {
		req.SetBasicAuth(*user, *password)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var tr struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil {
		return err
	}
	c.mu.Lock()
	if c.tok == nil {
		c.tok = map[string]string{}
	}
	c.tok["pull"], c.tok["push"] = tr.Token, tr.Token
	c.mu.Unlock()
	return nil
}

// call sends a request and checks its status.
func (c *client) call(status int, method, path string, body []byte, hdr ...string) (*http.Response, error) {
	res, err := c.do(method, path, body, hdr...)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != status {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, fmt.Errorf("%s %s: %d: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, b)
	}
	return res, nil
}

func drain(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

func (c *client) startUpload() (string, error) {
	res, err := c.call(http.StatusAccepted, "POST", "/v2/"+*name+"/blobs/uploads/", nil)
	if err != nil {
		return "", err
	}
	drain(res, nil)
	return res.Header.Get("Location"), nil
}

func withDigest(loc, d string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + url.QueryEscape(d)
}

func (c *client) pushMonolithic(b []byte, d string) error {
	loc, err := c.startUpload()
	if err != nil {
		return err
	}
	return drain(c.call(http.StatusCreated, "PUT", withDigest(loc, d), b, "Content-Type", "application/octet-stream"))
}

func (c *client) pushChunked(b []byte, d string, chunk int) error {
	loc, err := c.startUpload()
	if err != nil {
		return err
	}
	for off := 0; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		res, err := c.call(http.StatusAccepted, "PATCH", loc, b[off:end], "Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		if err != nil {
			return err
		}
		drain(res, nil)
		loc = res.Header.Get("Location")
	}
	return drain(c.call(http.StatusCreated, "PUT", withDigest(loc, d), nil))
}

func (c *client) pullBlob(d string, size int64) error {
	res, err := c.call(http.StatusOK, "GET", "/v2/"+*name+"/blobs/"+d, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil && n != size {
		err = fmt.Errorf("pulled %d bytes, want %d", n, size)
	}
	return err
}

func (c *client) putManifest(tag string, m []byte) error {
	return drain(c.call(http.StatusCreated, "PUT", "/v2/"+*name+"/manifests/"+tag, m, "Content-Type", oci.MediaTypeOCIManifest))
}

func timeIt(label string, bytes int64, fn func() error) {
	start := time.Now()
	must(fn())
	d := time.Since(start)
	report(label, bytes, d, []time.Duration{d})
}

// parallel runs fn on n workers until it returns false, and returns every
// call's latency.
func parallel(n int, fn func() (bool, error)) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				t := time.Now()
				more, err := fn()
				if err != nil {
					log.Fatal(err)
				}
				if !more {
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

func rate(c *client, label, method, path string) {
	hdr := []string{"Accept", oci.MediaTypeOCIManifest + ", " + oci.MediaTypeOCIIndex}
	if err := drain(c.call(http.StatusOK, method, path, nil, hdr...)); err != nil {
		log.Fatal(err)
	}
	deadline := time.Now().Add(*duration)
	start := time.Now()
	lat := parallel(*concurrency, func() (bool, error) {
		if time.Now().After(deadline) {
			return false, nil
		}
		return true, drain(c.call(http.StatusOK, method, path, nil, hdr...))
	})
	report(label, 0, time.Since(start), lat)
}

func report(label string, bytes int64, d time.Duration, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	tp := "-"
	if bytes > 0 {
		tp = fmt.Sprintf("%.1f MiB/s", float64(bytes)/(1<<20)/d.Seconds())
	}
	p := func(q float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(10 * time.Microsecond).String()
	}
	fmt.Printf("%-34s %14s %12.0f %10s %10s\n", label, tp, float64(len(lat))/d.Seconds(), p(0.5), p(0.99))
}
