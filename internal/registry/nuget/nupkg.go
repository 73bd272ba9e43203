package nuget

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"

	"github.com/packhub/packhub/internal/packages"
)

// Nupkg is what Packhub reads of a .nupkg (or .snupkg) file.
type Nupkg struct {
	Manifest   *Manifest
	Nuspec     []byte // the .nuspec as the package holds it
	NuspecName string // its name in the package
	Readme     []byte // the readme the .nuspec names; nil when none
	Unpacked   int64  // the bytes of every entry, uncompressed
}

// ReadLimits bound what ReadNupkg reads.
type ReadLimits struct {
	// MaxUnpacked is the most bytes every entry together may unpack to:
	// a zip bomb stops there.
	MaxUnpacked int64
	// MaxEntries is the most entries the archive may have.
	MaxEntries int
}

// Limits of what is kept from a package.
const (
	maxReadmeSize       = 1 << 20
	maxCentralDirectory = 64 << 20
	defaultMaxEntries   = 65535
)

func invalidPackage(format string, args ...any) error {
	return packages.Errorf(packages.KindInvalid, "invalid package: %s", fmt.Sprintf(format, args...))
}

// ReadNupkg reads a package from r, size bytes long. It checks the whole
// archive, every entry's bytes and checksum included, within the limits:
// entry names that leave the package (absolute, "..", drive letters) or
// repeat, a missing or second .nuspec at the root, a .nuspec named for
// another id, a readme the .nuspec names but the package lacks, and more
// unpacked bytes than allowed are all refused with an error of
// packages.KindInvalid. It keeps only the .nuspec and the readme.
func ReadNupkg(r io.ReaderAt, size int64, lim ReadLimits) (*Nupkg, error) {
	if lim.MaxEntries <= 0 {
		lim.MaxEntries = defaultMaxEntries
	}
	if err := checkDirectory(r, size, lim.MaxEntries); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, invalidPackage("not a zip archive (%v)", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, invalidPackage("more than %d entries", lim.MaxEntries)
	}
	var nuspec *zip.File
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		name, err := entryName(f.Name)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(name)
		if seen[key] {
			return nil, invalidPackage("the entry %q is in the package twice", f.Name)
		}
		seen[key] = true
		if !strings.Contains(name, "/") && strings.HasSuffix(key, ".nuspec") {
			if nuspec != nil {
				return nil, invalidPackage("more than one .nuspec file (%s and %s)", nuspec.Name, f.Name)
			}
			nuspec = f
		}
	}
	if nuspec == nil {
		return nil, invalidPackage("no .nuspec file at the root of the package")
	}
	out := &Nupkg{NuspecName: nuspec.Name}
	budget := lim.MaxUnpacked
	read := func(f *zip.File, keep int64) ([]byte, error) {
		rc, err := f.Open()
		if err != nil {
			return nil, invalidPackage("cannot read %s (%v)", f.Name, err)
		}
		defer rc.Close()
		var sink keepWriter
		sink.max = keep
		var src io.Reader = rc
		if budget > 0 {
			src = io.LimitReader(rc, budget-out.Unpacked+1)
		}
		n, err := io.Copy(&sink, src)
		out.Unpacked += n
		if budget > 0 && out.Unpacked > budget {
			return nil, invalidPackage("it unpacks to more than %d bytes", budget)
		}
		if err != nil {
			if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, invalidPackage("the entry %s is damaged (%v)", f.Name, err)
			}
			return nil, invalidPackage("cannot read %s (%v)", f.Name, err)
		}
		if sink.over {
			return nil, invalidPackage("%s is larger than %d bytes", f.Name, keep)
		}
		return sink.buf, nil
	}
	if out.Nuspec, err = read(nuspec, maxNuspecSize); err != nil {
		return nil, err
	}
	if out.Manifest, err = ParseNuspec(out.Nuspec); err != nil {
		return nil, err
	}
	m := out.Manifest
	if base := strings.TrimSuffix(nuspec.Name, path.Ext(nuspec.Name)); !strings.EqualFold(base, m.ID) {
		return nil, invalidPackage("the .nuspec file %s does not match the package id %s", nuspec.Name, m.ID)
	}
	readme := ""
	if m.Readme != "" {
		readme = strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(m.Readme, "\\", "/"), "./"))
	}
	for _, f := range zr.File {
		if f == nuspec || strings.HasSuffix(f.Name, "/") {
			continue
		}
		name, _ := entryName(f.Name)
		keep := int64(0)
		isReadme := readme != "" && (strings.ToLower(name) == readme || strings.ToLower(unescapeEntry(name)) == readme)
		if isReadme {
			keep = maxReadmeSize
		}
		b, err := read(f, keep)
		if err != nil {
			return nil, err
		}
		if isReadme {
			out.Readme = b
		}
	}
	if readme != "" && out.Readme == nil {
		return nil, invalidPackage("the readme %s that the .nuspec names is not in the package", m.Readme)
	}
	return out, nil
}

// keepWriter keeps the first max bytes written and counts the rest.
type keepWriter struct {
	max  int64
	buf  []byte
	over bool
}

func (w *keepWriter) Write(p []byte) (int, error) {
	if w.max > 0 {
		room := w.max - int64(len(w.buf))
		if int64(len(p)) > room {
			w.over = true
			w.buf = append(w.buf, p[:max(room, 0)]...)
		} else {
			w.buf = append(w.buf, p...)
		}
		if w.buf == nil {
			w.buf = []byte{}
		}
	}
	return len(p), nil
}

// entryName checks an entry's name and returns it with forward slashes.
func entryName(name string) (string, error) {
	bad := func() error { return invalidPackage("the entry name %q leaves the package", name) }
	if name == "" || len(name) > 1024 {
		return "", invalidPackage("an entry has an empty or overlong name")
	}
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") {
		return "", bad()
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", invalidPackage("the entry name %q has control characters", name)
		}
	}
	for i, seg := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		if seg == "" {
			return "", invalidPackage("the entry name %q has an empty segment", name)
		}
		if seg == ".." || seg == "." || (i == 0 && len(seg) >= 2 && seg[1] == ':') {
			return "", bad()
		}
		if u := unescapeEntry(seg); u == ".." || strings.ContainsAny(u, "/\\") {
			return "", bad()
		}
	}
	return n, nil
}

// unescapeEntry undoes the percent-encoding OPC packages apply to entry
// names (a space is %20); a malformed escape is kept as it is.
func unescapeEntry(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// checkDirectory reads the archive's end of central directory record
// (and its ZIP64 form) and refuses an archive that declares more entries,
// or a larger central directory, than allowed, before archive/zip reads
// the directory into memory.
func checkDirectory(r io.ReaderAt, size int64, maxEntries int) error {
	const eocdLen, maxComment = 22, 65535
	if size < eocdLen {
		return invalidPackage("not a zip archive (too short)")
	}
	tail := min(size, eocdLen+maxComment)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return fmt.Errorf("read package: %w", err)
	}
	at := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			at = i
			break
		}
	}
	if at < 0 {
		return invalidPackage("not a zip archive (no end of central directory)")
	}
	rec := buf[at:]
	entries := uint64(binary.LittleEndian.Uint16(rec[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(rec[12:]))
	if entries == 0xffff || dirSize == 0xffffffff {
		// ZIP64: the locator stands just before the record.
		locAt := size - tail + int64(at) - 20
		if locAt >= 0 {
			var loc [20]byte
			if _, err := r.ReadAt(loc[:], locAt); err == nil && binary.LittleEndian.Uint32(loc[:]) == 0x07064b50 {
				off := int64(binary.LittleEndian.Uint64(loc[8:]))
				var z [56]byte
				if off >= 0 && off <= size-56 {
					if _, err := r.ReadAt(z[:], off); err == nil && binary.LittleEndian.Uint32(z[:]) == 0x06064b50 {
						entries = binary.LittleEndian.Uint64(z[32:])
						dirSize = binary.LittleEndian.Uint64(z[40:])
					}
				}
			}
		}
	}
	if entries > uint64(maxEntries) {
		return invalidPackage("more than %d entries", maxEntries)
	}
	if dirSize > maxCentralDirectory || dirSize > uint64(size) {
		return invalidPackage("the central directory is too large")
	}
	return nil
}
