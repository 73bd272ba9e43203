package nuget_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/nuget"
)

func TestParseNuspec(t *testing.T) {
	m, err := nuget.ParseNuspec([]byte("\xef\xbb\xbf" + nuspec("Octo.X", " 01.2 ", `<title> T </title>
    <tags> a,b ;c </tags>
    <license type="file">LICENSE.txt</license>
    <requireLicenseAcceptance>true</requireLicenseAcceptance>
    <packageTypes><packageType name="Dependency" /><packageType name="DotnetTool" version="1.0" /></packageTypes>
    <dependencies><dependency id="A" version="1.0-beta.1" /></dependencies>`)))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "Octo.X" || m.Version != "1.2.0" || m.OriginalVersion != "01.2" || m.Title != "T" || strings.Join(m.Tags, "|") != "a|b|c" ||
		m.LicenseFile != "LICENSE.txt" || !m.RequireLicenseAcceptance || len(m.PackageTypes) != 2 || !m.SemVer2 ||
		m.DependencyGroups[0].Dependencies[0].Range != "[1.0.0-beta.1, )" {
		t.Fatalf("manifest: %+v", m)
	}
	for name, doc := range map[string]string{
		"no id":          nuspec("", "1.0", ""),
		"no version":     nuspec("X", "", ""),
		"bad dependency": nuspec("X", "1.0", `<dependencies><dependency id="a b" /></dependencies>`),
		"not a package":  `<other><metadata><id>X</id><version>1.0</version></metadata></other>`,
		"latin-1":        `<?xml version="1.0" encoding="ISO-8859-1"?><package><metadata><id>X</id><version>1.0</version></metadata></package>`,
		"too large":      nuspec("X", "1.0", strings.Repeat(" ", 1<<20)),
	} {
		if _, err := nuget.ParseNuspec([]byte(doc)); packages.KindOf(err) != packages.KindInvalid {
			t.Errorf("%s: %v, want KindInvalid", name, err)
		}
	}
}

// FuzzParseNuspec checks that ParseNuspec never panics and that what it
// accepts has a valid id and a normalised version.
func FuzzParseNuspec(f *testing.F) {
	f.Add([]byte(nuspec("Octo.X", "1.0", "")))
	f.Add([]byte(nuspec("Octo.X", "1.0.0-beta.1+abc", `<dependencies><group targetFramework="net45"><dependency id="A" version="[1.0,2.0)" /></group></dependencies>`)))
	f.Add([]byte(`<package><metadata><id>X</id><version>1</version><license type="expression">MIT</license></metadata></package>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := nuget.ParseNuspec(data)
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("error of kind %v: %v", packages.KindOf(err), err)
			}
			return
		}
		if !nuget.ValidID(m.ID) || m.Version == "" {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// FuzzReadNupkg checks that ReadNupkg never panics, refuses bad input only
// with KindInvalid errors, and keeps its limits.
func FuzzReadNupkg(f *testing.F) {
	f.Add(nupkg(f, "Octo.X", "1.0.0", ""))
	f.Add(nupkg(f, "Octo.X", "1.0.0", "<readme>README.md</readme>", entry{"README.md", []byte("# X")}))
	f.Add(zipOf(f, entry{"a.nuspec", []byte("x")}, entry{"b.nuspec", []byte("y")}))
	f.Add(zipOf(f, entry{"../x", []byte("x")}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := nuget.ReadNupkg(bytes.NewReader(data), int64(len(data)), nuget.ReadLimits{MaxUnpacked: 1 << 20, MaxEntries: 100})
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("error of kind %v: %v", packages.KindOf(err), err)
			}
			return
		}
		if p.Unpacked > 1<<20 || p.Manifest == nil || !strings.EqualFold(strings.TrimSuffix(strings.ToLower(p.NuspecName), ".nuspec"), p.Manifest.ID) {
			t.Fatalf("accepted %+v", p)
		}
	})
}
