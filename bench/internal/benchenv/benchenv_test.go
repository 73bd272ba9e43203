package benchenv

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	var b strings.Builder
	tab := Table{Out: &b, LabelWidth: 20, CellWidth: 8, RatioWidth: 10}
	tab.Header([]string{"Packhub", "Gitea"}, "ratio")
	tab.Figures("GET (req/s)", []float64{300, 100}, "%.0f", true)
	tab.Figures("  p99 (ms)", []float64{2, 4}, "%.1f", false)
	tab.Row("install (s)", []string{"1.00", "n/a"})
	want := fmt.Sprintf("%-20s %8s %8s %10s\n", "", "Packhub", "Gitea", "ratio") +
		fmt.Sprintf("%-20s %8s %8s %9.2fx\n", "GET (req/s)", "300", "100", 3.0) +
		fmt.Sprintf("%-20s %8s %8s %9.2fx\n", "  p99 (ms)", "2.0", "4.0", 2.0) +
		fmt.Sprintf("%-20s %8s %8s\n", "install (s)", "1.00", "n/a")
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}

	b.Reset()
	tab.Header([]string{"Packhub"}, "ratio")
	tab.Figures("GET (req/s)", []float64{300}, "%.0f", true)
	want = fmt.Sprintf("%-20s %8s\n", "", "Packhub") + fmt.Sprintf("%-20s %8s\n", "GET (req/s)", "300")
	if got := b.String(); got != want {
		t.Errorf("one registry:\n%s\nwant:\n%s", got, want)
	}
}

func TestMedian(t *testing.T) {
	ds := []time.Duration{3, 1, 2, 5}
	if got := Median(ds); got != 3 {
		t.Errorf("Median = %v, want 3", got)
	}
	if ds[0] != 3 {
		t.Errorf("Median sorted its argument: %v", ds)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v, want 0", got)
	}
}

func TestLoadResult(t *testing.T) {
	r := LoadResult{Bytes: 1000, Elapsed: time.Second}
	for i := range 100 {
		r.Latencies = append(r.Latencies, time.Duration(i+1)*time.Millisecond)
	}
	if got := r.Rate(); got != 100 {
		t.Errorf("Rate = %v, want 100", got)
	}
	if got := r.P99(); got != 100 {
		t.Errorf("P99 = %v, want 100", got)
	}
	if got := r.MeanBytes(); got != 10 {
		t.Errorf("MeanBytes = %v, want 10", got)
	}
}

func TestLogBufferKeepsTheStart(t *testing.T) {
	var b logBuffer
	chunk := []byte(strings.Repeat("x", 1<<19))
	for range 4 {
		if n, err := b.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if n := len(b.String()); n != 3<<19 {
		t.Errorf("kept %d bytes, want %d", n, 3<<19)
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{"tok": "tok", "warning\ntok": "tok", "a\nb\ntok": "tok"} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}
