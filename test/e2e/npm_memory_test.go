package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/packhub/packhub/internal/packages"
)

// npmReadmeLimit is the length, in UTF-16 code units as JavaScript counts
// them, npm's registry cuts a packument's readme to.
const npmReadmeLimit = 65536

// fillReader yields n bytes of readable ASCII text, without quotes or
// backslashes, so that it can stand inside a JSON string.
type fillReader struct{ n int64 }

func (f *fillReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
	k := int(min(int64(len(p)), f.n))
	for i := 0; i < k; i++ {
		p[i] = text[i%len(text)]
	}
	f.n -= int64(k)
	return k, nil
}

// npmTarball packs a package.json for name@version into a gzipped tar.
func npmTarball(t *testing.T, name, version string) []byte {
	t.Helper()
	pj := fmt.Sprintf(`{"name":%q,"version":%q}`, name, version)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, pj)
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// bigPublish is a publish document, as npm sends it, whose version carries
// a readme of readmeLen bytes. Its body is generated as it is sent.
type bigPublish struct {
	prefix, suffix string
	readmeLen      int64
}

func newBigPublish(t *testing.T, name string, readmeLen int64) bigPublish {
	tgz := npmTarball(t, name, "1.0.0")
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	short := name[strings.Index(name, "/")+1:]
	prefix := fmt.Sprintf(`{"_id":%q,"name":%q,"dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":%q,"version":"1.0.0","main":"index.js",`+
		`"dist":{"integrity":"sha512-%s","shasum":"%s"},"readmeFilename":"README.md","readme":"`,
		name, name, name, base64.StdEncoding.EncodeToString(s512[:]), hex.EncodeToString(s1[:]))
	suffix := fmt.Sprintf(`"}},"access":null,"_attachments":{"%s-1.0.0.tgz":{"content_type":"application/octet-stream","data":%q,"length":%d}}}`,
		short, base64.StdEncoding.EncodeToString(tgz), len(tgz))
	return bigPublish{prefix: prefix, suffix: suffix, readmeLen: readmeLen}
}

func (b bigPublish) body() io.Reader {
	return io.MultiReader(strings.NewReader(b.prefix), &fillReader{n: b.readmeLen}, strings.NewReader(b.suffix))
}

func (b bigPublish) size() int64 { return int64(len(b.prefix)) + b.readmeLen + int64(len(b.suffix)) }

// vmHWM reads a process's peak resident set size from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the server's memory use: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestNpmMemoryBounded drives large npm documents at the real server and
// checks that its peak memory stays bounded: eight parallel publishes of a
// version with a 60 MiB readme (refused: the manifest is over the limit),
// sixteen parallel reads of a packument whose stored version carries a
// 60 MiB readme (kept by an older Packhub or under a larger limit), eight
// parallel publishes just under the limit, and sixteen reads of those. Every
// packument shows the readme cut to npm's 65,536 characters.
func TestNpmMemoryBounded(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testNpmMemoryBounded)
}

func testNpmMemoryBounded(t *testing.T, db Database) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Fatalf("the server's memory is read from /proc: %v", err)
	}
	const (
		bound = 400 << 20
		// The stored readme is larger than a document the cache keeps
		// (16 MiB); reading the row is itself costly in the database
		// driver, so it is not larger still.
		legacyReadme = 24 << 20
	)
	s := StartServer(t, db, WithoutRaceDetector())
	s.Admin("user", "create", "octo")
	tok := s.Token("octo", "read:packages,write:packages")
	ctx := context.Background()

	// A version stored with a 60 MiB readme, written through the service as
	// an older server would have kept it.
	svc := s.Service()
	actor, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		tgz := npmTarball(t, "@octo/legacy", "1.0.0")
		sum := sha256.Sum256(tgz)
		digest, size, err := svc.Upload(ctx, actor, packages.UploadRequest{
			Package: packages.PackageRef{Owner: "octo", Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: "legacy"},
			Body:    bytes.NewReader(tgz), Expected: "sha256:" + hex.EncodeToString(sum[:])})
		if err != nil {
			t.Fatal(err)
		}
		var meta bytes.Buffer
		meta.WriteString(`{"name":"@octo/legacy","version":"1.0.0","readmeFilename":"README.md","readme":"`)
		io.Copy(&meta, &fillReader{n: legacyReadme})
		meta.WriteString(`"}`)
		_, err = svc.Publish(ctx, actor, packages.PublishRequest{
			Package:  packages.PackageRef{Owner: "octo", Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: "legacy"},
			Version:  "1.0.0",
			Metadata: meta.Bytes(),
			Files:    []packages.File{{Name: "legacy-1.0.0.tgz", Digest: digest, Size: size, MediaType: "application/octet-stream"}},
			Tags:     []string{"latest"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}()

	client := &http.Client{}
	var mu sync.Mutex
	var problems []string
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	publish := func(name string, readmeLen int64, want int) {
		doc := newBigPublish(t, name, readmeLen)
		req, _ := http.NewRequest("PUT", s.URL+"/npm/"+strings.Replace(name, "/", "%2f", 1), doc.body())
		req.ContentLength = doc.size()
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			problem("publish %s: %v", name, err)
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode != want {
			problem("publish %s with a %d-byte readme: %d %s, want %d", name, readmeLen, res.StatusCode, b, want)
		}
	}
	// read fetches a packument and checks its readme was cut; it decodes
	// only bodies of a sensible size.
	read := func(name string, abbreviated bool) {
		req, _ := http.NewRequest("GET", s.URL+"/npm/"+strings.Replace(name, "/", "%2f", 1), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if abbreviated {
			req.Header.Set("Accept", "application/vnd.npm.install-v1+json")
		}
		res, err := client.Do(req)
		if err != nil {
			problem("read %s: %v", name, err)
			return
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(res.Body, 2<<20))
		rest, _ := io.Copy(io.Discard, res.Body)
		if err != nil || res.StatusCode != 200 || rest > 0 {
			problem("read %s: %d, %d bytes, %v", name, res.StatusCode, n+rest, err)
			return
		}
		var p struct {
			Readme   *string                    `json:"readme"`
			Versions map[string]json.RawMessage `json:"versions"`
		}
		if err := json.Unmarshal(buf.Bytes(), &p); err != nil || len(p.Versions) != 1 {
			problem("read %s: %v %.200s", name, err, buf.Bytes())
			return
		}
		switch {
		case abbreviated && p.Readme != nil:
			problem("abbreviated %s has a readme", name)
		case !abbreviated && p.Readme == nil:
			problem("%s has no readme", name)
		case !abbreviated && len(utf16.Encode([]rune(*p.Readme))) != npmReadmeLimit:
			problem("readme of %s has %d characters, want it cut to %d", name, len(utf16.Encode([]rune(*p.Readme))), npmReadmeLimit)
		}
	}

	t.Logf("peak RSS at start: %d MiB", vmHWM(t, s.cmd.Process.Pid)>>20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { publish(fmt.Sprintf("@octo/huge%d", i), 60<<20, http.StatusRequestEntityTooLarge) })
	}
	for i := range 16 {
		wg.Go(func() { read("@octo/legacy", i%4 == 3) })
	}
	wg.Wait()
	t.Logf("peak RSS after the refused publishes and the reads of the stored readme: %d MiB", vmHWM(t, s.cmd.Process.Pid)>>20)

	// Just under the default manifest limit of 8 MiB: accepted, and read
	// back with the readme cut.
	for i := range 8 {
		wg.Go(func() { publish(fmt.Sprintf("@octo/big%d", i), 7<<20, http.StatusCreated) })
	}
	wg.Wait()
	t.Logf("peak RSS after the accepted publishes: %d MiB", vmHWM(t, s.cmd.Process.Pid)>>20)
	for i := range 16 {
		wg.Go(func() { read(fmt.Sprintf("@octo/big%d", i%8), i >= 8) })
	}
	wg.Wait()

	for _, p := range problems {
		t.Error(p)
	}
	peak := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("server peak RSS %d MiB", peak>>20)
	if peak > bound {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", peak>>20, bound>>20)
	}
}
