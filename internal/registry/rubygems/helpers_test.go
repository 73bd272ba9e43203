package rubygems

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// testGem describes a .gem a test builds: by default a valid pure-Ruby
// gem, as gem build writes one.
type testGem struct {
	name, version, platform string
	deps                    []string // "runtime NAME OP VERSION" or "development NAME OP VERSION"
	metadata                map[string]string
	summary                 string
	requiredRuby            string // "OP VERSION"
	// spec replaces the generated gemspec YAML.
	spec string
	// entries replaces the generated tar entries (name -> content); a
	// nil value leaves an entry out.
	entries map[string][]byte
	// order of the entries; default metadata.gz, data.tar.gz,
	// checksums.yaml.gz and then the others by name.
	order []string
	// noChecksums leaves checksums.yaml.gz out; badChecksum spoils it.
	noChecksums, badChecksum bool
	// data is data.tar.gz's files (path -> content).
	data map[string]string
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// yaml is the gemspec as gem build writes it.
func (g testGem) yaml() string {
	if g.spec != "" {
		return g.spec
	}
	plat := g.platform
	if plat == "" {
		plat = "ruby"
	}
	summary := g.summary
	if summary == "" {
		summary = "The " + g.name + " gem"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `--- !ruby/object:Gem::Specification
name: %s
version: !ruby/object:Gem::Version
  version: %s
platform: %s
authors:
- Alice
autorequire:
bindir: bin
cert_chain: []
date: 2024-01-02 00:00:00.000000000 Z
`, g.name, g.version, plat)
	if len(g.deps) == 0 {
		b.WriteString("dependencies: []\n")
	} else {
		b.WriteString("dependencies:\n")
		for _, d := range g.deps {
			f := strings.Fields(d)
			fmt.Fprintf(&b, `- !ruby/object:Gem::Dependency
  name: %s
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "%s"
      - !ruby/object:Gem::Version
        version: '%s'
  type: :%s
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - "%s"
      - !ruby/object:Gem::Version
        version: '%s'
`, f[1], f[2], f[3], f[0], f[2], f[3])
		}
	}
	b.WriteString("description:\nemail:\nexecutables: []\nextensions: []\nextra_rdoc_files: []\nfiles:\n- lib/x.rb\nhomepage:\nlicenses:\n- MIT\n")
	if len(g.metadata) == 0 {
		b.WriteString("metadata: {}\n")
	} else {
		b.WriteString("metadata:\n")
		for k, v := range g.metadata {
			fmt.Fprintf(&b, "  %s: %s\n", k, v)
		}
	}
	rr := ">= 0"
	if g.requiredRuby != "" {
		rr = g.requiredRuby
	}
	f := strings.Fields(rr)
	fmt.Fprintf(&b, `post_install_message:
rdoc_options: []
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - "%s"
    - !ruby/object:Gem::Version
      version: '%s'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
requirements: []
rubygems_version: 3.3.15
signing_key:
specification_version: 4
summary: %s
test_files: []
`, f[0], f[1], summary)
	return b.String()
}

// tarOf packs entries in order.
func tarOf(t testing.TB, order []string, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range order {
		body, ok := entries[name]
		if !ok || body == nil {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// build returns the .gem's bytes.
func (g testGem) build(t testing.TB) []byte {
	t.Helper()
	data := g.data
	if data == nil {
		data = map[string]string{"lib/x.rb": "module X; end\n"}
	}
	var names []string
	files := map[string][]byte{}
	for n, c := range data {
		names = append(names, n)
		files[n] = []byte(c)
	}
	entries := map[string][]byte{
		"metadata.gz": gzipOf([]byte(g.yaml())),
		"data.tar.gz": gzipOf(tarOf(t, names, files)),
	}
	if !g.noChecksums {
		s256 := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
		s512 := func(b []byte) string { h := sha512.Sum512(b); return hex.EncodeToString(h[:]) }
		md := entries["metadata.gz"]
		dt := entries["data.tar.gz"]
		sumMD := s256(md)
		if g.badChecksum {
			sumMD = strings.Repeat("0", 64)
		}
		y := fmt.Sprintf("---\nSHA256:\n  metadata.gz: %s\n  data.tar.gz: %s\nSHA512:\n  metadata.gz: %s\n  data.tar.gz: %s\n",
			sumMD, s256(dt), s512(md), s512(dt))
		entries["checksums.yaml.gz"] = gzipOf([]byte(y))
	}
	for k, v := range g.entries {
		entries[k] = v
	}
	order := g.order
	if order == nil {
		order = []string{"metadata.gz", "data.tar.gz", "checksums.yaml.gz"}
		for k := range g.entries {
			if k != "metadata.gz" && k != "data.tar.gz" && k != "checksums.yaml.gz" {
				order = append(order, k)
			}
		}
	}
	return tarOf(t, order, entries)
}
