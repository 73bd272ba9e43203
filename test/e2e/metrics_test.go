package e2e

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads /metrics into a map from series ("name{labels}", as
// written) to value.
func scrape(t *testing.T, s *Server) map[string]float64 {
	t.Helper()
	res, err := s.Client().Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sumOf adds the series of a name whose labels include every one given.
func sumOf(m map[string]float64, name string, labels ...string) (float64, int) {
	sum, n := 0.0, 0
	for series, v := range m {
		base, rest, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
			}
		}
		if match {
			sum, n = sum+v, n+1
		}
	}
	return sum, n
}

// TestMetrics publishes and downloads with npm and crane, then scrapes
// /metrics and finds the registry's series beside the HTTP ones, with
// values that fit what was done.
func TestMetrics(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testMetrics)
}

func testMetrics(t *testing.T, db Database) {
	npm := requireTool(t, "npm")
	crane := requireTool(t, "crane")
	s := StartServer(t, db, WithArgs("--purge-interval", "1s"))
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	before := scrape(t, s)
	if v, n := sumOf(before, "packhub_publishes_total"); n != 0 || v != 0 {
		t.Fatalf("publishes before any: %v in %d series", v, n)
	}

	alice := newNpmUser(t, npm, s.URL+"/npm/", tok, "alice")
	src := t.TempDir()
	npmProject(t, src, map[string]any{"name": "@alice/measured", "version": "1.0.0", "main": "index.js", "description": strings.Repeat("x", 4000)})
	alice.must(src, "publish")
	alice.must(npmConsumer(t), "install", "@alice/measured")
	alice.mustFail(npmConsumer(t), "install", "@alice/missing")
	oc := newOCIClients(t)
	host := hostOf(s.URL)
	oc.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("layer", strings.Repeat("layer\n", 1000)), "-t", host+"/alice/app:v1")
	oc.run(crane, "pull", "--insecure", host+"/alice/app:v1", oc.home+"/app.tar")

	// Downloads are written within a quarter of a second, the purge job
	// runs every second: wait for both.
	var m map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		m = scrape(t, s)
		npmDownloads, _ := sumOf(m, "packhub_downloads_total", `type="npm"`)
		ociDownloads, _ := sumOf(m, "packhub_downloads_total", `type="container"`)
		runs, _ := sumOf(m, "packhub_job_runs_total", `job="purge"`, `result="ok"`)
		if npmDownloads >= 1 && ociDownloads >= 1 && runs >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("downloads or a purge run not counted: npm %v, container %v, runs %v", npmDownloads, ociDownloads, runs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	check := func(what string, ok bool, v float64) {
		t.Helper()
		if !ok {
			t.Errorf("%s: %v", what, v)
		}
	}
	v, _ := sumOf(m, "packhub_publishes_total", `type="npm"`)
	check("npm publishes", v == 1, v)
	v, _ = sumOf(m, "packhub_publishes_total", `type="container"`)
	check("container publishes", v == 1, v)
	v, _ = sumOf(m, "packhub_downloads_total", `type="npm"`)
	check("npm downloads", v == 1, v)
	v, _ = sumOf(m, "packhub_downloads_total", `type="container"`)
	check("container downloads (the pull of the manifest)", v >= 1, v)
	v, _ = sumOf(m, "packhub_http_request_bytes_total", `front="npm"`)
	check("bytes into npm (the publish document carries the tarball and the 4000-byte description)", v > 4000, v)
	v, _ = sumOf(m, "packhub_http_request_bytes_total", `front="oci"`)
	check("bytes into the OCI front (the 6000-byte layer, compressed)", v > 100, v)
	v, _ = sumOf(m, "packhub_http_response_bytes_total", `front="oci"`)
	check("bytes out of the OCI front", v > 100, v)
	v, _ = sumOf(m, "packhub_http_response_bytes_total", `front="npm"`)
	check("bytes out of npm", v > 0, v)
	v, _ = sumOf(m, "packhub_errors_total", `front="npm"`, `type="not_found"`)
	check("npm not-found errors (the missing package)", v >= 1, v)
	v, n := sumOf(m, "packhub_upload_sessions")
	check("upload sessions once every push is done", n == 1 && v == 0, v)
	v, _ = sumOf(m, "packhub_job_duration_seconds_count", `job="purge"`)
	check("purge runs timed", v >= 1, v)

	count, n := sumOf(m, "packhub_store_operation_duration_seconds_count")
	secs, _ := sumOf(m, "packhub_store_operation_duration_seconds_sum")
	check("store operations timed", n > 5 && count > 20, count)
	check("store latency on average under a second", secs/count < 1, secs/count)
	v, _ = sumOf(m, "packhub_store_operation_duration_seconds_count", `op="WithTx"`)
	check("transactions timed", v >= 2, v)
	count, _ = sumOf(m, "packhub_blob_operation_duration_seconds_count")
	check("blob operations timed", count >= 3, count)
	v, _ = sumOf(m, "packhub_blob_operation_duration_seconds_count", `op="Open"`)
	check("blob opens (the downloads)", v >= 2, v)
	v, _ = sumOf(m, "packhub_store_operation_errors_total")
	check("no store errors", v == 0, v)
	v, _ = sumOf(m, "packhub_http_requests_total", `front="npm"`)
	check("HTTP requests still counted", v >= 3, v)
	if _, n := sumOf(m, "go_goroutines"); n != 1 {
		t.Errorf("the Go collector is gone")
	}
}
