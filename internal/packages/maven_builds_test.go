package packages

import (
	"reflect"
	"testing"
)

func TestMavenSnapshotBuilds(t *testing.T) {
	files := func(names ...string) []File {
		var fs []File
		for _, n := range names {
			fs = append(fs, File{Name: n})
		}
		return fs
	}
	tests := []struct {
		name    string
		version string
		files   []File
		want    []Build
	}{
		{"release", "1.0", files("lib-1.0.jar", "lib-1.0.pom"), nil},
		{"builds newest first", "1.0-SNAPSHOT", files(
			"lib-1.0-20240101.100000-1.jar", "lib-1.0-20240101.100000-1.pom",
			"lib-1.0-20240102.100000-2.jar", "lib-1.0-20240102.100000-2-sources.jar",
			"lib-1.0-20240103.100000-10.jar",
			"lib-1.0-SNAPSHOT.jar", "maven-metadata.xml", "lib-1.0-2024.jar"),
			[]Build{
				{Name: "20240103.100000-10", Files: []string{"lib-1.0-20240103.100000-10.jar"}},
				{Name: "20240102.100000-2", Files: []string{"lib-1.0-20240102.100000-2.jar", "lib-1.0-20240102.100000-2-sources.jar"}},
				{Name: "20240101.100000-1", Files: []string{"lib-1.0-20240101.100000-1.jar", "lib-1.0-20240101.100000-1.pom"}},
			}},
		{"same number, later time first", "2.1-SNAPSHOT", files("a.b-2.1-20240101.100000-1.jar", "a.b-2.1-20240301.100000-1.jar"),
			[]Build{{Name: "20240301.100000-1", Files: []string{"a.b-2.1-20240301.100000-1.jar"}}, {Name: "20240101.100000-1", Files: []string{"a.b-2.1-20240101.100000-1.jar"}}}},
		{"no builds", "1.0-SNAPSHOT", files("lib-1.0-SNAPSHOT.jar"), []Build{}},
		{"only the suffix", "-SNAPSHOT", files("x--20240101.100000-1.jar"), nil},
	}
	for _, tc := range tests {
		if got := mavenSnapshotBuilds(tc.version, tc.files); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}
