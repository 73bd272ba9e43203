package benchenv

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Median returns the middle of ds (the upper one of an even count), or 0
// when ds is empty. It leaves ds as it is.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Ratio returns how much better a is than b: a/b when higher is better,
// b/a otherwise.
func Ratio(a, b float64, higherBetter bool) float64 {
	if higherBetter {
		return a / b
	}
	return b / a
}

// CPUModel returns the model name of the machine's CPU, or "unknown CPU".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// Machine returns the report line that describes the machine and how long
// the whole benchmark took.
func Machine(total time.Duration) string {
	return fmt.Sprintf("machine: %s/%s, %d CPUs, %s; total %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), CPUModel(), total.Round(time.Second))
}

// Table prints a plain-text table with a column per registry and, with two
// registries, a column of the first's figure against the second's.
type Table struct {
	// Out is where the table goes.
	Out io.Writer
	// LabelWidth, CellWidth and RatioWidth are the widths of the label
	// column, of a registry's column and of the ratio column.
	LabelWidth, CellWidth, RatioWidth int
}

// Header prints the header line: the names of the registries and, when
// there are two, ratioTitle.
func (t Table) Header(names []string, ratioTitle string) {
	line := fmt.Sprintf("%-*s", t.LabelWidth, "")
	for _, n := range names {
		line += fmt.Sprintf(" %*s", t.CellWidth, n)
	}
	if len(names) == 2 {
		line += fmt.Sprintf(" %*s", t.RatioWidth, ratioTitle)
	}
	fmt.Fprintln(t.Out, line)
}

// Row prints a line of the label and the cells, without a ratio.
func (t Table) Row(label string, cells []string) {
	fmt.Fprintln(t.Out, t.row(label, cells))
}

// RatioRow prints a line of the label, the cells and the ratio.
func (t Table) RatioRow(label string, cells []string, ratio float64) {
	fmt.Fprintln(t.Out, t.row(label, cells)+fmt.Sprintf(" %*.2fx", t.RatioWidth-1, ratio))
}

func (t Table) row(label string, cells []string) string {
	line := fmt.Sprintf("%-*s", t.LabelWidth, label)
	for _, c := range cells {
		line += fmt.Sprintf(" %*s", t.CellWidth, c)
	}
	return line
}

// Figures prints a line of the label and the values, each formatted with
// format, and, when there are two values, the first's ratio to the second
// (see Ratio).
func (t Table) Figures(label string, values []float64, format string, higherBetter bool) {
	cells := make([]string, len(values))
	for i, v := range values {
		cells[i] = fmt.Sprintf(format, v)
	}
	if len(values) == 2 {
		t.RatioRow(label, cells, Ratio(values[0], values[1], higherBetter))
		return
	}
	t.Row(label, cells)
}
