package rubygems

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/packhub/packhub/internal/packages"
)

// A .gem is an uncompressed tar of metadata.gz (the gemspec in gzipped
// YAML), data.tar.gz (the files), checksums.yaml.gz (digests of the other
// two) and, for signed gems, their signatures. readGem reads one as it
// streams past, without keeping more than the gemspec.

// gemLimits bound what readGem reads.
type gemLimits struct {
	// Metadata is the most bytes metadata.gz may unpack to.
	Metadata int64
	// Data is the most bytes data.tar.gz may unpack to while its entries
	// are checked.
	Data int64
	// Entry is the largest size an entry of the gem may declare (a sparse
	// entry could otherwise stand for far more bytes than it holds).
	Entry int64
}

// Limits of the smaller parts of a gem.
const (
	maxChecksumsSize = 64 << 10 // checksums.yaml, unpacked
	maxEntries       = 64       // entries of the outer tar
	maxDataEntries   = 1 << 20  // entries of data.tar.gz
)

// gemError is a gem Packhub refuses.
func gemError(format string, args ...any) error {
	return packages.Errorf(packages.KindInvalid, "The gem is not valid: "+format, args...)
}

// readGem reads a .gem from r and returns its gemspec, once its entries'
// paths are safe, its metadata is within limits and its checksums (when it
// has any) match. r is read to the end of the tar archive.
func readGem(r io.Reader, lim gemLimits) (*gemSpec, error) {
	tail := &tailReader{r: r}
	tr := tar.NewReader(tail)
	var spec *gemSpec
	sums := map[string]map[string]string{} // entry -> algorithm -> hex
	var declared map[string]map[string]string
	seen := map[string]bool{}
	hasData := false
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if !tail.endMarker() && (spec != nil || len(seen) > 0) {
				return nil, gemError("it is truncated: the tar archive has no end")
			}
			break
		}
		if err != nil {
			return nil, gemError("it is not a tar archive (%v)", tarMessage(err))
		}
		if i >= maxEntries {
			return nil, gemError("it has more than %d entries", maxEntries)
		}
		if err := safeEntryName(h.Name); err != nil {
			return nil, err
		}
		name := path.Clean(h.Name)
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, gemError("entry %q is not a regular file", h.Name)
		}
		if h.Size < 0 || h.Size > lim.Entry {
			return nil, packages.Errorf(packages.KindTooLarge, "The gem is not valid: entry %q is larger than %d bytes", h.Name, lim.Entry)
		}
		if seen[name] {
			return nil, gemError("entry %q appears twice", name)
		}
		seen[name] = true
		hs := newHashes()
		body := io.TeeReader(tr, hs)
		switch name {
		case "metadata.gz":
			data, err := gunzipAll(body, lim.Metadata, "metadata.gz")
			if err != nil {
				return nil, err
			}
			if spec, err = parseGemspec(data); err != nil {
				return nil, err
			}
		case "data.tar.gz":
			if err := checkDataTar(body, lim.Data); err != nil {
				return nil, err
			}
			hasData = true
		case "checksums.yaml.gz":
			data, err := gunzipAll(body, maxChecksumsSize, "checksums.yaml.gz")
			if err != nil {
				return nil, err
			}
			if declared, err = parseChecksums(data); err != nil {
				return nil, err
			}
		case "metadata":
			return nil, gemError("it is in the old format, with uncompressed metadata")
		}
		// Whatever was not read of the entry is read for its digests.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, gemError("entry %q is truncated (%v)", name, tarMessage(err))
		}
		sums[name] = hs.hex()
	}
	switch {
	case spec == nil:
		return nil, gemError("it has no metadata.gz")
	case !hasData:
		return nil, gemError("it has no data.tar.gz")
	}
	for entry, algs := range declared {
		got, ok := sums[entry]
		if !ok {
			return nil, gemError("checksums.yaml names %q, which the gem does not have", entry)
		}
		for alg, want := range algs {
			if have, known := got[alg]; known && !strings.EqualFold(have, want) {
				return nil, gemError("the %s checksum of %s does not match checksums.yaml", alg, entry)
			}
		}
	}
	return spec, nil
}

// safeEntryName refuses absolute paths and paths that climb out with "..".
func safeEntryName(name string) error {
	n := strings.ReplaceAll(name, "\\", "/")
	if n == "" || strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return gemError("entry %q has an absolute path", name)
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return gemError("entry %q climbs out of the archive with \"..\"", name)
		}
	}
	if strings.ContainsRune(name, 0) {
		return gemError("entry %q has a NUL in its name", name)
	}
	return nil
}

func tarMessage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it is truncated"
	}
	return err.Error()
}

// gunzipAll unpacks a gzipped entry of at most limit bytes unpacked.
func gunzipAll(r io.Reader, limit int64, name string) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, gemError("%s is not gzipped (%v)", name, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, gemError("%s is not valid gzip (%v)", name, tarMessage(err))
	}
	if int64(len(data)) > limit {
		return nil, packages.Errorf(packages.KindTooLarge, "The gem is not valid: %s unpacks to more than %d bytes", name, limit)
	}
	return data, nil
}

// checkDataTar reads data.tar.gz and refuses entries that climb out of the
// install directory, unpacking at most limit bytes.
func checkDataTar(r io.Reader, limit int64) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return gemError("data.tar.gz is not gzipped (%v)", err)
	}
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	tr := tar.NewReader(lr)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if lr.N <= 0 {
			return packages.Errorf(packages.KindTooLarge, "The gem is not valid: data.tar.gz unpacks to more than %d bytes", limit)
		}
		if err != nil {
			return gemError("data.tar.gz is not a valid tar archive (%v)", tarMessage(err))
		}
		if i >= maxDataEntries {
			return gemError("data.tar.gz has more than %d entries", maxDataEntries)
		}
		if err := safeEntryName(h.Name); err != nil {
			return gemError("data.tar.gz: %s", packages.PublicMessage(err, ""))
		}
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			target := path.Join(path.Dir(h.Name), h.Linkname)
			if path.IsAbs(h.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
				return gemError("data.tar.gz: link %q points out of the gem", h.Name)
			}
		}
	}
	if lr.N <= 0 {
		return packages.Errorf(packages.KindTooLarge, "The gem is not valid: data.tar.gz unpacks to more than %d bytes", limit)
	}
	// The gzip trailer (with its CRC) follows the tar's end.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return gemError("data.tar.gz is not valid gzip (%v)", tarMessage(err))
	}
	if lr.N <= 0 {
		return packages.Errorf(packages.KindTooLarge, "The gem is not valid: data.tar.gz unpacks to more than %d bytes", limit)
	}
	return nil
}

// parseChecksums reads checksums.yaml: algorithm -> entry -> hex digest.
// It returns entry -> algorithm -> digest for the algorithms Packhub
// checks.
func parseChecksums(data []byte) (map[string]map[string]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, gemError("checksums.yaml is not valid YAML (%s)", yamlMessage(err))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, gemError("checksums.yaml is not a map")
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		alg, algs := root.Content[i], root.Content[i+1]
		if alg.Kind != yaml.ScalarNode || algs.Kind != yaml.MappingNode || alg.Anchor != "" || algs.Anchor != "" {
			return nil, gemError("checksums.yaml is not a map of digests")
		}
		for j := 0; j+1 < len(algs.Content); j += 2 {
			k, v := algs.Content[j], algs.Content[j+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				return nil, gemError("checksums.yaml is not a map of digests")
			}
			if out[k.Value] == nil {
				out[k.Value] = map[string]string{}
			}
			out[k.Value][strings.ToUpper(alg.Value)] = v.Value
		}
	}
	return out, nil
}

// hashes computes the digests checksums.yaml may list.
type hashes struct {
	sha1, sha256, sha512 hash.Hash
}

func newHashes() *hashes { return &hashes{sha1.New(), sha256.New(), sha512.New()} }

func (h *hashes) Write(p []byte) (int, error) {
	h.sha1.Write(p)
	h.sha256.Write(p)
	h.sha512.Write(p)
	return len(p), nil
}

func (h *hashes) hex() map[string]string {
	return map[string]string{
		"SHA1":   hex.EncodeToString(h.sha1.Sum(nil)),
		"SHA256": hex.EncodeToString(h.sha256.Sum(nil)),
		"SHA512": hex.EncodeToString(h.sha512.Sum(nil)),
	}
}

// tailReader remembers the last bytes read through it: the tar reader
// reads exactly up to the end of the archive, which must be two zero
// blocks, or else the archive was cut short at an entry's end.
type tailReader struct {
	r    io.Reader
	tail []byte // the last (up to) tailSize bytes read
}

const tailSize = 1024

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n >= tailSize {
		t.tail = append(t.tail[:0], p[n-tailSize:n]...)
	} else if n > 0 {
		t.tail = append(t.tail, p[:n]...)
		if over := len(t.tail) - tailSize; over > 0 {
			t.tail = append(t.tail[:0], t.tail[over:]...)
		}
	}
	return n, err
}

// endMarker reports whether the last 1024 bytes read were zeros.
func (t *tailReader) endMarker() bool {
	if len(t.tail) < tailSize {
		return false
	}
	for _, c := range t.tail {
		if c != 0 {
			return false
		}
	}
	return true
}
