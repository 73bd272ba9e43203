package packages

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRetentionEvaluate checks which versions a policy deletes and which
// it keeps, and why, over one package's versions.
func TestRetentionEvaluate(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	// ver makes a version published age ago, with tags; "sub=NAME" in
	// tags sets its subject, "needs=A+B" its index manifests.
	id := int64(0)
	ver := func(name string, age time.Duration, tags ...string) VersionInfo {
		id++
		v := VersionInfo{Version: Version{ID: id, Name: name, CreatedAt: now.Add(-age)}, Tags: []string{}}
		for _, tag := range tags {
			switch {
			case strings.HasPrefix(tag, "sub="):
				v.Subject = strings.TrimPrefix(tag, "sub=")
			case strings.HasPrefix(tag, "needs="):
				v.Metadata, _ = json.Marshal(map[string][]string{"manifests": strings.Split(strings.TrimPrefix(tag, "needs="), "+")})
			case tag == "downloads":
				v.DownloadCount = 6000
			default:
				v.Tags = append(v.Tags, tag)
			}
		}
		return v
	}
	npm := []VersionInfo{ver("1.0.0", 90*day), ver("1.1.0", 60*day), ver("2.0.0-rc.1", 40*day, "next"), ver("2.0.0", 10*day, "latest")}
	maven := []VersionInfo{ver("1.0", 90*day), ver("2.0", 80*day), ver("1.1", 5*day), ver("3.0-SNAPSHOT", 1*day)}
	images := []VersionInfo{
		ver("sha256:a", 50*day, "v1"), ver("sha256:b", 40*day), ver("sha256:c", 30*day, "pr-7"),
		ver("sha256:idx", 20*day, "v2", "needs=sha256:p1+sha256:p2"), ver("sha256:p1", 20*day), ver("sha256:p2", 20*day),
		ver("sha256:sig", 20*day, "sub=sha256:idx"), ver("sha256:d", 2*day),
	}
	lonely := []VersionInfo{ver("1.0.0", 90*day)}
	untaggedImages := []VersionInfo{ver("sha256:x", 50*day, "old"), ver("sha256:y", 40*day, "older")}

	tests := []struct {
		name   string
		spec   Spec
		public bool
		vs     []VersionInfo
		policy RetentionPolicy
		remove []string
		kept   map[string]string // name -> reason
	}{
		{"keep newest by publication", NpmSpec(), false, npm, RetentionPolicy{KeepNewest: 2},
			[]string{"1.0.0", "1.1.0"}, map[string]string{"2.0.0": "one of the 2 newest", "2.0.0-rc.1": "one of the 2 newest"}},
		{"keep newest by version order", MavenSpec(), false, maven, RetentionPolicy{KeepNewest: 2},
			[]string{"1.0", "1.1"}, map[string]string{"3.0-SNAPSHOT": "one of the 2 newest", "2.0": "one of the 2 newest"}},
		{"older than", NpmSpec(), false, npm, RetentionPolicy{OlderThan: 50 * day},
			[]string{"1.0.0", "1.1.0"}, map[string]string{}},
		{"older than, keeping the newest", NpmSpec(), false, npm, RetentionPolicy{OlderThan: 50 * day, KeepNewest: 3},
			[]string{"1.0.0"}, map[string]string{"1.1.0": "one of the 3 newest"}},
		{"keep pattern", MavenSpec(), false, maven, RetentionPolicy{OlderThan: 50 * day, KeepPattern: "1.*"},
			[]string{"2.0"}, map[string]string{"1.0": "matches the keep pattern"}},
		{"remove pattern", MavenSpec(), false, maven, RetentionPolicy{RemovePattern: "*-SNAPSHOT"},
			[]string{"3.0-SNAPSHOT"}, map[string]string{}},
		{"remove pattern on tags", ContainerSpec(), false, images, RetentionPolicy{RemovePattern: "re:^pr-"},
			[]string{"sha256:c"}, map[string]string{}},
		{"untagged keeps platforms and signatures", ContainerSpec(), false, images, RetentionPolicy{Untagged: true},
			[]string{"sha256:b", "sha256:d"}, map[string]string{"sha256:p1": "needed by sha256:idx", "sha256:p2": "needed by sha256:idx", "sha256:sig": "refers to sha256:idx, which stays"}},
		{"untagged and older than", ContainerSpec(), false, images, RetentionPolicy{Untagged: true, OlderThan: 10 * day},
			[]string{"sha256:b"}, map[string]string{"sha256:p1": "needed by sha256:idx", "sha256:p2": "needed by sha256:idx", "sha256:sig": "refers to sha256:idx, which stays"}},
		{"everything old goes but the last version", NpmSpec(), false, lonely, RetentionPolicy{OlderThan: day},
			nil, map[string]string{"1.0.0": "the last version"}},
		{"every tagged image would go: the newest tagged stays with what it needs", ContainerSpec(), false, images, RetentionPolicy{OlderThan: day},
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:d"},
			map[string]string{"sha256:idx": "the last tagged version", "sha256:p1": "needed by sha256:idx", "sha256:p2": "needed by sha256:idx", "sha256:sig": "refers to sha256:idx, which stays"}},
		{"untagged images may all go", ContainerSpec(), false, untaggedImages, RetentionPolicy{KeepNewest: 1, Untagged: true},
			nil, map[string]string{}},
		{"every image goes but the last tagged", ContainerSpec(), false, untaggedImages, RetentionPolicy{OlderThan: day},
			[]string{"sha256:x"}, map[string]string{"sha256:y": "the last tagged version"}},
		{"popular public versions stay", NpmSpec(), true, []VersionInfo{ver("0.1.0", 90*day, "downloads"), ver("0.2.0", 80*day), ver("0.3.0", 1*day)},
			RetentionPolicy{OlderThan: 50 * day}, []string{"0.2.0"}, map[string]string{"0.1.0": "more than 5000 downloads"}},
		{"popular private versions go", NpmSpec(), false, []VersionInfo{ver("0.1.0", 90*day, "downloads"), ver("0.3.0", 1*day)},
			RetentionPolicy{OlderThan: 50 * day}, []string{"0.1.0"}, map[string]string{}},
		{"builds only delete no version", MavenSpec(), false, maven, RetentionPolicy{KeepBuilds: 1}, nil, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewService(nil, nil, Options{Specs: MustSpecs(tc.spec)})
			tc.policy.Type = tc.spec.Type
			c, err := s.compile(&tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			pkg := &Package{Type: tc.spec.Type, Visibility: Private}
			if tc.public {
				pkg.Visibility = Public
			}
			v := s.evaluate(c, &tc.spec, pkg, tc.vs, now)
			var removed []string
			for _, x := range v.remove {
				removed = append(removed, x.Name)
			}
			slices.Sort(removed)
			if !slices.Equal(removed, tc.remove) {
				t.Errorf("removed %v, want %v", removed, tc.remove)
			}
			kept := map[string]string{}
			for _, k := range v.kept {
				kept[k.Version.Name] = k.Reason
			}
			for name, reason := range tc.kept {
				if kept[name] != reason {
					t.Errorf("%s kept for %q, want %q", name, kept[name], reason)
				}
			}
			if len(kept) != len(tc.kept) {
				t.Errorf("kept %v, want %v", kept, tc.kept)
			}
			for _, x := range v.remove {
				if v.stay[x.ID] {
					t.Errorf("%s both stays and goes", x.Name)
				}
			}
			if len(v.remove)+len(v.stay) != len(tc.vs) {
				t.Errorf("%d removed and %d staying of %d versions", len(v.remove), len(v.stay), len(tc.vs))
			}
		})
	}
}

func TestRetentionCompile(t *testing.T) {
	s := NewService(nil, nil, Options{Specs: BuiltinSpecs()})
	for _, tc := range []struct {
		name string
		p    RetentionPolicy
		ok   bool
	}{
		{"keep newest", RetentionPolicy{Type: TypeNpm, KeepNewest: 3}, true},
		{"builds on maven", RetentionPolicy{Type: TypeMaven, KeepBuilds: 2}, true},
		{"no rule", RetentionPolicy{Type: TypeNpm, KeepPattern: "*"}, false},
		{"unknown type", RetentionPolicy{Type: "cargo", KeepNewest: 1}, false},
		{"builds on npm", RetentionPolicy{Type: TypeNpm, KeepBuilds: 2}, false},
		{"negative", RetentionPolicy{Type: TypeNpm, KeepNewest: -1}, false},
		{"seconds", RetentionPolicy{Type: TypeNpm, OlderThan: time.Second}, false},
		{"bad name", RetentionPolicy{Type: TypeNpm, KeepNewest: 1, Name: "["}, false},
		{"bad keep", RetentionPolicy{Type: TypeNpm, KeepNewest: 1, KeepPattern: "re:("}, false},
		{"bad remove", RetentionPolicy{Type: TypeNpm, RemovePattern: "re:"}, false},
	} {
		_, err := s.compile(&tc.p)
		if (err == nil) != tc.ok || (err != nil && KindOf(err) != KindInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
