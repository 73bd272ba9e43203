package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types: the OCI ones from the image spec, Docker's (which
// the image spec does not name) here.
const (
	MediaTypeOCIManifest        = v1.MediaTypeImageManifest
	MediaTypeOCIIndex           = v1.MediaTypeImageIndex
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeOCIEmpty           = v1.MediaTypeEmptyJSON
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	// The image spec deprecates non-distributable layers but registries
	// still meet them.
	mediaTypeOCINondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar"
)

// annotationSource is the annotation (and label) that links an image to a
// repository.
const annotationSource = v1.AnnotationSource

// Descriptor points at content by digest.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Platform     json.RawMessage   `json:"platform,omitempty"`
}

// Manifest is a parsed image manifest or index, of the OCI or the Docker
// schema 2 kind.
type Manifest struct {
	MediaType string
	// ArtifactType is what the referrers API reports: the artifactType
	// field, or for an image manifest without one, the config's media type.
	ArtifactType string
	Config       *Descriptor  // image manifests
	Layers       []Descriptor // image manifests
	Manifests    []Descriptor // indexes
	Subject      *Descriptor
	Annotations  map[string]string
}

// IsIndex reports whether m lists other manifests.
func (m *Manifest) IsIndex() bool {
	return m.MediaType == MediaTypeOCIIndex || m.MediaType == MediaTypeDockerManifestList
}

// rawManifest is the union of the manifest kinds' fields.
type rawManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *Descriptor       `json:"config"`
	Layers        *[]Descriptor     `json:"layers"`
	Manifests     *[]Descriptor     `json:"manifests"`
	Subject       *Descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
	FSLayers      json.RawMessage   `json:"fsLayers"` // Docker schema 1
}

func invalidManifest(format string, args ...any) *regError {
	return errorf(codeManifestInvalid, "manifest invalid: %s", fmt.Sprintf(format, args...))
}

// supportedManifest reports whether mt is a manifest media type the
// registry stores.
func supportedManifest(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// ParseManifest parses and checks a manifest pushed with contentType. The
// media type comes from the document's mediaType field, else from the
// Content-Type; the two must agree when both name a manifest type. Errors
// are MANIFEST_INVALID registry errors.
func ParseManifest(contentType string, body []byte) (*Manifest, error) {
	ct := ""
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err == nil {
			ct = mt
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalidManifest("not a JSON object")
	}
	var raw rawManifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return nil, invalidManifest("malformed JSON: %v", err)
	}
	if dec.More() {
		return nil, invalidManifest("trailing data after the JSON object")
	}
	if len(raw.FSLayers) > 0 {
		return nil, invalidManifest("Docker image manifest schema 1 is not supported")
	}
	if raw.SchemaVersion == nil || *raw.SchemaVersion != 2 {
		return nil, invalidManifest("schemaVersion must be 2")
	}
	mt := raw.MediaType
	switch {
	case mt == "" && supportedManifest(ct):
		mt = ct
	case mt == "" && raw.Manifests != nil:
		mt = MediaTypeOCIIndex
	case mt == "" && raw.Config != nil:
		mt = MediaTypeOCIManifest
	case mt != "" && supportedManifest(ct) && ct != mt:
		return nil, invalidManifest("mediaType %q does not match Content-Type %q", mt, ct)
	}
	if !supportedManifest(mt) {
		return nil, invalidManifest("unsupported manifest media type %q", mt)
	}
	m := &Manifest{MediaType: mt, Annotations: raw.Annotations}
	if raw.Subject != nil {
		if mt != MediaTypeOCIManifest && mt != MediaTypeOCIIndex {
			return nil, invalidManifest("only OCI manifests may have a subject")
		}
		if err := checkDescriptor("subject", raw.Subject); err != nil {
			return nil, err
		}
		m.Subject = raw.Subject
	}
	if m.IsIndex() {
		if raw.Config != nil || raw.Layers != nil {
			return nil, invalidManifest("an index has no config or layers")
		}
		if raw.Manifests == nil {
			return nil, invalidManifest("manifests is required")
		}
		for i := range *raw.Manifests {
			if err := checkDescriptor(fmt.Sprintf("manifests[%d]", i), &(*raw.Manifests)[i]); err != nil {
				return nil, err
			}
		}
		m.Manifests = *raw.Manifests
		m.ArtifactType = raw.ArtifactType
		return m, nil
	}
	if raw.Manifests != nil {
		return nil, invalidManifest("an image manifest has no manifests list")
	}
	if raw.Config == nil {
		return nil, invalidManifest("config is required")
	}
	if err := checkDescriptor("config", raw.Config); err != nil {
		return nil, err
	}
	if raw.Config.MediaType == "" {
		return nil, invalidManifest("config.mediaType is required")
	}
	m.Config = raw.Config
	if raw.Layers != nil {
		for i := range *raw.Layers {
			if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), &(*raw.Layers)[i]); err != nil {
				return nil, err
			}
		}
		m.Layers = *raw.Layers
	} else if mt == MediaTypeDockerManifest {
		return nil, invalidManifest("layers is required")
	}
	m.ArtifactType = raw.ArtifactType
	if m.ArtifactType == "" {
		m.ArtifactType = m.Config.MediaType
	}
	return m, nil
}

func checkDescriptor(where string, d *Descriptor) error {
	if classifyDigest(d.Digest) == digestMalformed {
		return invalidManifest("%s: invalid digest %q", where, truncate(d.Digest))
	}
	if d.Size < 0 {
		return invalidManifest("%s: negative size", where)
	}
	return nil
}

// References lists the digests of the blobs a manifest needs in its
// repository: config and layers (foreign layers, served from elsewhere,
// excepted).
func (m *Manifest) References() []string {
	var out []string
	if m.Config != nil {
		out = append(out, m.Config.Digest)
	}
	for _, l := range m.Layers {
		if len(l.URLs) > 0 && (l.MediaType == mediaTypeDockerForeignLayer || l.MediaType == mediaTypeOCINondistributable) {
			continue
		}
		out = append(out, l.Digest)
	}
	return out
}
