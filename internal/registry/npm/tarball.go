package npm

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// tarballManifest is what Packhub checks of the package.json inside a
// tarball.
type tarballManifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Limits of readTarballManifest.
const (
	maxManifestSize = 8 << 20 // package.json
	maxTarEntries   = 100000  // entries examined before package.json
)

// errNoManifest is returned for a tarball without a package.json.
var errNoManifest = errors.New("the tarball has no package/package.json")

// readTarballManifest reads the package.json of a gzipped npm tarball: the
// file package.json in the tarball's single top-level folder (npm packs it
// as package/package.json; some tools use another folder name). It reads at
// most maxUnpacked uncompressed bytes (<= 0: no limit) looking for it, and
// stops reading as soon as it has it.
func readTarballManifest(r io.Reader, maxUnpacked int64) (*tarballManifest, json.RawMessage, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("the tarball is not gzipped: %w", err)
	}
	var src io.Reader = zr
	if maxUnpacked > 0 {
		src = io.LimitReader(zr, maxUnpacked)
	}
	tr := tar.NewReader(src)
	var fallback []byte
	for i := 0; i < maxTarEntries; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("the tarball is not a valid tar archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(h.Name, "\\", "/")), "/")
		dir, file, ok := strings.Cut(name, "/")
		if !ok || file != "package.json" || dir == "" {
			continue
		}
		if h.Size > maxManifestSize {
			return nil, nil, fmt.Errorf("the tarball's package.json is larger than %d bytes", maxManifestSize)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxManifestSize+1))
		if err != nil {
			return nil, nil, fmt.Errorf("the tarball is not a valid tar archive: %w", err)
		}
		if dir == "package" {
			return decodeTarballManifest(data)
		}
		if fallback == nil {
			fallback = data
		}
	}
	if fallback != nil {
		return decodeTarballManifest(fallback)
	}
	return nil, nil, errNoManifest
}

func decodeTarballManifest(data []byte) (*tarballManifest, json.RawMessage, error) {
	// package.json may start with a byte order mark.
	data = []byte(strings.TrimPrefix(string(data), "\ufeff"))
	var m tarballManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("the tarball's package.json is not valid: %s", jsonErrMessage(err))
	}
	return &m, json.RawMessage(data), nil
}
