package oci_test

import (
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
)

func FuzzParseManifest(f *testing.F) {
	im := makeImage("fuzz", map[string]any{"subject": map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": digestOf([]byte("s")), "size": 1}})
	f.Add(oci.MediaTypeOCIManifest, im.manifest)
	f.Add(oci.MediaTypeOCIIndex, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"`+oci.MediaTypeOCIManifest+`","digest":"`+im.digest+`","size":3}]}`))
	f.Add(oci.MediaTypeDockerManifestList, []byte(`{"schemaVersion":2,"mediaType":"`+oci.MediaTypeDockerManifestList+`","manifests":[]}`))
	f.Add("", []byte(`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:00","size":-1}}`))
	f.Add("application/json", []byte(`{"schemaVersion":1,"fsLayers":[{}]}`))
	f.Add("", []byte(`{`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		m, err := oci.ParseManifest(ct, body)
		if err != nil {
			if !strings.Contains(err.Error(), "MANIFEST_INVALID") {
				t.Fatalf("error is not MANIFEST_INVALID: %v", err)
			}
			return
		}
		switch m.MediaType {
		case oci.MediaTypeOCIManifest, oci.MediaTypeDockerManifest:
			if m.Config == nil || m.Config.MediaType == "" || m.Manifests != nil || m.ArtifactType == "" {
				t.Fatalf("image manifest %+v", m)
			}
		case oci.MediaTypeOCIIndex, oci.MediaTypeDockerManifestList:
			if m.Config != nil || m.Layers != nil || !m.IsIndex() {
				t.Fatalf("index %+v", m)
			}
		default:
			t.Fatalf("media type %q", m.MediaType)
		}
		for _, d := range m.References() {
			if !strings.Contains(d, ":") {
				t.Fatalf("reference %q", d)
			}
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"alice/app", "alice/a/b/c", "alice", "Alice/app", "a_b/c", "alice/app--x", "alice//x", "-x/y", strings.Repeat("a/", 200)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, docker bool) {
		typ := packages.TypeContainer
		if docker {
			typ = packages.TypeDocker
		}
		n, err := oci.ParseName(typ, s)
		if err != nil {
			if !strings.Contains(err.Error(), "NAME_INVALID") {
				t.Fatalf("error is not NAME_INVALID: %v", err)
			}
			return
		}
		if n.Full != s || len(s) > 255 || !packages.ValidLogin(n.Ref.Owner) || n.Ref.Name == "" || n.Ref.Type != typ {
			t.Fatalf("name %+v", n)
		}
		if strings.Contains(n.Ref.Name, "..") || strings.HasPrefix(n.Ref.Name, "/") || strings.HasSuffix(n.Ref.Name, "/") || strings.Contains(n.Ref.Name, "//") {
			t.Fatalf("package name %q", n.Ref.Name)
		}
		want := n.Ref.Owner + "/" + n.Ref.Name
		if docker {
			if n.Repository == "" || !strings.HasPrefix(s, n.Repository+"/") {
				t.Fatalf("repository %+v", n)
			}
			want = n.Repository + "/" + n.Ref.Name
		}
		if want != s {
			t.Fatalf("%q reassembles to %q", s, want)
		}
	})
}
