package maven

import (
	"fmt"
	"strconv"
	"strings"
)

// The files of a version are named ARTIFACT-VERSION[-CLASSIFIER].EXTENSION;
// those of a SNAPSHOT version X-SNAPSHOT carry, in VERSION's place,
// either X-SNAPSHOT or a build: X-yyyyMMdd.HHmmss-N.

// build is one timestamped build of a SNAPSHOT version.
type build struct {
	timestamp string // yyyyMMdd.HHmmss, UTC
	number    int    // the build number, from 1
}

func (b build) less(o build) bool {
	if b.number != o.number {
		return b.number < o.number
	}
	return b.timestamp < o.timestamp
}

// value is the version a build's files carry: X-yyyyMMdd.HHmmss-N.
func (b build) value(version string) string {
	return strings.TrimSuffix(version, snapshotSuffix) + "-" + b.timestamp + "-" + strconv.Itoa(b.number)
}

// artifactFile is a parsed file name.
type artifactFile struct {
	classifier string // "" for the main artifact
	extension  string // jar, pom, module, tar.gz, jar.asc, ...
	build      *build // the SNAPSHOT build, nil for a release or X-SNAPSHOT
}

// key is the classifier and extension: one entry of a SNAPSHOT's
// snapshotVersions.
func (f artifactFile) key() string { return f.classifier + ":" + f.extension }

// parseFileName parses the name of a file of artifact's version. ok is
// false when the name does not start with ARTIFACT-VERSION or has no
// extension.
func parseFileName(artifact, version, name string) (artifactFile, bool) {
	var f artifactFile
	var tail string
	if isSnapshot(version) {
		rest, ok := strings.CutPrefix(name, artifact+"-"+strings.TrimSuffix(version, snapshotSuffix)+"-")
		if !ok {
			return f, false
		}
		if t, ok := strings.CutPrefix(rest, "SNAPSHOT"); ok {
			tail = t
		} else {
			b, t, ok := parseBuild(rest)
			if !ok {
				return f, false
			}
			f.build, tail = &b, t
		}
	} else {
		t, ok := strings.CutPrefix(name, artifact+"-"+version)
		if !ok {
			return f, false
		}
		tail = t
	}
	switch {
	case strings.HasPrefix(tail, "-"):
		cls, ext, ok := strings.Cut(tail[1:], ".")
		if !ok || cls == "" {
			return f, false
		}
		f.classifier, f.extension = cls, ext
	case strings.HasPrefix(tail, "."):
		f.extension = tail[1:]
	default:
		return f, false
	}
	if f.extension == "" || !isLetter(f.extension[0]) || strings.HasSuffix(f.extension, ".") {
		return f, false
	}
	return f, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseBuild parses yyyyMMdd.HHmmss-N at the start of s.
func parseBuild(s string) (build, string, bool) {
	const tsLen = len("20060102.150405")
	if len(s) < tsLen+2 || s[8] != '.' || s[tsLen] != '-' {
		return build{}, "", false
	}
	for i := 0; i < tsLen; i++ {
		if i != 8 && (s[i] < '0' || s[i] > '9') {
			return build{}, "", false
		}
	}
	end := tsLen + 1
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[tsLen+1 : end])
	if err != nil || n < 1 || end-(tsLen+1) > 9 {
		return build{}, "", false
	}
	return build{timestamp: s[:tsLen], number: n}, s[end:], true
}

// mediaType is the content type a file is served with.
func mediaType(extension string) string {
	ext := extension
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i+1:]
	}
	switch strings.ToLower(ext) {
	case "jar", "war", "ear", "aar", "rar":
		return "application/java-archive"
	case "pom", "xml":
		return "application/xml"
	case "module", "json":
		return "application/json"
	case "zip":
		return "application/zip"
	case "asc":
		return "application/pgp-signature"
	case "gz", "tgz":
		return "application/gzip"
	}
	return "application/octet-stream"
}

// fileNameError explains a name that does not fit its directory.
func fileNameError(artifact, version, name string) error {
	want := artifact + "-" + version
	if isSnapshot(version) {
		base := strings.TrimSuffix(version, snapshotSuffix)
		want = fmt.Sprintf("%s-%s or %s-%s-yyyyMMdd.HHmmss-N", artifact, version, artifact, base)
	}
	return invalid("the file %s does not belong in %s/%s/: its name must be %s[-CLASSIFIER].EXTENSION", name, artifact, version, want)
}
