package npm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

func collect(t testing.TB) (attachFunc, map[string][]byte) {
	got := map[string][]byte{}
	return func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		got[name] = b
		return nil
	}, got
}

func TestParsePublish(t *testing.T) {
	tgz := pkgTarball(t, "@octo/hello", "1.0.0", nil)
	doc := pubDoc{name: "@octo/hello", version: "1.0.0", tgz: tgz}.build()
	attach, got := collect(t)
	d, err := parsePublish(bytes.NewReader(doc), docLimits{doc: 1 << 20}, attach)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "@octo/hello" || d.DistTags["latest"] != "1.0.0" || len(d.Versions) != 1 {
		t.Fatalf("doc %+v", d)
	}
	if !bytes.Equal(got["@octo/hello-1.0.0.tgz"], tgz) {
		t.Fatal("attachment data differs")
	}
	if info := d.Attachments["@octo/hello-1.0.0.tgz"]; !info.HasData || info.Length != int64(len(tgz)) || info.ContentType != "application/octet-stream" {
		t.Fatalf("attachment info %+v", info)
	}

	// Escaped slashes, \u escapes, whitespace, attachments first, base64
	// with line breaks: all decode to the same bytes.
	data := base64.StdEncoding.EncodeToString(tgz)
	esc := strings.ReplaceAll(data, "/", `\/`)
	esc = strings.Replace(esc, "A", `\u0041`, 3)
	esc = esc[:10] + `\n` + esc[10:]
	odd := "\n{ \"_attachments\" : { \"x.tgz\" : { \"length\" : " + itoa(len(tgz)) + ", \"data\" : \"" + esc + "\" } } ,\n \"name\" : \"@octo\\/hello\" }\n"
	attach, got = collect(t)
	d, err = parsePublish(strings.NewReader(odd), docLimits{doc: 1 << 20}, attach)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "@octo/hello" || !bytes.Equal(got["x.tgz"], tgz) {
		t.Fatalf("odd document: %+v", d)
	}

	// The document limit counts everything but attachment data.
	if _, err := parsePublish(bytes.NewReader(doc), docLimits{doc: 200}, nil); !errors.Is(err, errDocTooLarge) {
		t.Fatalf("small limit: %v", err)
	}
	big := `{"name":"` + strings.Repeat("x", 1000) + `"}`
	if _, err := parsePublish(strings.NewReader(big), docLimits{doc: 500}, nil); !errors.Is(err, errDocTooLarge) {
		t.Fatalf("big member: %v", err)
	}
	if _, err := parsePublish(strings.NewReader(`{"_attachments":{"a":{"data":"`+strings.Repeat("QUJD", 1000)+`"}}}`), docLimits{doc: 100, member: 20}, nil); err != nil {
		t.Fatalf("attachment data counted against the limit: %v", err)
	}
	// The member limit bounds each version's manifest, each other member
	// and each member name, as sent.
	for _, c := range []struct{ doc, msg string }{
		{`{"versions":{"1.0.0":{"readme":"` + strings.Repeat("r", 200) + `"}}}`, `manifest of version "1.0.0"`},
		{`{"readme":"` + strings.Repeat("r", 200) + `"}`, `"readme" member`},
		{`{"` + strings.Repeat("k", 200) + `":1}`, "member name"},
		{`{"versions":{"` + strings.Repeat("1", 200) + `":{}}}`, "member name"},
		{`{"_attachments":{"a.tgz":{"content_type":"` + strings.Repeat("c", 200) + `"}}}`, `"content_type" of attachment`},
	} {
		_, err := parsePublish(strings.NewReader(c.doc), docLimits{doc: 1 << 20, member: 100}, nil)
		if packages.KindOf(err) != packages.KindTooLarge || !strings.Contains(packages.PublicMessage(err, ""), c.msg) {
			t.Errorf("%.40s…: %v, want too large (%s)", c.doc, err, c.msg)
		}
	}
	if d, err := parsePublish(strings.NewReader(`{"versions":{"1.0.0":{"readme":"`+strings.Repeat("r", 80)+`"}},"x":"`+strings.Repeat("x", 90)+`"}`), docLimits{doc: 1 << 20, member: 100}, nil); err != nil || len(d.Versions["1.0.0"]) != 93 {
		t.Fatalf("members under the limit: %v", err)
	}
	// Later duplicates replace earlier members, as encoding/json does.
	if d, err := parsePublish(strings.NewReader(`{"name":"a","dist-tags":{"x":"1"},"name":"b","dist-tags":{"y":"2"},"versions":{"1":{}},"versions":{"2":{},"2":{"a":1}}}`), docLimits{}, nil); err != nil ||
		d.Name != "b" || len(d.DistTags) != 1 || d.DistTags["y"] != "2" || len(d.Versions) != 1 || string(d.Versions["2"]) != `{"a":1}` {
		t.Fatalf("duplicates: %+v %v", d, err)
	}

	for _, bad := range []string{
		``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":tru}`, `{"a":"x` + "\x01" + `"}`,
		`{"_attachments":[]}`, `{"_attachments":{"a":1}}`, `{"_attachments":{"a":{"data":"QQ==\x"}}}`,
		`{"_attachments":{"a":{"length":x}}}`, `{} {}`, `{"a":[1,2}`, `{"a":{"b":1]}`,
		`{"_attachments":{"a":{"data":"\u00zz"}}}`, `{"_attachments":{"a":{"data":"QQ==`,
		`{"name":1}`, `{"dist-tags":{"latest":1}}`, `{"versions":[]}`,
	} {
		if _, err := parsePublish(strings.NewReader(bad), docLimits{doc: 1 << 20}, nil); err == nil {
			t.Errorf("parsePublish(%q) succeeded", bad)
		} else {
			var se *syntaxError
			if !errors.As(err, &se) {
				t.Errorf("parsePublish(%q): %v is not a syntax error", bad, err)
			}
		}
	}
	for _, ok := range []string{`{}`, ` {"_attachments":null}`, `{"_attachments":{}}`, `{"a":[{"b":"}]"}],"c":-1.5e3,"d":null}`} {
		if _, err := parsePublish(strings.NewReader(ok), docLimits{doc: 1 << 20}, nil); err != nil {
			t.Errorf("parsePublish(%q): %v", ok, err)
		}
	}
	// An attachment callback that stops early leaves the rest skipped.
	d, err = parsePublish(bytes.NewReader(doc), docLimits{doc: 1 << 20}, func(string, io.Reader) error { return nil })
	if err != nil || d.Name != "@octo/hello" {
		t.Fatalf("early stop: %v", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestReadTarballManifest(t *testing.T) {
	m, _, err := readTarballManifest(bytes.NewReader(pkgTarball(t, "@o/n", "1.2.3", nil)), 0)
	if err != nil || m.Name != "@o/n" || m.Version != "1.2.3" {
		t.Fatalf("%+v %v", m, err)
	}
	// Another top-level folder is accepted; nested package.json files are not the package's.
	tgz := makeTarball(t, map[string]string{
		"node/sub/package.json": `{"name":"wrong","version":"0.0.0"}`,
		"node/package.json":     `{"name":"right","version":"1.0.0"}`,
	})
	if m, _, err := readTarballManifest(bytes.NewReader(tgz), 0); err != nil || m.Name != "right" {
		t.Fatalf("%+v %v", m, err)
	}
	for name, tgz := range map[string][]byte{
		"not gzip":   []byte("hello"),
		"no json":    makeTarball(t, map[string]string{"package/index.js": "x"}),
		"bad json":   makeTarball(t, map[string]string{"package/package.json": "{"}),
		"root level": makeTarball(t, map[string]string{"package.json": `{"name":"x","version":"1.0.0"}`}),
	} {
		if _, _, err := readTarballManifest(bytes.NewReader(tgz), 0); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The unpacked limit stops a search through a large archive.
	big := makeTarball(t, map[string]string{"a/big": strings.Repeat("x", 1<<20), "package/package.json": `{"name":"x","version":"1.0.0"}`})
	if _, _, err := readTarballManifest(bytes.NewReader(big), 64<<10); err == nil {
		t.Error("limit not applied")
	}
}

func TestSemver(t *testing.T) {
	for _, v := range []string{"1.0.0", "0.0.1-alpha.1", "1.2.3+build.5", "10.20.30-rc.1+x"} {
		if _, ok := parseSemver(v); !ok {
			t.Errorf("%s invalid", v)
		}
	}
	for _, v := range []string{"", "1", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+", "1.0.0-a..b", "1.0.0 "} {
		if _, ok := parseSemver(v); ok {
			t.Errorf("%s valid", v)
		}
	}
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"}
	for i := 1; i < len(order); i++ {
		a, _ := parseSemver(order[i-1])
		b, _ := parseSemver(order[i])
		if a.compare(b) != -1 || b.compare(a) != 1 {
			t.Errorf("%s < %s", order[i-1], order[i])
		}
	}
	if got := highestVersion([]string{"1.0.0", "3.0.0-beta", "2.0.0", "x"}); got != "2.0.0" {
		t.Errorf("highest %s", got)
	}
	if got := highestVersion([]string{"1.0.0-a", "1.0.0-b"}); got != "1.0.0-b" {
		t.Errorf("highest pre-release %s", got)
	}
}

func TestRepositoryName(t *testing.T) {
	for in, want := range map[string]string{
		`"octo/hello"`:                                         "octo/hello",
		`"github:octo/hello"`:                                  "octo/hello",
		`"https://github.com/octo/hello"`:                      "octo/hello",
		`"git+https://github.com/octo/hello.git"`:              "octo/hello",
		`"git@github.com:octo/hello.git"`:                      "octo/hello",
		`{"type":"git","url":"git+http://h/p/octo/hello.git"}`: "octo/hello",
		`{"type":"git","url":"http://h/x/octo/hello.git"}`:     "",
		`"https://github.com/octo/hello/tree/main"`:            "",
		`"hello"`: "",
		`12`:      "",
		`""`:      "",
	} {
		if got := repositoryName(json.RawMessage(in), "/p"); got != want {
			t.Errorf("repositoryName(%s) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParsePublish(f *testing.F) {
	tgz := pkgTarball(f, "@octo/hello", "1.0.0", nil)
	f.Add(pubDoc{name: "@octo/hello", version: "1.0.0", tgz: tgz}.build())
	f.Add([]byte(`{"name":"@o/n","versions":{"1.0.0":{"deprecated":"x"}},"dist-tags":{"latest":"1.0.0"}}`))
	f.Add([]byte(`{"_attachments":{"a":{"data":"QUJD\/\u0041==","length":3}}}`))
	f.Add([]byte(`{"a":[{"b":"}]\""}],"c":-1.5e3,"d":null,"e":true}`))
	f.Add([]byte(`{"_attachments":{"m-1.0.0.tgz":{"data":"AAA"}}}`))
	f.Add([]byte(`{"_attachments":{"m-1.0.0.tgz":{"data":"QQ==QQ==","length":"x","content_type":1}}}`))
	f.Add([]byte(`{"name":["x"],"_id":{},"_rev":1,"access":true,"dist-tags":{"latest":1},"versions":{"1.0.0":"x"}}`))
	f.Add([]byte(`{"versions":{"1.0.0":{"readme":"` + strings.Repeat("r", 300) + `"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var attached int
		d, err := parsePublish(bytes.NewReader(data), docLimits{doc: 1 << 16, member: 256}, func(name string, r io.Reader) error {
			attached++
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			// Whatever is wrong with a document is the client's: 400 or 413.
			if status, _ := errorStatus(err); status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("parsePublish(%q): %v answers %d", data, err, status)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		// Members match exactly, and a later duplicate wins.
		var members map[string]json.RawMessage
		var name string
		var tags map[string]string
		if json.Unmarshal(data, &members) == nil && json.Unmarshal(members["name"], &name) == nil && json.Unmarshal(members["dist-tags"], &tags) == nil &&
			(name != d.Name || len(tags) != len(d.DistTags)) {
			t.Fatalf("parsed %q %v, encoding/json %q %v", d.Name, d.DistTags, name, tags)
		}
		if attached > len(d.Attachments)+16 {
			t.Fatalf("%d attachments streamed, %d recorded", attached, len(d.Attachments))
		}
	})
}

func FuzzReadTarballManifest(f *testing.F) {
	f.Add(pkgTarball(f, "@o/n", "1.0.0", nil))
	f.Add(makeTarball(f, map[string]string{"x/package.json": `{"name":1}`}))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, raw, err := readTarballManifest(bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		if m == nil || !json.Valid(raw) {
			t.Fatalf("manifest %v, raw %q", m, raw)
		}
	})
}
