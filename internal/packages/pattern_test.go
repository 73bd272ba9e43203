package packages_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func TestPattern(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"*", []string{"", "a", "team/app", "1.0.0"}, nil},
		{"pr-*", []string{"pr-1", "pr-", "pr-12/x"}, []string{"xpr-1", "PR-1"}},
		{"glob:1.?.*", []string{"1.2.3", "1.x."}, []string{"1.22.3", "2.1.1"}},
		{"*-SNAPSHOT", []string{"1.0-SNAPSHOT"}, []string{"1.0-SNAPSHOT.1", "1.0"}},
		{"v[0-9]*", []string{"v1", "v9.9"}, []string{"va", "v"}},
		{"v[!0-9]*", []string{"va", "vb2"}, []string{"v1"}},
		{"[]]", []string{"]"}, []string{"["}},
		{"a\\*b", []string{"a*b"}, []string{"axb"}},
		{"é?", []string{"éa", "éé"}, []string{"é"}},
		{"[é-ë]", []string{"ê"}, []string{"e"}},
		{"re:^v1\\.", []string{"v1.0", "v1.x"}, []string{"xv1.0", "v10"}},
		{"re:rc", []string{"1.0-rc1", "rc"}, []string{"1.0"}},
		{"", nil, []string{"", "a"}},
	}
	for _, tc := range tests {
		p, err := packages.ParsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tc.pattern, err)
		}
		for _, s := range tc.match {
			if !p.Match(s) {
				t.Errorf("%q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.miss {
			if p.Match(s) {
				t.Errorf("%q matches %q", tc.pattern, s)
			}
		}
	}
	for _, bad := range []string{"re:", "re:(", "glob:", "[a", "a\\", "[z-a]", "\xff", string(make([]byte, 2000))} {
		if _, err := packages.ParsePattern(bad); packages.KindOf(err) != packages.KindInvalid {
			t.Errorf("ParsePattern(%q): %v, want KindInvalid", bad, err)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"*", "pr-*", "v[!0-9]*", "[]]", "a\\*b", "re:^v1\\.", "[é-ë]", "[", "re:(", "\\"} {
		f.Add(s, "v1.0")
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		p, err := packages.ParsePattern(pattern)
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("ParsePattern(%q): error of kind %v", pattern, packages.KindOf(err))
			}
			return
		}
		m := p.Match(text)
		if p.String() != pattern {
			t.Fatalf("String() = %q, want %q", p.String(), pattern)
		}
		// A glob without special characters matches exactly itself.
		if len(pattern) > 0 && !regexp.MustCompile(`[*?\[\\]|^re:|^glob:`).MatchString(pattern) && m != (text == pattern) {
			t.Fatalf("literal %q matching %q: %v", pattern, text, m)
		}
	})
}

func TestParseAge(t *testing.T) {
	for s, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "36h": 36 * time.Hour, " 90m ": 90 * time.Minute, "1d": 24 * time.Hour} {
		got, err := packages.ParseAge(s)
		if err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, err := packages.ParseAge(packages.FormatAge(got)); err != nil || back != got {
			t.Errorf("FormatAge(%v) = %q does not parse back: %v, %v", got, packages.FormatAge(got), back, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "d", "1.5d", "0s", "-3h", "soon", "99999999d"} {
		if _, err := packages.ParseAge(bad); packages.KindOf(err) != packages.KindInvalid {
			t.Errorf("ParseAge(%q): %v, want KindInvalid", bad, err)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"30d", "36h", "1h30m", "0d", "-1d", "1e9d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := packages.ParseAge(s)
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("ParseAge(%q): error of kind %v", s, packages.KindOf(err))
			}
			return
		}
		if d <= 0 {
			t.Fatalf("ParseAge(%q) = %v, not positive", s, d)
		}
		if back, err := packages.ParseAge(packages.FormatAge(d)); err != nil || back != d {
			t.Fatalf("FormatAge(%v) = %q parses back as %v, %v", d, packages.FormatAge(d), back, err)
		}
	})
}
