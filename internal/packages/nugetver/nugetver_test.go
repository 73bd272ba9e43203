package nugetver

import (
	"errors"
	"slices"
	"testing"
)

func TestParseNormalises(t *testing.T) {
	tests := []struct {
		in, norm, canon string
		pre, semver2    bool
	}{
		{"1", "1.0.0", "1.0.0", false, false},
		{"1.0", "1.0.0", "1.0.0", false, false},
		{"1.0.0", "1.0.0", "1.0.0", false, false},
		{"1.0.0.0", "1.0.0", "1.0.0", false, false},
		{"1.2.3.4", "1.2.3.4", "1.2.3.4", false, false},
		{"01.002.0003", "1.2.3", "1.2.3", false, false},
		{" 2.0 ", "2.0.0", "2.0.0", false, false},
		{"1.0.0-Beta", "1.0.0-Beta", "1.0.0-beta", true, false},
		{"1.0-beta.2", "1.0.0-beta.2", "1.0.0-beta.2", true, true},
		{"1.0.0+build.5", "1.0.0", "1.0.0", false, true},
		{"1.0.0-RC-1+sha.abc", "1.0.0-RC-1", "1.0.0-rc-1", true, true},
		{"2147483647.0", "2147483647.0.0", "2147483647.0.0", false, false},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := v.String(); got != tt.norm {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.norm)
		}
		if got := v.Canonical(); got != tt.canon {
			t.Errorf("Parse(%q).Canonical() = %q, want %q", tt.in, got, tt.canon)
		}
		if v.IsPrerelease() != tt.pre || v.IsSemVer2() != tt.semver2 {
			t.Errorf("Parse(%q): prerelease %v semver2 %v, want %v %v", tt.in, v.IsPrerelease(), v.IsSemVer2(), tt.pre, tt.semver2)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"", " ", "a", "1.", ".1", "1..2", "1.2.3.4.5", "1.0-", "1.0+", "1.0-beta..1", "1.0-be_ta",
		"1.0.0-01", "1.0+a..b", "-1.0", "1.0 beta", "1.*", "v1.0", "2147483648.0", "1.0.0-beta+",
		"1.0.0-\u00e9", string(make([]byte, MaxLength+1)),
	} {
		if _, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestCompare(t *testing.T) {
	// In ascending order; neighbours that compare equal are in one group.
	ordered := [][]string{
		{"0.9"},
		{"1.0.0-alpha", "1.0.0-ALPHA"},
		{"1.0.0-alpha.1"},
		{"1.0.0-alpha.beta"},
		{"1.0.0-beta"},
		{"1.0.0-beta.2"},
		{"1.0.0-beta.11"},
		{"1.0.0-rc.1"},
		{"1.0.0", "1.0", "1", "1.0.0.0", "1.0.0+build"},
		{"1.0.0.1"},
		{"1.0.1"},
		{"1.10.0"},
		{"10.0.0"},
	}
	var flat []Version
	var group []int
	for g, names := range ordered {
		for _, n := range names {
			v, err := Parse(n)
			if err != nil {
				t.Fatalf("Parse(%q): %v", n, err)
			}
			flat = append(flat, v)
			group = append(group, g)
		}
	}
	for i := range flat {
		for j := range flat {
			got := Compare(flat[i], flat[j])
			want := cmpInt(int64(group[i]), int64(group[j]))
			if sign(got) != want {
				t.Errorf("Compare(%s, %s) = %d, want sign %d", flat[i], flat[j], got, want)
			}
		}
	}
	names := []string{"2.0", "1.0-beta", "bogus", "1.0", "1.0.0.1"}
	slices.SortFunc(names, CompareStrings)
	if want := []string{"bogus", "1.0-beta", "1.0", "1.0.0.1", "2.0"}; !slices.Equal(names, want) {
		t.Errorf("sorted %v, want %v", names, want)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in, norm string
		in1, out []string
	}{
		{"", "(, )", []string{"0.0.1", "99.0"}, nil},
		{"1.0", "[1.0.0, )", []string{"1.0", "1.5", "2.0"}, []string{"0.9", "1.0-beta"}},
		{"[1.0]", "[1.0.0]", []string{"1.0.0"}, []string{"1.0.1"}},
		{"[1.0,2.0)", "[1.0.0, 2.0.0)", []string{"1.0", "1.9.9"}, []string{"2.0", "0.1"}},
		{"( , 2.0 ]", "(, 2.0.0]", []string{"2.0", "0.1"}, []string{"2.0.1"}},
		{"(1.0,)", "(1.0.0, )", []string{"1.0.1"}, []string{"1.0"}},
		{"[1.0.0-beta.1, 1.0.0]", "[1.0.0-beta.1, 1.0.0]", []string{"1.0.0-beta.2"}, []string{"1.0.0-alpha"}},
		{"[1.0, 1.0]", "[1.0.0]", []string{"1.0"}, nil},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.in)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if got := r.String(); got != tt.norm {
			t.Errorf("ParseRange(%q) = %q, want %q", tt.in, got, tt.norm)
		}
		for _, s := range tt.in1 {
			if v, _ := Parse(s); !r.Contains(v) {
				t.Errorf("%s does not contain %s", tt.norm, s)
			}
		}
		for _, s := range tt.out {
			if v, _ := Parse(s); r.Contains(v) {
				t.Errorf("%s contains %s", tt.norm, s)
			}
		}
	}
	for _, in := range []string{"[", "[]", "(1.0)", "[1.0", "[2.0,1.0]", "(1.0,1.0]", "[,]", "[1.0,2.0,3.0]", "1.*", "[x,2.0]", "(,y)"} {
		if _, err := ParseRange(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRange(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

// FuzzParse checks that Parse never panics and that normalisation is
// stable: the normalised form parses to the same version.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.0", "1.0.0-beta.1+abc", "1.2.3.4", "01.0-RC", "1.0.0-0a", "9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		n := v.String()
		w, err := Parse(n)
		if err != nil {
			t.Fatalf("normalised %q of %q does not parse: %v", n, s, err)
		}
		if Compare(v, w) != 0 || w.String() != n {
			t.Fatalf("normalised %q of %q is another version", n, s)
		}
	})
}

// FuzzParseRange checks that ParseRange never panics and that a range's
// normalised form parses to the same range.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "1.0", "[1.0]", "[1.0,2.0)", "(,2.0]", "(1.0,)", "[1.0-a.1, 2.0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		n := r.String()
		r2, err := ParseRange(n)
		if err != nil {
			t.Fatalf("normalised %q of %q does not parse: %v", n, s, err)
		}
		if r2.String() != n {
			t.Fatalf("normalised %q of %q normalises to %q", n, s, r2.String())
		}
	})
}
