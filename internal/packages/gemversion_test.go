package packages_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

func TestNormalizeGemVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0": "1.0.0", " 2.1 ": "2.1", "1.0-rc1": "1.0.pre.rc1", "1.0.0.beta2": "1.0.0.beta2", "0": "0",
		"1.0.a": "1.0.a", "3.0.0-x-y.z": "3.0.0.pre.x.pre.y.z",
	} {
		got, err := packages.NormalizeGemVersion(in)
		if err != nil || got != want {
			t.Errorf("NormalizeGemVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "1.", "1..0", ".1", "1.0 beta", "1_0", "1.0-", "1.0-.a", "v1.0", "1/0"} {
		if _, err := packages.NormalizeGemVersion(in); packages.KindOf(err) != packages.KindInvalid {
			t.Errorf("NormalizeGemVersion(%q): %v, want KindInvalid", in, err)
		}
	}
}

// TestCompareGemVersions follows Gem::Version#<=>, ordered as RubyGems
// orders them.
func TestCompareGemVersions(t *testing.T) {
	ordered := []string{
		"0.9", "1.0.a", "1.0.a.1", "1.0.b", "1.0.pre.rc1", "1.0.rc1", "1.0", "1.0.0", "1.0.1", "1.1", "1.10", "2",
		"2.0.0.1", "10.0", "99999999999999999999.0",
	}
	for i := range ordered {
		for j := range ordered {
			got := packages.CompareGemVersions(ordered[i], ordered[j])
			switch {
			case i < j && got >= 0, i > j && got <= 0, i == j && got != 0:
				t.Errorf("CompareGemVersions(%q, %q) = %d", ordered[i], ordered[j], got)
			}
		}
	}
	for _, tc := range []struct {
		v   string
		pre bool
	}{{"1.0", false}, {"1.0.a", true}, {"1.0.pre.rc1", true}, {"10", false}} {
		if got := packages.GemPrerelease(tc.v); got != tc.pre {
			t.Errorf("GemPrerelease(%q) = %v", tc.v, got)
		}
	}
	sp, _ := packages.BuiltinSpecs().Get(packages.TypeRubyGems)
	if v, err := sp.Normalize("1.0-rc1"); err != nil || v != "1.0.pre.rc1" || sp.CompareVersions == nil {
		t.Fatalf("the RubyGems spec normalises to %q, %v", v, err)
	}
}
