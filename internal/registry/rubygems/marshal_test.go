package rubygems

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/testenv"
)

// requireRuby returns the path of ruby, which checks what Packhub writes
// against Ruby's own reader. A missing ruby fails the test in CI.
func requireRuby(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ruby")
	if err != nil {
		testenv.Missing(t, "ruby is not installed; scripts/install-test-deps.sh installs it")
	}
	return p
}

// runRuby runs a Ruby script that reads the file at ARGV[0].
func runRuby(t *testing.T, script string, data []byte) string {
	t.Helper()
	ruby := requireRuby(t)
	f := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ruby, "-e", script, f).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestMarshalLong(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "00"}, {1, "06"}, {122, "7f"}, {123, "017b"}, {255, "01ff"}, {256, "020001"},
		{-1, "fa"}, {-123, "80"}, {-124, "ff84"}, {-256, "ff00"}, {-257, "fefffe"},
		{1 << 30, "0400000040"}, {-(1 << 31), "fc00000080"},
	} {
		w := &marshalWriter{symbols: map[string]int{}}
		w.long(tc.n)
		if got := hex.EncodeToString(w.buf.Bytes()); got != tc.want {
			t.Errorf("long(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// TestMarshalMatchesRuby compares Packhub's bytes with Ruby's
// Marshal.dump of the same values.
func TestMarshalMatchesRuby(t *testing.T) {
	for _, tc := range []struct {
		ruby string
		v    rbValue
	}{
		{`nil`, rbNil{}},
		{`[true, false]`, rbArray{rbBool(true), rbBool(false)}},
		{`[0, 1, -1, 122, 123, -124, 300, -300, 65536, 1073741823, -1073741824, 1073741824, -1073741825, 4611686018427387904]`,
			rbArray{rbInt(0), rbInt(1), rbInt(-1), rbInt(122), rbInt(123), rbInt(-124), rbInt(300), rbInt(-300), rbInt(65536),
				rbInt(1073741823), rbInt(-1073741824), rbInt(1073741824), rbInt(-1073741825), rbInt(4611686018427387904)}},
		{`["a", "é", "".b, "x".b]`, rbArray{str("a"), str("é"), rbString{Binary: true}, rbString{S: "x", Binary: true}}},
		{`[:a, :b, :a, :b]`, rbArray{rbSymbol("a"), rbSymbol("b"), rbSymbol("a"), rbSymbol("b")}},
		{`{:name => "x", :number => "1.0", :deps => []}`, rbHash{{rbSymbol("name"), str("x")}, {rbSymbol("number"), str("1.0")}, {rbSymbol("deps"), rbArray{}}}},
		{`Gem::Version.new("1.2.3")`, versionValue("1.2.3")},
		{`Gem::Requirement.new(">= 1.0", "< 2")`, requirementValue([][2]string{{">=", "1.0"}, {"<", "2"}})},
		{`["x", Gem::Version.new("1.0"), "ruby"]`, tupleValue(&gemSpec{Name: "x", Version: "1.0", Platform: "ruby"})},
	} {
		want := runRuby(t, `require "rubygems"; print Marshal.dump(`+tc.ruby+`).unpack1("H*")`, nil)
		if got := hex.EncodeToString(marshal(tc.v)); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.ruby, got, want)
		}
	}
}

// TestMarshalTimeRuby loads a Time Packhub wrote.
func TestMarshalTimeRuby(t *testing.T) {
	at := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	got := runRuby(t, `t = Marshal.load(File.binread(ARGV[0])); print t.utc?, " ", t.strftime("%Y-%m-%d %H:%M:%S.%6N")`, marshal(rbTime(at)))
	if want := "true 2024-02-29 13:14:15.123456"; got != want {
		t.Fatalf("Ruby read %q, want %q", got, want)
	}
}

// TestMarshalSpecRuby loads a quick gemspec as gem install does and reads
// its fields back.
func TestMarshalSpecRuby(t *testing.T) {
	s := &gemSpec{
		Name: "nokogiri", Version: "1.2.pre.rc1", Platform: "x86_64-linux", OriginalPlatform: "x86_64-linux",
		Summary: "XML – parser", Description: "A longer text", Authors: []string{"A", "B"}, Email: []string{"a@example.com"},
		Homepage: "https://example.com", Licenses: []string{"MIT"}, Metadata: map[string]string{"source_code_uri": "https://example.com/src"},
		Dependencies: []gemDep{
			{Name: "racc", Type: "runtime", Requirements: [][2]string{{"~>", "1.4"}}},
			{Name: "rake", Type: "development", Requirements: [][2]string{{">=", "0"}}},
		},
		RequiredRuby: [][2]string{{">=", "2.7"}}, RequiredRubyGems: [][2]string{{">", "1.3.1"}},
		RubyGemsVersion: "3.3.15", SpecificationVersion: 4, Date: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
	}
	script := `require "rubygems"
s = Marshal.load(File.binread(ARGV[0]))
puts s.full_name, s.platform.class, s.platform.cpu, s.platform.os, s.original_platform, s.summary
puts s.authors.join(","), s.email, s.homepage, s.metadata.inspect
puts s.runtime_dependencies.map(&:to_s).join(";"), s.development_dependencies.map(&:to_s).join(";")
puts s.required_ruby_version, s.required_rubygems_version, s.date.strftime("%F"), s.version.prerelease?, s.rubygems_version
puts Gem::Platform.match_spec?(s)`
	got := runRuby(t, script, marshal(specValue(s)))
	want := strings.Join([]string{
		"nokogiri-1.2.pre.rc1-x86_64-linux", "Gem::Platform", "x86_64", "linux", "x86_64-linux", "XML – parser",
		"A,B", "a@example.com", "https://example.com", `{"source_code_uri"=>"https://example.com/src"}`,
		"racc (~> 1.4)", "rake (>= 0, development)",
		">= 2.7", "> 1.3.1", "2024-01-02", "true", "3.3.15",
		"true",
	}, "\n")
	if got != want {
		t.Fatalf("Ruby read:\n%s\nwant:\n%s", got, want)
	}
}

// TestMarshalRoundTrip reads back what the writer wrote, with the test's
// own reader, for values of every kind.
func TestMarshalRoundTrip(t *testing.T) {
	v := rbArray{
		rbNil{}, rbBool(true), rbInt(-70000), rbInt(1 << 40), str("naïve"), rbString{S: "\x00\xff", Binary: true},
		rbSymbol("s"), rbSymbol("s"), rbHash{{rbSymbol("k"), rbArray{}}},
		rbObject{Class: "Gem::Platform", Ivars: []rbPair{{rbSymbol("@cpu"), str("x86")}}},
		versionValue("1.0"), rbTime(time.Unix(0, 0)),
	}
	got, err := unmarshal(marshal(v))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, normalize(v)) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, normalize(v))
	}
}

// FuzzMarshal builds values from the fuzzer's bytes, writes them and reads
// them back: the writer must produce a stream that reads back to the same
// value.
func FuzzMarshal(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("\x05\x03abc\x02\x07\x01\x04"))
	f.Add([]byte("\x06\x02\x03x\x03y\x08\x01\x09"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &valueGen{data: data}
		v := g.value(0)
		b := marshal(v)
		got, err := unmarshal(b)
		if err != nil {
			t.Fatalf("read back %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, normalize(v)) {
			t.Fatalf("round trip of %#v gave %#v", v, got)
		}
	})
}

// valueGen turns bytes into a value tree.
type valueGen struct {
	data []byte
	pos  int
}

func (g *valueGen) next() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return b
}

func (g *valueGen) text() string {
	n := int(g.next() % 8)
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, g.next())
	}
	return string(b)
}

func (g *valueGen) value(depth int) rbValue {
	k := g.next() % 11
	if depth > 4 && k >= 5 {
		k = 0
	}
	switch k {
	case 1:
		return rbBool(g.next()%2 == 0)
	case 2:
		var n int64
		for i := 0; i < 8; i++ {
			n = n<<8 | int64(g.next())
		}
		return rbInt(n)
	case 3:
		return rbString{S: g.text(), Binary: true}
	case 4:
		return rbSymbol(g.text())
	case 5, 6:
		n := int(g.next() % 4)
		a := rbArray{}
		for i := 0; i < n; i++ {
			a = append(a, g.value(depth+1))
		}
		return a
	case 7:
		n := int(g.next() % 3)
		h := rbHash{}
		for i := 0; i < n; i++ {
			h = append(h, rbPair{g.value(depth + 1), g.value(depth + 1)})
		}
		return h
	case 8:
		return rbObject{Class: "C" + g.text(), Ivars: []rbPair{{rbSymbol("@" + g.text()), g.value(depth + 1)}}}
	case 9:
		return rbUserMarshal{Class: "U" + g.text(), Data: g.value(depth + 1)}
	case 10:
		return rbUserDef{Class: "D" + g.text(), Data: []byte(g.text())}
	}
	return rbNil{}
}

// Values as the test reader returns them.
type (
	readObject struct {
		Class string
		Ivars []any
	}
	readUser struct {
		Kind  byte
		Class string
		Data  any
	}
	readString struct {
		S    string
		UTF8 bool
	}
	readSymbol string
)

// normalize turns a written value into what the reader gives for it.
func normalize(v rbValue) any {
	switch x := v.(type) {
	case rbNil:
		return nil
	case rbBool:
		return bool(x)
	case rbInt:
		return int64(x)
	case rbString:
		return readString{S: x.S, UTF8: !x.Binary}
	case rbSymbol:
		return readSymbol(x)
	case rbArray:
		out := []any{}
		for _, e := range x {
			out = append(out, normalize(e))
		}
		return out
	case rbHash:
		out := []any{}
		for _, p := range x {
			out = append(out, normalize(p.Key), normalize(p.Value))
		}
		return readObject{Class: "Hash", Ivars: out}
	case rbObject:
		out := []any{}
		for _, p := range x.Ivars {
			out = append(out, normalize(p.Key), normalize(p.Value))
		}
		return readObject{Class: x.Class, Ivars: out}
	case rbUserMarshal:
		return readUser{Kind: 'U', Class: x.Class, Data: normalize(x.Data)}
	case rbUserDef:
		return readUser{Kind: 'u', Class: x.Class, Data: string(x.Data)}
	}
	panic(fmt.Sprintf("unknown value %T", v))
}

// unmarshal is a reader of the subset of Marshal the writer writes.
func unmarshal(b []byte) (any, error) {
	r := &marshalReader{b: b}
	if r.byte() != 4 || r.byte() != 8 {
		return nil, errors.New("bad version")
	}
	v := r.value()
	if r.err == nil && r.pos != len(b) {
		r.err = fmt.Errorf("%d bytes left over", len(b)-r.pos)
	}
	return v, r.err
}

type marshalReader struct {
	b   []byte
	pos int
	err error
	sym []string
}

func (r *marshalReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *marshalReader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail("unexpected end at %d", r.pos)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *marshalReader) long() int64 {
	c := int8(r.byte())
	switch {
	case c == 0:
		return 0
	case c > 4:
		return int64(c) - 5
	case c < -4:
		return int64(c) + 5
	case c > 0:
		var x int64
		for i := 0; i < int(c); i++ {
			x |= int64(r.byte()) << (8 * i)
		}
		return x
	default:
		x := int64(-1)
		for i := 0; i < int(-c); i++ {
			x &^= 0xff << (8 * i)
			x |= int64(r.byte()) << (8 * i)
		}
		return x
	}
}

func (r *marshalReader) bytes() []byte {
	n := r.long()
	if n < 0 || int64(r.pos)+n > int64(len(r.b)) {
		r.fail("bad length %d at %d", n, r.pos)
		return nil
	}
	out := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return out
}

func (r *marshalReader) symbol() string {
	switch c := r.byte(); c {
	case ':':
		s := string(r.bytes())
		r.sym = append(r.sym, s)
		return s
	case ';':
		i := r.long()
		if i < 0 || int(i) >= len(r.sym) {
			r.fail("bad symlink %d", i)
			return ""
		}
		return r.sym[i]
	default:
		r.fail("expected a symbol, got %q", c)
		return ""
	}
}

func (r *marshalReader) value() any {
	if r.err != nil {
		return nil
	}
	switch c := r.byte(); c {
	case '0':
		return nil
	case 'T':
		return true
	case 'F':
		return false
	case 'i':
		return r.long()
	case 'l':
		sign := r.byte()
		n := r.long()
		var x int64
		for i := 0; i < int(2*n) && r.err == nil; i++ {
			x |= int64(r.byte()) << (8 * i)
		}
		if sign == '-' {
			x = -x
		}
		return x
	case '"':
		return readString{S: string(r.bytes())}
	case 'I':
		if r.byte() != '"' {
			r.fail("I without a string")
			return nil
		}
		s := string(r.bytes())
		if r.long() != 1 || r.symbol() != "E" || r.byte() != 'T' {
			r.fail("bad encoding")
		}
		return readString{S: s, UTF8: true}
	case ':', ';':
		r.pos--
		return readSymbol(r.symbol())
	case '[':
		n := r.long()
		out := []any{}
		for i := int64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value())
		}
		return out
	case '{':
		n := r.long()
		out := []any{}
		for i := int64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value(), r.value())
		}
		return readObject{Class: "Hash", Ivars: out}
	case 'o':
		cls := r.symbol()
		n := r.long()
		out := []any{}
		for i := int64(0); i < n && r.err == nil; i++ {
			out = append(out, readSymbol(r.symbol()), r.value())
		}
		return readObject{Class: cls, Ivars: out}
	case 'U':
		cls := r.symbol()
		return readUser{Kind: 'U', Class: cls, Data: r.value()}
	case 'u':
		cls := r.symbol()
		return readUser{Kind: 'u', Class: cls, Data: string(r.bytes())}
	default:
		r.fail("unknown type %q at %d", c, r.pos-1)
		return nil
	}
}
