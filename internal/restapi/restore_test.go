package restapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

const day = 24 * time.Hour

func TestRestore(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		tok := w.tok["alice"]
		org := w.tok["carol"]

		t.Run("window", func(t *testing.T) {
			w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "old"}, "", "1.0.0")
			w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "recent"}, "", "1.0.0")
			w.do("DELETE", "/user/packages/npm/old", tok).expect(t, "delete old", 204)
			env.Clock.Advance(day)
			w.do("DELETE", "/user/packages/npm/recent", tok).expect(t, "delete recent", 204)
			env.Clock.Advance(29*day + time.Second) // old: 30 days and a second; recent: 29 days
			w.do("POST", "/user/packages/npm/old/restore", tok).expect(t, "restore after 30 days", 404, "Package not found.")
			w.do("POST", "/user/packages/npm/recent/restore", tok).expect(t, "restore within 30 days", 204)

			ref := packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "versions"}
			vs := w.publish("carol", ref, "", "1.0.0", "2.0.0", "3.0.0")
			p := "/orgs/acme/packages/npm/versions/versions"
			w.do("DELETE", fmt.Sprintf("%s/%d", p, vs[0].ID), org).expect(t, "delete 1.0.0", 204)
			env.Clock.Advance(15 * day)
			w.do("DELETE", fmt.Sprintf("%s/%d", p, vs[1].ID), org).expect(t, "delete 2.0.0", 204)
			var del []verJSON
			w.do("GET", p+"?state=deleted", org).json(t, &del)
			if len(del) != 2 {
				t.Errorf("state=deleted: %d versions, want 2", len(del))
			}
			env.Clock.Advance(15*day + time.Second)
			del = nil
			w.do("GET", p+"?state=deleted", org).json(t, &del)
			if len(del) != 1 || del[0].ID != vs[1].ID || del[0].DeletedAt == nil {
				t.Errorf("state=deleted after the window: %+v", del)
			}
			w.do("POST", fmt.Sprintf("%s/%d/restore", p, vs[0].ID), org).expect(t, "restore version after 30 days", 404, "Package not found.")
			w.do("POST", fmt.Sprintf("%s/%d/restore", p, vs[1].ID), org).expect(t, "restore version within 30 days", 204)
		})

		t.Run("name taken again", func(t *testing.T) {
			ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "reborn"}
			w.publish("alice", ref, "", "1.0.0")
			w.do("DELETE", "/users/alice/packages/npm/reborn", tok).expect(t, "delete", 204)
			w.publish("alice", ref, "", "9.0.0")
			w.do("POST", "/users/alice/packages/npm/reborn/restore", tok).
				expect(t, "restore over a new package", 400, "The package name has been taken by a new package. Delete the new package before restoring this one.")
			w.do("DELETE", "/users/alice/packages/npm/reborn", tok).expect(t, "delete the new package", 204)
			w.do("POST", "/users/alice/packages/npm/reborn/restore", tok).expect(t, "restore", 204)
			var vs []verJSON
			w.do("GET", "/user/packages/npm/reborn/versions", tok).json(t, &vs)
			if len(vs) != 1 {
				t.Fatalf("restored package versions: %+v", vs)
			}

			vref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "republished"}
			v := w.publish("alice", vref, "", "1.0.0", "2.0.0")
			w.do("DELETE", fmt.Sprintf("/user/packages/npm/republished/versions/%d", v[0].ID), tok).expect(t, "delete 1.0.0", 204)
			w.publish("alice", vref, "", "1.0.0")
			w.do("POST", fmt.Sprintf("/user/packages/npm/republished/versions/%d/restore", v[0].ID), tok).
				expect(t, "restore a republished version", 400, "The version has been published again. Delete the new version before restoring this one.")
		})

		t.Run("version of a deleted package", func(t *testing.T) {
			ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "gone"}
			v := w.publish("alice", ref, "", "1.0.0", "2.0.0")
			p := "/user/packages/npm/gone"
			w.do("DELETE", fmt.Sprintf("%s/versions/%d", p, v[0].ID), tok).expect(t, "delete version", 204)
			w.do("DELETE", p, tok).expect(t, "delete package", 204)
			w.do("POST", fmt.Sprintf("%s/versions/%d/restore", p, v[0].ID), tok).expect(t, "restore version of deleted package", 404, "Package not found.")
			w.do("POST", p+"/restore", tok).expect(t, "restore package", 204)
			w.do("POST", fmt.Sprintf("%s/versions/%d/restore", p, v[0].ID), tok).expect(t, "restore version", 204)
			var vs []verJSON
			w.do("GET", p+"/versions", tok).json(t, &vs)
			if len(vs) != 2 {
				t.Errorf("versions after both restores: %d", len(vs))
			}
		})

		t.Run("twice", func(t *testing.T) {
			ref := packages.PackageRef{Owner: "acme", Type: packages.TypeContainer, Name: "twice"}
			v := w.publish("carol", ref, "", digest('a')+"#latest", digest('b')+"#edge,beta")
			p := "/orgs/acme/packages/container/twice"
			w.do("DELETE", fmt.Sprintf("%s/versions/%d", p, v[1].ID), org).expect(t, "delete tagged version", 204)
			var got verJSON
			w.do("GET", fmt.Sprintf("%s/versions/%d", p, v[1].ID), org).json(t, &got)
			if tags := got.Metadata["container"].(map[string]any)["tags"].([]any); len(tags) != 0 || got.DeletedAt == nil {
				t.Errorf("deleted version keeps tags %v or lacks deleted_at", tags)
			}
			w.do("POST", fmt.Sprintf("%s/versions/%d/restore", p, v[1].ID), org).expect(t, "restore version", 204)
			w.do("POST", fmt.Sprintf("%s/versions/%d/restore", p, v[1].ID), org).expect(t, "restore version again", 404, "Package not found.")
			got = verJSON{}
			w.do("GET", fmt.Sprintf("%s/versions/%d", p, v[1].ID), org).json(t, &got)
			if tags := got.Metadata["container"].(map[string]any)["tags"].([]any); len(tags) != 2 || got.DeletedAt != nil {
				t.Errorf("restored version: tags %v, deleted_at %v", tags, got.DeletedAt)
			}

			w.do("DELETE", p, org).expect(t, "delete package", 204)
			w.do("POST", p+"/restore", org).expect(t, "restore package", 204)
			w.do("POST", p+"/restore", org).expect(t, "restore package again", 404, "Package not found.")
		})

		t.Run("state", func(t *testing.T) {
			ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "stateful"}
			v := w.publish("alice", ref, "", "1.0.0", "2.0.0", "3.0.0")
			p := "/user/packages/npm/stateful/versions"
			w.do("DELETE", fmt.Sprintf("%s/%d", p, v[1].ID), tok).expect(t, "delete", 204)
			var del, act []verJSON
			w.do("GET", p+"?state=deleted", tok).json(t, &del)
			w.do("GET", p, tok).json(t, &act)
			if len(del) != 1 || del[0].Name != "2.0.0" || del[0].DeletedAt == nil || !githubTime.MatchString(*del[0].DeletedAt) {
				t.Errorf("state=deleted: %+v", del)
			}
			if len(act) != 2 || act[0].DeletedAt != nil {
				t.Errorf("active: %+v", act)
			}
			w.do("GET", p+"?state=purged", tok).expect(t, "bad state", 400)
			// #21 has no state parameter: it is ignored and active versions come back.
			act = nil
			w.do("GET", "/users/alice/packages/npm/stateful/versions?state=deleted", tok).json(t, &act)
			if len(act) != 2 {
				t.Errorf("#21 with state=deleted: %d versions, want the 2 active", len(act))
			}
		})
	})
}
