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
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := Defaults()
	l := Bind(fs, &cfg, false)
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
