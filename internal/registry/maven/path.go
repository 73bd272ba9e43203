package maven

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/packhub/packhub/internal/packages"
)

// What a request path names, in the Maven 2 repository layout under
// /maven/OWNER/REPO/: GROUP/ARTIFACT/VERSION/FILE, the maven-metadata.xml
// of an artifact (GROUP/ARTIFACT/maven-metadata.xml) or of a SNAPSHOT
// version (GROUP/ARTIFACT/X-SNAPSHOT/maven-metadata.xml), any of those
// with .md5, .sha1, .sha256 or .sha512 appended, or a directory (a path
// ending in a slash). GROUP is the groupId with its dots as slashes.

// anyRepository in the repository's place of a URL reads from every
// repository of the owner that the caller may read.
const anyRepository = "*"

// metadataName is the file name of repository metadata.
const metadataName = "maven-metadata.xml"

// target is what a path names.
type target int

const (
	targetFile             target = iota // GROUP/ARTIFACT/VERSION/FILE
	targetArtifactMetadata               // GROUP/ARTIFACT/maven-metadata.xml
	targetVersionMetadata                // GROUP/ARTIFACT/X-SNAPSHOT/maven-metadata.xml
	targetListing                        // a directory
)

// location is a parsed request path.
type location struct {
	owner string
	repo  string // a repository name, or anyRepository
	// dir holds the segments after REPO of a directory listing.
	dir    []string
	target target
	// group is the groupId (dotted); artifact, version and file as named.
	group, artifact, version, file string
	// checksum is the algorithm of a checksum file ("md5", "sha1",
	// "sha256", "sha512"), whose file names the checksummed one; "" for
	// any other file.
	checksum string
}

// repository is the "OWNER/REPO" of the location, "" for anyRepository.
func (l *location) repository() string {
	if l.repo == anyRepository {
		return ""
	}
	return l.owner + "/" + l.repo
}

// packageName is Maven's package name on GitHub: GROUP.ARTIFACT.
func packageName(group, artifact string) string { return group + "." + artifact }

func (l *location) ref() packages.PackageRef {
	return packages.PackageRef{Owner: l.owner, Scope: packages.AnyOwner, Type: packages.TypeMaven, Name: packageName(l.group, l.artifact)}
}

// checksumExts are the checksum files Maven reads and writes, by extension.
var checksumExts = []struct{ ext, algo string }{
	{".md5", "md5"}, {".sha1", "sha1"}, {".sha256", "sha256"}, {".sha512", "sha512"},
}

// splitChecksum returns the file a checksum file names and its algorithm,
// or name itself and "".
func splitChecksum(name string) (string, string) {
	for _, c := range checksumExts {
		if base, ok := strings.CutSuffix(name, c.ext); ok && base != "" {
			return base, c.algo
		}
	}
	return name, ""
}

// pathError is a path no repository layout has; it answers 400 (404 for
// an owner or repository name that cannot exist).
type pathError struct {
	notFound bool
	msg      string
}

func (e *pathError) Error() string { return e.msg }

func badPath(format string) error { return &pathError{msg: format} }

// parsePath parses the escaped path of a request (starting with /maven/).
// Every segment is unescaped on its own, so an encoded slash, dot segment
// or backslash is seen and refused.
func parsePath(escaped string) (*location, error) {
	rest, ok := strings.CutPrefix(escaped, Prefix+"/")
	if !ok {
		return nil, &pathError{notFound: true, msg: "Not found"}
	}
	isDir := strings.HasSuffix(rest, "/")
	rest = strings.TrimSuffix(rest, "/")
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, badPath("the path is not validly escaped")
		}
		if err := checkSegment(u); err != nil {
			return nil, err
		}
		segs[i] = u
	}
	if len(segs) < 2 {
		return nil, &pathError{notFound: true, msg: "Not found: use /maven/OWNER/REPO/GROUP/ARTIFACT/VERSION/FILE"}
	}
	l := &location{owner: segs[0], repo: segs[1]}
	if !packages.ValidLogin(l.owner) || (l.repo != anyRepository && !packages.ValidRepositoryName(l.repo)) {
		return nil, &pathError{notFound: true, msg: "Not found"}
	}
	segs = segs[2:]
	if isDir || len(segs) == 0 {
		l.target, l.dir = targetListing, segs
		for _, s := range segs {
			if !validFileName(s) {
				return nil, badPath("not a directory of a Maven repository")
			}
		}
		return l, nil
	}
	name, algo := splitChecksum(segs[len(segs)-1])
	l.checksum = algo
	switch {
	case name == metadataName && len(segs) >= 4 && isSnapshot(segs[len(segs)-2]):
		l.target = targetVersionMetadata
		l.group, l.artifact, l.version = joinGroup(segs[:len(segs)-3]), segs[len(segs)-3], segs[len(segs)-2]
		if !validGroupPath(segs[:len(segs)-3]) {
			return nil, badPath("the groupId in the path is not valid")
		}
	case name == metadataName:
		if len(segs) < 3 {
			return nil, badPath("maven-metadata.xml belongs in GROUP/ARTIFACT/")
		}
		l.target = targetArtifactMetadata
		l.group, l.artifact = joinGroup(segs[:len(segs)-2]), segs[len(segs)-2]
		if !validGroupPath(segs[:len(segs)-2]) {
			return nil, badPath("the groupId in the path is not valid")
		}
	default:
		if len(segs) < 4 {
			return nil, badPath("a file belongs in GROUP/ARTIFACT/VERSION/")
		}
		l.target = targetFile
		l.group, l.artifact, l.version = joinGroup(segs[:len(segs)-3]), segs[len(segs)-3], segs[len(segs)-2]
		l.file = name
		if !validGroupPath(segs[:len(segs)-3]) {
			return nil, badPath("the groupId in the path is not valid")
		}
		if !validFileName(name) {
			return nil, badPath("the file name is not valid")
		}
	}
	if !validArtifactID(l.artifact) {
		return nil, badPath("the artifactId in the path is not valid")
	}
	if l.version != "" && !packages.ValidMavenVersion(l.version) {
		return nil, badPath("the version in the path is not a Maven version")
	}
	if len(packageName(l.group, l.artifact)) > maxPackageName {
		return nil, badPath("the groupId and artifactId are too long")
	}
	return l, nil
}

// maxPackageName bounds GROUP.ARTIFACT.
const maxPackageName = 512

// checkSegment refuses what no repository path holds and what would walk
// out of one: empty segments, dot segments, slashes and backslashes (also
// encoded), control characters.
func checkSegment(s string) error {
	switch s {
	case "":
		return badPath("the path has an empty segment")
	case ".", "..":
		return badPath("the path must not contain . or .. segments")
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '%' || unicode.IsControl(r) {
			return badPath("the path has a segment with a slash, backslash, percent sign or control character")
		}
	}
	return nil
}

func joinGroup(segs []string) string { return strings.Join(segs, ".") }

// validGroupPath reports whether segs are the slashed form of a groupId:
// one or more segments of letters, digits, _ and -.
func validGroupPath(segs []string) bool {
	if len(segs) == 0 {
		return false
	}
	for _, s := range segs {
		if !validIDChars(s, false) {
			return false
		}
	}
	return true
}

// validArtifactID reports whether s is an artifactId Maven's model
// validator accepts: letters, digits, _, - and dots.
func validArtifactID(s string) bool { return validIDChars(s, true) && s != "." && s != ".." }

func validIDChars(s string, dots bool) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || (dots && c == '.')) {
			return false
		}
	}
	return true
}

// validFileName reports whether s can name a file of a version:
// ARTIFACT-VERSION[-CLASSIFIER].EXT is made of the characters of its
// parts.
func validFileName(s string) bool {
	if s == "" || len(s) > 512 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '+' || c == '~') {
			return false
		}
	}
	return true
}

// isSnapshot reports whether a version is a SNAPSHOT version.
func isSnapshot(version string) bool { return strings.HasSuffix(version, snapshotSuffix) }

const snapshotSuffix = "-SNAPSHOT"
