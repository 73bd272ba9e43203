package oci

// FileReferences lists the digests of the blobs a stored manifest names,
// which its repository must hold: an image manifest's config and layers
// (foreign layers excepted), an index's manifests. ok is false for a media
// type that is not a manifest the registry stores, whatever the content; a
// manifest that does not parse is an error. It is what a consistency check
// (packhub fsck) checks manifests against.
func FileReferences(mediaType string, content []byte) (digests []string, ok bool, err error) {
	if !supportedManifest(mediaType) {
		return nil, false, nil
	}
	m, err := ParseManifest(mediaType, content)
	if err != nil {
		return nil, true, err
	}
	digests = m.References()
	for _, child := range m.Manifests {
		digests = append(digests, child.Digest)
	}
	return digests, true, nil
}
