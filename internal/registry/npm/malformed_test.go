package npm

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/packhub/packhub/internal/testenv"
)

// TestMalformedPublish sends broken publish documents: bad base64, wrong
// types, every truncation of a good document. Each is answered 400 in
// npm's {"error": ...} shape, never 500, and leaves no upload behind.
func TestMalformedPublish(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	tok := env.Token("alice", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	tgz := pkgTarball(t, "@alice/m", "1.0.0", nil)
	good := string(pubDoc{name: "@alice/m", version: "1.0.0", tgz: tgz}.build())
	data := base64.StdEncoding.EncodeToString(tgz)
	with := func(old, new string) string {
		t.Helper()
		if !strings.Contains(good, old) {
			t.Fatalf("the document has no %s", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct {
		name, body, msg string
	}{
		{"base64 whose length is not a multiple of 4", `{"_attachments":{"m-1.0.0.tgz":{"data":"AAA"}}}`, "base64"},
		{"one base64 character", `{"name":"@alice/m","_attachments":{"m-1.0.0.tgz":{"data":"A"}}}`, "base64"},
		{"padding inside the data", `{"_attachments":{"m-1.0.0.tgz":{"data":"QQ==QQ=="}}}`, "base64"},
		{"not a base64 character", `{"_attachments":{"m-1.0.0.tgz":{"data":"QQ!="}}}`, "base64"},
		{"an escape that is not base64", `{"_attachments":{"m-1.0.0.tgz":{"data":"QQ\u00e9="}}}`, "base64"},
		{"a real tarball's base64 cut short", with(data, data[:len(data)-1]), "base64"},
		{"a real tarball's base64 with a character more", with(data, data+"Q"), "base64"},
		{"data not a string", `{"_attachments":{"m-1.0.0.tgz":{"data":["QQ=="]}}}`, "base64"},
		{"name not a string", `{"name":["@alice/m"]}`, `"name" must not be a JSON array`},
		{"_id not a string", `{"_id":{},"name":"@alice/m"}`, `"_id" must not be a JSON object`},
		{"_rev not a string", `{"_rev":1}`, `"_rev"`},
		{"access not a string", `{"access":true}`, `"access"`},
		{"dist-tags not an object", with(`"dist-tags":{"latest":"1.0.0"}`, `"dist-tags":["1.0.0"]`), `"dist-tags"`},
		{"dist-tag not a string", with(`"dist-tags":{"latest":"1.0.0"}`, `"dist-tags":{"latest":1}`), `"dist-tags" must not be a JSON number`},
		{"versions not an object", with(`"versions":{`, `"versions":[{`), "versions must be an object"},
		{"manifest not an object", `{"name":"@alice/m","versions":{"1.0.0":"x"},"_attachments":{"m-1.0.0.tgz":{"data":"` + data + `"}}}`, "manifest"},
		{"manifest's dist not an object", with(`"dist":{`, `"dist":"x","x":{`), "dist must not be a JSON string"},
		{"manifest's version not a string", with(`"version":"1.0.0"`, `"version":1`), "version"},
		{"invalid JSON in a manifest", with(`"main":"index.js"`, `"main":index.js`), "malformed"},
		{"invalid JSON in a member dropped", `{"name":"@alice/m","x":[1 2]}`, "malformed"},
		{"attachments not an object", `{"name":"@alice/m","_attachments":"x"}`, "malformed"},
		{"attachment length not a number", with(`"length":`, `"length":"x","l":`), "length"},
		{"attachment length negative", with(`"length":`, `"length":-1,"l":`), "length"},
		{"attachment content type not a string", with(`"content_type":`, `"content_type":1,"c":`), "content_type"},
		{"control character in a string", "{\"name\":\"@alice/\x01m\"}", "malformed"},
		{"bad escape", `{"name":"@alice/\qm"}`, "malformed"},
		{"bad unicode escape in data", `{"_attachments":{"m-1.0.0.tgz":{"data":"\u12"}}}`, "malformed"},
		{"invalid JSON in an attachment member", `{"_attachments":{"m-1.0.0.tgz":{"x":tru}}}`, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			wantError(t, f.do("PUT", "/npm/@alice%2Fm", tok, []byte(c.body)), http.StatusBadRequest, c.msg)
		})
	}
	f.t = t
	for n := range len(good) {
		r := f.do("PUT", "/npm/@alice%2Fm", tok, []byte(good[:n]))
		if r.status != http.StatusBadRequest {
			t.Fatalf("document cut to %d of %d bytes: %d %s", n, len(good), r.status, r.body)
		}
		wantError(t, r, http.StatusBadRequest, "")
	}
	if n, err := env.Blobs.PurgeUploads(context.Background(), env.Clock.Now().Add(24*3600e9)); err != nil || n != 0 {
		t.Fatalf("uploads left behind: %d %v", n, err)
	}
	// The good document itself is accepted.
	if r := f.do("PUT", "/npm/@alice%2Fm", tok, []byte(good)); r.status != http.StatusCreated {
		t.Fatalf("good document: %d %s", r.status, r.body)
	}
}

// TestBodyEndsEarly: a body that ends before its declared length is a
// malformed document, wherever it ends.
func TestBodyEndsEarly(t *testing.T) {
	tgz := pkgTarball(t, "@alice/m", "1.0.0", nil)
	doc := pubDoc{name: "@alice/m", version: "1.0.0", tgz: tgz}.build()
	for _, n := range []int{0, 1, 20, len(doc) / 2, len(doc) - 30, len(doc) - 1} {
		r := io.MultiReader(bytes.NewReader(doc[:n]), iotest.ErrReader(io.ErrUnexpectedEOF))
		_, err := parsePublish(r, docLimits{doc: 1 << 20, member: 1 << 20}, func(_ string, data io.Reader) error {
			_, err := io.Copy(io.Discard, data)
			return err
		})
		var se *syntaxError
		if !errors.As(err, &se) {
			t.Errorf("cut at %d: %v is not a malformed document", n, err)
		}
		if status, _ := errorStatus(err); status != http.StatusBadRequest {
			t.Errorf("cut at %d: status %d", n, status)
		}
	}
}
