package packages

import "testing"

// The orders and equalities of Maven's own ComparableVersionTest.
func TestCompareMavenVersionsOrder(t *testing.T) {
	for _, seq := range [][]string{
		{"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11", "1-rc", "1-cr2",
			"1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1", "1-1-snapshot",
			"1-1", "1-2", "1-123"},
		{"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2",
			"2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m"},
		{"1.0-alpha-1", "1.0-beta", "1.0-rc-1", "1.0-SNAPSHOT", "1.0", "1.0-sp-1", "1.0.1", "1.10", "10.0"},
		{"0.9.9-SNAPSHOT", "0.9.9", "0.9.10", "1.0.0-SNAPSHOT", "1.0.0", "1.1-SNAPSHOT"},
		{"1", "123456789012", "123456789012345678901234567890"},
	} {
		for i := range seq {
			for j := range seq {
				got := CompareMavenVersions(seq[i], seq[j])
				want := 0
				if i < j {
					want = -1
				} else if i > j {
					want = 1
				}
				if sign(got) != want {
					t.Errorf("compare(%q, %q) = %d, want %d", seq[i], seq[j], got, want)
				}
			}
		}
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

func TestCompareMavenVersionsEqual(t *testing.T) {
	for _, pair := range [][2]string{
		{"1", "1"}, {"1", "1.0"}, {"1", "1.0.0"}, {"1.0", "1.0.0"}, {"1", "1-0"}, {"1", "1.0-0"},
		{"1.0", "1.0-0"}, {"1a", "1-a"}, {"1a", "1.0-a"}, {"1a", "1.0.0-a"}, {"1.0a", "1-a"},
		{"1.0.0a", "1-a"}, {"1x", "1-x"}, {"1x", "1.0-x"}, {"1.0x", "1-x"}, {"1.0.0x", "1-x"},
		{"1ga", "1"}, {"1release", "1"}, {"1final", "1"}, {"1cr", "1rc"}, {"1a1", "1-alpha-1"},
		{"1b2", "1-beta-2"}, {"1m3", "1-milestone-3"}, {"1X", "1x"}, {"1A", "1a"}, {"1-SNAPSHOT", "1-snapshot"},
		{"1-00100", "1-100"},
	} {
		if got := CompareMavenVersions(pair[0], pair[1]); got != 0 {
			t.Errorf("compare(%q, %q) = %d, want 0", pair[0], pair[1], got)
		}
	}
}

func TestValidMavenVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"1.0": true, "1.0-SNAPSHOT": true, "2.3.4.Final": true, "1.0+build.7": true, "r09": true, "1_0~rc": true,
		"": false, ".1": false, "-1": false, "..": false, "1/2": false, `1\2`: false, "1 0": false, "1\x00": false,
		"1%2e": false, "1:0": false, string(make([]byte, 256)): false,
	} {
		if got := ValidMavenVersion(v); got != want {
			t.Errorf("ValidMavenVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzCompareMavenVersions(f *testing.F) {
	for _, s := range []string{"1.0", "1-alpha2snapshot", "2.1.0.1", "1.0.0x", "1--", "..", "-1-", "1a-b.c-2"} {
		f.Add(s, "1.0-SNAPSHOT")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareMavenVersions(a, b), CompareMavenVersions(b, a)
		if sign(ab) != -sign(ba) {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if CompareMavenVersions(a, a) != 0 {
			t.Fatalf("compare(%q, %q) != 0", a, a)
		}
	})
}
