package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/metrics"
)

// httpMetrics are the series the server middleware registers beside
// these.
var httpMetrics = []string{"packhub_http_requests_total", "packhub_http_request_duration_seconds", "packhub_http_requests_in_flight"}

// TestDashboard checks that every query of docs/grafana-dashboard.json
// names only series Packhub serves.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WatchUploads(blobs); err != nil {
		t.Fatal(err)
	}
	// Describe lists every family, those without a sample yet too.
	known := map[string]bool{}
	for _, n := range httpMetrics {
		known[n] = true
	}
	descs := make(chan *prometheus.Desc, 100)
	reg.Describe(descs)
	close(descs)
	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	for desc := range descs {
		if mm := name.FindStringSubmatch(desc.String()); mm != nil {
			known[mm[1]] = true
		}
	}
	series := regexp.MustCompile(`packhub_[a-z_]+`)
	used := map[string]bool{}
	queries := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, s := range series.FindAllString(tg.Expr, -1) {
				base := s
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(s, suffix); ok && known[b] {
						base = b
					}
				}
				if !known[base] {
					t.Errorf("panel %q queries %s, which Packhub does not serve", p.Title, s)
				}
				used[base] = true
			}
		}
	}
	if queries < 20 {
		t.Errorf("only %d queries", queries)
	}
	for n := range known {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
