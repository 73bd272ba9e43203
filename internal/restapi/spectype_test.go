package restapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/testenv"
)

// TestTypeFromSpecOnly registers a package type that exists only in this
// test: the REST API lists it, renders its versions with the metadata its
// spec gives and applies its last-version policy, with no line changed
// outside the spec.
func TestTypeFromSpecOnly(t *testing.T) {
	const typ packages.Type = "widget"
	spec := packages.Spec{
		Type:                typ,
		Scoping:             packages.Granular,
		LastVersion:         packages.LastVersionAllowed,
		RegistryLastVersion: packages.LastVersionAllowed,
		NormalizeVersion: func(name string) (string, error) {
			return strings.ToLower(name), nil
		},
		Metadata: func(v *packages.VersionInfo) (string, any) {
			return "widget", map[string]any{"shape": "round", "version": v.Name}
		},
	}
	specs, err := packages.BuiltinSpecs().With(spec)
	if err != nil {
		t.Fatal(err)
	}
	testenv.EachWithSpecs(t, specs, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		ref := packages.PackageRef{Owner: "alice", Scope: packages.AnyOwner, Type: typ, Name: "gizmo"}
		vs := env.Publish(tok, ref, "", "1.0.0", "2.0.0")
		srv := httptest.NewServer(restapi.New(env.Service, restapi.Options{}))
		t.Cleanup(srv.Close)

		get := func(path string, want int) []byte {
			t.Helper()
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if resp.StatusCode != want {
				t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, want)
			}
			return b
		}
		var list []struct {
			Name        string `json:"name"`
			PackageType string `json:"package_type"`
		}
		if err := json.Unmarshal(get("/users/alice/packages?package_type=widget", 200), &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Name != "gizmo" || list[0].PackageType != "widget" {
			t.Fatalf("list: %+v", list)
		}
		var versions []struct {
			Name     string          `json:"name"`
			Metadata json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(get("/users/alice/packages/widget/gizmo/versions", 200), &versions); err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 {
			t.Fatalf("versions: %+v", versions)
		}
		want := `{"package_type":"widget","widget":{"shape":"round","version":"2.0.0"}}`
		var got bytes.Buffer
		if err := json.Compact(&got, versions[0].Metadata); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Fatalf("metadata %s, want %s", got.String(), want)
		}
		// The built-in types still reject what they always did, and the
		// enum in the error names the new type.
		body := string(get("/users/alice/packages?package_type=gadget", 400))
		if !strings.Contains(body, "npm, maven, rubygems, docker, nuget, container, widget") {
			t.Fatalf("invalid type message: %s", body)
		}
		// The spec's policy: the last version may go, by id or by name
		// (normalised by the spec).
		a := env.Actor(tok)
		if err := env.Service.DeleteVersion(t.Context(), a, ref, vs[0].ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Service.DeleteVersionsByName(t.Context(), a, ref, "2.0.0"); err != nil {
			t.Fatalf("delete the last version by name: %v", err)
		}
		if _, err := env.Service.DeleteVersionsByName(t.Context(), a, ref, "2.0.0"); !errors.Is(err, packages.ErrVersionNotFound) {
			t.Fatalf("delete a deleted version: %v", err)
		}
	})
}
