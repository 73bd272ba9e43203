package rubygems

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"reflect"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

var testLimits = gemLimits{Metadata: 1 << 20, Data: 16 << 20, Entry: 4 << 20}

func TestReadGem(t *testing.T) {
	g := testGem{name: "hello", version: "1.0.0", deps: []string{"runtime rack >= 2.0", "development rake ~> 13.0"},
		metadata: map[string]string{"github_repo": "ssh://github.com/alice/hello"}, requiredRuby: ">= 2.7"}
	spec, err := readGem(bytes.NewReader(g.build(t)), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "hello" || spec.Version != "1.0.0" || spec.Platform != "ruby" || spec.fullName() != "hello-1.0.0" {
		t.Fatalf("spec %+v", spec)
	}
	wantDeps := []gemDep{
		{Name: "rack", Type: "runtime", Requirements: [][2]string{{">=", "2.0"}}},
		{Name: "rake", Type: "development", Requirements: [][2]string{{"~>", "13.0"}}},
	}
	if !reflect.DeepEqual(spec.Dependencies, wantDeps) {
		t.Fatalf("dependencies %+v", spec.Dependencies)
	}
	if !reflect.DeepEqual(spec.RequiredRuby, [][2]string{{">=", "2.7"}}) || spec.Metadata["github_repo"] == "" {
		t.Fatalf("spec %+v", spec)
	}
	if got := infoLine(spec); got != "1.0.0 rack:>= 2.0|checksum:,ruby:>= 2.7" {
		t.Fatalf("info line %q", got)
	}

	plat, err := readGem(bytes.NewReader(testGem{name: "native", version: "2.0-rc1", platform: "x86_64-linux", noChecksums: true}.build(t)), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if plat.fullName() != "native-2.0.pre.rc1-x86_64-linux" {
		t.Fatalf("full name %q", plat.fullName())
	}
}

// TestReadGemRefuses: every bad gem gets an error of a client kind, never
// an internal one.
func TestReadGemRefuses(t *testing.T) {
	good := testGem{name: "hello", version: "1.0.0"}
	valid := good.build(t)
	bomb := func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write([]byte("--- !ruby/object:Gem::Specification\nname: x\ndescription: \""))
		zw.Write(bytes.Repeat([]byte("A"), 8<<20))
		zw.Close()
		return buf.Bytes()
	}()
	dataWith := func(hdr tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&hdr)
		tw.Write(make([]byte, hdr.Size))
		tw.Close()
		return gzipOf(buf.Bytes())
	}
	for _, tc := range []struct {
		name string
		gem  []byte
		kind packages.Kind
		msg  string
	}{
		{"empty", nil, packages.KindInvalid, "no metadata.gz"},
		{"not a tar", []byte(strings.Repeat("garbage!", 200)), packages.KindInvalid, "not a tar archive"},
		{"truncated", valid[:len(valid)/2], packages.KindInvalid, "truncated"},
		{"truncated header", valid[:700], packages.KindInvalid, ""},
		{"dot dot", testGem{name: "x", version: "1", entries: map[string][]byte{"../evil": []byte("x")}}.build(t), packages.KindInvalid, `".."`},
		{"absolute", testGem{name: "x", version: "1", entries: map[string][]byte{"/etc/passwd": []byte("x")}}.build(t), packages.KindInvalid, "absolute"},
		{"data dot dot", testGem{name: "x", version: "1", noChecksums: true, entries: map[string][]byte{
			"data.tar.gz": dataWith(tar.Header{Name: "lib/../../evil.rb", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644})}}.build(t), packages.KindInvalid, `".."`},
		{"data symlink out", testGem{name: "x", version: "1", noChecksums: true, entries: map[string][]byte{
			"data.tar.gz": dataWith(tar.Header{Name: "lib/x", Typeflag: tar.TypeSymlink, Linkname: "../../../etc/passwd", Mode: 0o777})}}.build(t), packages.KindInvalid, "points out"},
		{"gzip bomb", testGem{name: "x", version: "1", noChecksums: true, entries: map[string][]byte{"metadata.gz": bomb}}.build(t), packages.KindTooLarge, "unpacks to more than"},
		{"metadata not gzip", testGem{name: "x", version: "1", noChecksums: true, entries: map[string][]byte{"metadata.gz": []byte("plain")}}.build(t), packages.KindInvalid, "not gzipped"},
		{"no data", testGem{name: "x", version: "1", noChecksums: true, entries: map[string][]byte{"data.tar.gz": nil}}.build(t), packages.KindInvalid, "no data.tar.gz"},
		{"old format", testGem{name: "x", version: "1", entries: map[string][]byte{"metadata": []byte("x")}, order: []string{"metadata"}}.build(t), packages.KindInvalid, "old format"},
		{"entry over the limit", testGem{name: "x", version: "1", entries: map[string][]byte{"big.bin": make([]byte, 5<<20)}}.build(t), packages.KindTooLarge, "larger than"},
		{"bad checksum", testGem{name: "x", version: "1", badChecksum: true}.build(t), packages.KindInvalid, "checksum of metadata.gz does not match"},
		{"checksum of missing entry", testGem{name: "x", version: "1", entries: map[string][]byte{"checksums.yaml.gz": gzipOf([]byte("SHA256:\n  other.gz: 00\n"))}}.build(t), packages.KindInvalid, "does not have"},
		{"duplicate entry", testGem{name: "x", version: "1", order: []string{"metadata.gz", "metadata.gz", "data.tar.gz"}}.build(t), packages.KindInvalid, "twice"},
		{"bad name", testGem{name: "a b", version: "1"}.build(t), packages.KindInvalid, "not a valid gem name"},
		{"bad version", testGem{name: "x", version: "1..0"}.build(t), packages.KindInvalid, "not a valid version"},
		{"alias", testGem{spec: "--- !ruby/object:Gem::Specification\nname: &a x\nversion: *a\n"}.build(t), packages.KindInvalid, "anchors"},
		{"object tag", testGem{spec: "--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\nsummary: !ruby/object:ERB\n  src: system('id')\n"}.build(t), packages.KindInvalid, `"!ruby/object:ERB"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readGem(bytes.NewReader(tc.gem), testLimits)
			if err == nil {
				t.Fatal("accepted")
			}
			if k := packages.KindOf(err); k != tc.kind {
				t.Fatalf("kind %v, want %v: %v", k, tc.kind, err)
			}
			if !strings.Contains(packages.PublicMessage(err, ""), tc.msg) {
				t.Fatalf("message %q does not say %q", packages.PublicMessage(err, ""), tc.msg)
			}
		})
	}
}

// FuzzReadGem: any bytes are a gem or a client error, never a panic or an
// internal error.
func FuzzReadGem(f *testing.F) {
	f.Add(testGem{name: "hello", version: "1.0.0", deps: []string{"runtime rack >= 2.0"}}.build(f))
	f.Add(testGem{name: "n", version: "1", platform: "x86_64-linux", noChecksums: true}.build(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := readGem(bytes.NewReader(b), gemLimits{Metadata: 1 << 16, Data: 1 << 20, Entry: 1 << 20})
		if err != nil {
			if k := packages.KindOf(err); k != packages.KindInvalid && k != packages.KindTooLarge {
				t.Fatalf("kind %v: %v", k, err)
			}
			return
		}
		if !validGemName(spec.Name) || spec.Version == "" || spec.Platform == "" {
			t.Fatalf("accepted spec %+v", spec)
		}
	})
}
