package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"1024", 1024, false},
		{"4MiB", 4 << 20, false},
		{"4 MiB", 4 << 20, false},
		{"10GiB", 10 << 30, false},
		{"2KB", 2 << 10, false},
		{"7B", 7, false},
		{"", 0, true},
		{"abc", 0, true},
		{"-1", 0, true},
		{"1.5GiB", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1000: "1000", 1024: "1KiB", 4 << 20: "4MiB", 10 << 30: "10GiB", 1<<20 + 1: "1048577"} {
		got := FormatSize(n)
		if got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseSize(got); err != nil || back != n {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
}

func TestParseArgsInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	a := fs.String("a", "", "")
	b := fs.Bool("b", false, "")
	pos, err := ParseArgs(fs, []string{"one", "--a", "x", "two", "-b", "three"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, []string{"one", "two", "three"}) || *a != "x" || !*b {
		t.Fatalf("pos %v a %q b %v", pos, *a, *b)
	}
}

// load runs a Loader over args, env and an optional file.
func load(t *testing.T, args []string, env map[string]string, file string) (Config, error) {
	t.Helper()
	return loadFor(t, false, args, env, file)
}

// loadFor is load for the serve command or, with storageOnly, for the
// commands that take only the storage settings.
func loadFor(t *testing.T, storageOnly bool, args []string, env map[string]string, file string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := Defaults()
	l := Bind(fs, &cfg, storageOnly)
	if file != "" {
		p := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	if _, err := ParseArgs(fs, args); err != nil {
		return cfg, err
	}
	return cfg, l.Finish(func(k string) string { return env[k] })
}

func TestPrecedenceAndDefaults(t *testing.T) {
	cfg, err := load(t, []string{"--addr", "127.0.0.1:9000"},
		map[string]string{"PACKHUB_ADDR": "127.0.0.1:9100", "PACKHUB_DATA_DIR": "/srv/ph", "PACKHUB_RESTORE_WINDOW": "48h"},
		`{"addr": "127.0.0.1:9200", "data-dir": "/ignored", "log-level": "debug", "max-blob-size": "1GiB"}`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" {
		t.Errorf("flag must win: addr %q", cfg.Addr)
	}
	if cfg.DataDir != "/srv/ph" || cfg.RestoreWindow != 48*time.Hour {
		t.Errorf("environment must win over the file: %q %v", cfg.DataDir, cfg.RestoreWindow)
	}
	if cfg.LogLevel != "debug" || cfg.MaxBlobSize != 1<<30 {
		t.Errorf("file values: %q %d", cfg.LogLevel, cfg.MaxBlobSize)
	}
	if cfg.Database != "/srv/ph/packhub.db" || cfg.BlobStore != "file:///srv/ph/blobs" || cfg.BaseURL != "http://127.0.0.1:9000" {
		t.Errorf("derived: db %q blobs %q base %q", cfg.Database, cfg.BlobStore, cfg.BaseURL)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"bad addr", []string{"--addr", "nope"}, nil, "", "addr"},
		{"bad docker addr", []string{"--docker-addr", "x"}, nil, "", "docker-addr"},
		{"tls half", []string{"--tls-cert", "c.pem"}, nil, "", "tls-cert and tls-key"},
		{"bad base url", []string{"--base-url", "ftp://x"}, nil, "", "base-url"},
		{"bad level", nil, map[string]string{"PACKHUB_LOG_LEVEL": "loud"}, "", "log-level"},
		{"bad duration", []string{"--restore-window", "soon"}, nil, "", "restore-window"},
		{"zero window", []string{"--restore-window", "0s"}, nil, "", "restore-window must be positive"},
		{"unknown key", nil, nil, `{"adress": "x"}`, `unknown setting "adress"`},
		{"bad json", nil, nil, `{`, "config file"},
		{"bad size", []string{"--max-blob-size", "huge"}, nil, "", "max-blob-size"},
		{"bad size in env", nil, map[string]string{"PACKHUB_MAX_TARBALL_SIZE": "lots"}, "", "PACKHUB_MAX_TARBALL_SIZE"},
		{"bad size in file", nil, nil, `{"max-manifest-size": "big"}`, "max-manifest-size"},
		{"file value of another type", nil, nil, `{"addr": ["x"]}`, "addr: must be a string or a number"},
		{"mysql database", []string{"--database", "mysql://u:secret@db/packhub"}, nil, "", `"mysql" URLs are not supported`},
		{"upper-case postgres", []string{"--database", "POSTGRES://db/packhub"}, nil, "", `"POSTGRES" URLs are not supported`},
		{"two JSON values", nil, nil, `{} {}`, "more than one JSON value"},
		{"npm manifest too small", []string{"--max-npm-manifest-size", "1KiB"}, nil, "", "max-npm-manifest-size must be between"},
		{"npm manifest too large", nil, map[string]string{"PACKHUB_MAX_NPM_MANIFEST_SIZE": "1GiB"}, "", "max-npm-manifest-size must be between"},
		{"npm manifest not a size", nil, nil, `{"max-npm-manifest-size": "big"}`, "max-npm-manifest-size"},
		{"large bodies not a number", []string{"--max-large-bodies", "many"}, nil, "", "max-large-bodies: invalid number"},
		{"negative large bodies", nil, map[string]string{"PACKHUB_MAX_LARGE_BODIES": "-1"}, "", "max-large-bodies must not be negative"},
		{"bad large body size", []string{"--large-body-size", "-5"}, nil, "", "large-body-size"},
		{"bad retention", []string{"--maven-snapshot-retention", "some"}, nil, "", "maven-snapshot-retention"},
		{"negative retention", nil, map[string]string{"PACKHUB_MAVEN_SNAPSHOT_RETENTION": "-1"}, "", "maven-snapshot-retention must not be negative"},
		{"bad redeploy", nil, nil, `{"maven-allow-redeploy": "maybe"}`, "maven-allow-redeploy"},
		{"bad maven file size", []string{"--max-maven-file-size", "-5"}, nil, "", "max-maven-file-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env, tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want it to mention %q", err, tt.want)
			}
		})
	}
	cfg, err := load(t, []string{"--tls-cert", "c", "--tls-key", "k", "--addr", "0.0.0.0:443"}, nil, "")
	if err != nil || cfg.BaseURL != "https://0.0.0.0:443" {
		t.Fatalf("https base url: %q %v", cfg.BaseURL, err)
	}
}

// TestAllProblemsAtOnce: every bad value, from flags, environment and
// file alike, is reported in one error; a password in a database URL is
// not echoed.
func TestAllProblemsAtOnce(t *testing.T) {
	_, err := load(t,
		[]string{"--restore-window", "soon", "--addr", "nope", "--database", "mysql://u:secret@db/x"},
		map[string]string{"PACKHUB_LOG_LEVEL": "loud", "PACKHUB_PURGE_INTERVAL": "often"},
		`{"adress": "x", "max-blob-size": "huge", "log-format": "xml", "zz-unknown": 1}`)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"--restore-window", "addr \"nope\"", `"mysql" URLs`, "log-level \"loud\"", "PACKHUB_PURGE_INTERVAL",
		`unknown setting "adress"`, `unknown setting "zz-unknown"`, "max-blob-size", "log-format \"xml\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error echoes the database password:\n%v", err)
	}
}

// TestOneFileForEveryCommand: the commands that take only the storage
// settings read the file serve reads, and ignore the settings they do
// not take.
func TestOneFileForEveryCommand(t *testing.T) {
	file := `{"addr": "0.0.0.0:8080", "base-url": "https://packages.example.com", "database": "postgres://packhub@db/packhub", "max-blob-size": 1073741824, "tls-cert": "c.pem", "tls-key": "k.pem"}`
	cfg, err := loadFor(t, true, nil, nil, file)
	if err != nil {
		t.Fatalf("storage-only command: %v", err)
	}
	if cfg.Database != "postgres://packhub@db/packhub" {
		t.Errorf("database %q", cfg.Database)
	}
	cfg, err = loadFor(t, false, nil, nil, file)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if cfg.Addr != "0.0.0.0:8080" || cfg.BaseURL != "https://packages.example.com" || cfg.MaxBlobSize != 1<<30 {
		t.Errorf("serve: addr %q base %q max blob %d", cfg.Addr, cfg.BaseURL, cfg.MaxBlobSize)
	}
	if _, err := loadFor(t, true, nil, nil, `{"adress": "x"}`); err == nil || !strings.Contains(err.Error(), `unknown setting "adress"`) {
		t.Errorf("storage-only command, unknown key: %v", err)
	}
	// A storage-only command has no --addr flag.
	if _, err := loadFor(t, true, []string{"--addr", "127.0.0.1:1"}, nil, ""); err == nil {
		t.Error("storage-only command took --addr")
	}
}

// TestPortZeroBaseURL: with port 0 the base URL is left for the server to
// derive from the port it is given.
func TestPortZeroBaseURL(t *testing.T) {
	cfg, err := load(t, []string{"--addr", "127.0.0.1:0"}, nil, "")
	if err != nil || cfg.BaseURL != "" {
		t.Fatalf("base url %q, %v", cfg.BaseURL, err)
	}
	if got := cfg.DerivedBaseURL("127.0.0.1:4321"); got != "http://127.0.0.1:4321" {
		t.Fatalf("derived %q", got)
	}
	cfg, err = load(t, []string{"--addr", "127.0.0.1:0", "--base-url", "https://x.example/"}, nil, "")
	if err != nil || cfg.BaseURL != "https://x.example" {
		t.Fatalf("explicit base url %q, %v", cfg.BaseURL, err)
	}
}

func TestDatabaseForms(t *testing.T) {
	for _, db := range []string{"/srv/packhub.db", "rel/p.db", "postgres://h/db", "postgresql://h/db", "sqlite:x.db", "file:x.db?cache=shared", "file:///srv/x.db"} {
		if _, err := load(t, []string{"--database", db}, nil, ""); err != nil {
			t.Errorf("%s: %v", db, err)
		}
	}
}

func TestIsSetting(t *testing.T) {
	for name, want := range map[string]bool{"addr": true, "data-dir": true, "config": true, "site-admin": false, "role": false} {
		if got := IsSetting(name); got != want {
			t.Errorf("IsSetting(%q) = %v", name, got)
		}
	}
}

// TestBodyLimits covers the npm manifest limit and the cap on large
// bodies: their defaults, and each source that sets them.
func TestBodyLimits(t *testing.T) {
	cfg, err := load(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxNpmManifestSize != 8<<20 || cfg.MaxLargeBodies != 4 || cfg.LargeBodySize != 1<<20 {
		t.Fatalf("defaults: %d %d %d", cfg.MaxNpmManifestSize, cfg.MaxLargeBodies, cfg.LargeBodySize)
	}
	cfg, err = load(t, []string{"--max-npm-manifest-size", "2MiB"},
		map[string]string{"PACKHUB_MAX_LARGE_BODIES": "16"},
		`{"large-body-size": "256KiB", "max-large-bodies": 2, "max-npm-manifest-size": "64MiB"}`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxNpmManifestSize != 2<<20 || cfg.MaxLargeBodies != 16 || cfg.LargeBodySize != 256<<10 {
		t.Fatalf("set: %d %d %d", cfg.MaxNpmManifestSize, cfg.MaxLargeBodies, cfg.LargeBodySize)
	}
	cfg, err = load(t, nil, nil, `{"max-large-bodies": 0}`)
	if err != nil || cfg.MaxLargeBodies != 0 {
		t.Fatalf("no cap: %d %v", cfg.MaxLargeBodies, err)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("data-dir"); got != "PACKHUB_DATA_DIR" {
		t.Fatal(got)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "4MiB", "10 GiB", "-1", "1.5GB", "99999999999999999999KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestMavenSettings(t *testing.T) {
	cfg, err := load(t, nil, nil, "")
	if err != nil || cfg.MaxMavenFileSize != 1<<30 || cfg.MavenSnapshotRetention != 0 || cfg.MavenAllowRedeploy {
		t.Fatalf("defaults: %v %d %d %v", err, cfg.MaxMavenFileSize, cfg.MavenSnapshotRetention, cfg.MavenAllowRedeploy)
	}
	cfg, err = load(t, []string{"--maven-snapshot-retention", "5", "--maven-allow-redeploy=true"}, map[string]string{"PACKHUB_MAX_MAVEN_FILE_SIZE": "2GiB"}, "")
	if err != nil || cfg.MaxMavenFileSize != 2<<30 || cfg.MavenSnapshotRetention != 5 || !cfg.MavenAllowRedeploy {
		t.Fatalf("flags and environment: %v %d %d %v", err, cfg.MaxMavenFileSize, cfg.MavenSnapshotRetention, cfg.MavenAllowRedeploy)
	}
	cfg, err = load(t, nil, map[string]string{"PACKHUB_MAVEN_ALLOW_REDEPLOY": "false"}, `{"maven-snapshot-retention": 3, "maven-allow-redeploy": true}`)
	if err != nil || cfg.MavenSnapshotRetention != 3 || cfg.MavenAllowRedeploy {
		t.Fatalf("file under the environment: %v %d %v", err, cfg.MavenSnapshotRetention, cfg.MavenAllowRedeploy)
	}
}

// TestGemSizes: the RubyGems limits have defaults and come from flags, the
// environment or the file.
func TestGemSizes(t *testing.T) {
	cfg, err := load(t, nil, nil, "")
	if err != nil || cfg.MaxGemSize != 256<<20 || cfg.MaxGemMetadataSize != 4<<20 {
		t.Fatalf("defaults: %d %d %v", cfg.MaxGemSize, cfg.MaxGemMetadataSize, err)
	}
	cfg, err = load(t, []string{"--max-gem-size", "64MiB"}, map[string]string{"PACKHUB_MAX_GEM_METADATA_SIZE": "1MiB"}, "")
	if err != nil || cfg.MaxGemSize != 64<<20 || cfg.MaxGemMetadataSize != 1<<20 {
		t.Fatalf("set: %d %d %v", cfg.MaxGemSize, cfg.MaxGemMetadataSize, err)
	}
	if _, err := load(t, nil, nil, `{"max-gem-size": "big"}`); err == nil || !strings.Contains(err.Error(), "max-gem-size") {
		t.Fatalf("bad size: %v", err)
	}
}

// TestSharedStorageNeedsTokenKey: serve refuses PostgreSQL with a blob
// store other than a local directory unless a token key is given, since
// replicas sharing that storage must share the key; everything else keeps
// the generated key, and the storage-only commands never need one.
func TestSharedStorageNeedsTokenKey(t *testing.T) {
	const pg, s3 = "postgres://db.internal/packhub", "s3://packhub-blobs?region=eu-west-1"
	tests := []struct {
		name        string
		storageOnly bool
		args        []string
		env         map[string]string
		file        string
		refused     bool
	}{
		{"postgres and s3", false, []string{"--database", pg, "--blob-store", s3}, nil, "", true},
		{"postgres and S3 in capitals", false, []string{"--database", pg, "--blob-store", "S3://packhub-blobs"}, nil, "", true},
		{"from the environment", false, nil, map[string]string{"PACKHUB_DATABASE": pg, "PACKHUB_BLOB_STORE": s3}, "", true},
		{"key as a flag", false, []string{"--database", pg, "--blob-store", s3, "--token-key", "k"}, nil, "", false},
		{"key in the environment", false, []string{"--database", pg, "--blob-store", s3}, map[string]string{"PACKHUB_TOKEN_KEY": "k"}, "", false},
		{"key in the file", false, []string{"--database", pg, "--blob-store", s3}, nil, `{"token-key": "k"}`, false},
		{"postgres and a file URL", false, []string{"--database", pg, "--blob-store", "file:///srv/blobs"}, nil, "", false},
		{"postgres and a plain path", false, []string{"--database", pg, "--blob-store", "/srv/blobs"}, nil, "", false},
		{"postgres and the default blobs", false, []string{"--database", pg}, nil, "", false},
		{"sqlite and s3", false, []string{"--blob-store", s3}, nil, "", false},
		{"the default", false, nil, nil, "", false},
		{"admin commands", true, []string{"--database", pg, "--blob-store", s3}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadFor(t, tt.storageOnly, tt.args, tt.env, tt.file)
			if tt.refused {
				if err == nil || !strings.Contains(err.Error(), "token-key must be set") {
					t.Fatalf("err %v, want the token key refusal", err)
				}
				if strings.Contains(err.Error(), "db.internal") {
					t.Fatalf("the error echoes the database URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
