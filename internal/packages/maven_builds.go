package packages

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// mavenSnapshotSuffix ends the name of a Maven SNAPSHOT version.
const mavenSnapshotSuffix = "-SNAPSHOT"

// mavenSnapshotBuilds groups the files of a SNAPSHOT version X-SNAPSHOT
// by timestamped build: ARTIFACT-X-yyyyMMdd.HHmmss-N[-CLASSIFIER].EXT,
// newest (highest build number, then latest timestamp) first. Files named
// X-SNAPSHOT without a build, and the version's metadata, are no build's.
// A release has no builds.
func mavenSnapshotBuilds(version string, files []File) []Build {
	base, ok := strings.CutSuffix(version, mavenSnapshotSuffix)
	if !ok || base == "" {
		return nil
	}
	re := regexp.MustCompile(`^.+-` + regexp.QuoteMeta(base) + `-(\d{8}\.\d{6})-([1-9]\d{0,8})(?:[-.].*)$`)
	type build struct {
		ts     string
		number int
		files  []string
	}
	byName := map[string]*build{}
	for _, f := range files {
		m := re.FindStringSubmatch(f.Name)
		if m == nil {
			continue
		}
		name := m[1] + "-" + m[2]
		b := byName[name]
		if b == nil {
			n, _ := strconv.Atoi(m[2])
			b = &build{ts: m[1], number: n}
			byName[name] = b
		}
		b.files = append(b.files, f.Name)
	}
	out := make([]Build, 0, len(byName))
	for name, b := range byName {
		out = append(out, Build{Name: name, Files: b.files})
	}
	slices.SortFunc(out, func(x, y Build) int {
		bx, by := byName[x.Name], byName[y.Name]
		return cmp.Or(cmp.Compare(by.number, bx.number), cmp.Compare(by.ts, bx.ts))
	})
	return out
}
