// Package config turns flags, PACKHUB_* environment variables and an
// optional JSON config file into one validated Config.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything `packhub serve` and the admin commands need.
type Config struct {
	Addr       string // REST API, web, OCI container, npm, Maven, RubyGems, NuGet
	DataDir    string // embedded default: SQLite database and blob files
	Database   string // SQLite file path or postgres:// URL
	BlobStore  string // file:///path or s3://bucket?...
	BaseURL    string // external URL, no trailing slash
	DockerAddr string // second listener for the docker package type; "" = off
	TLSCert    string
	TLSKey     string

	// TokenKey signs registry bearer tokens; replicas must share it. When
	// empty, a key is generated once and kept in the data directory.
	TokenKey string
	// RestoreWindow is how long deleted packages can be restored before
	// the purge job removes them.
	RestoreWindow time.Duration
	// PurgeInterval is how often the purge job runs; 0 turns it off.
	PurgeInterval time.Duration
	// UploadMaxAge is how long an idle upload session is kept.
	UploadMaxAge    time.Duration
	MaxBlobSize     int64
	MaxManifestSize int64
	MaxTarballSize  int64
	LogLevel        string
	LogFormat       string // "text" or "json"

	// MaxNuGetPackageSize bounds a pushed .nupkg or .snupkg, and
	// MaxNuGetUnpackedSize what it may unpack to (a zip bomb stops there).
	MaxNuGetPackageSize, MaxNuGetUnpackedSize int64
}

// Defaults returns the embedded default configuration.
func Defaults() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./data",
		RestoreWindow:   30 * 24 * time.Hour,
		PurgeInterval:   time.Hour,
		UploadMaxAge:    24 * time.Hour,
		MaxBlobSize:     10 << 30,
		MaxManifestSize: 4 << 20,
		MaxTarballSize:  256 << 20,
		LogLevel:        "info",
		LogFormat:       "text",

		MaxNuGetPackageSize: 256 << 20, MaxNuGetUnpackedSize: 1 << 30,
	}
}

// field describes one setting: its flag name, the pointer it fills, and a
// usage line.
type field struct {
	name  string
	usage string
	set   func(string) error
	get   func() string
}

func (c *Config) fields(storageOnly bool) []field {
	str := func(name, usage string, p *string) field {
		return field{name, usage, func(s string) error { *p = s; return nil }, func() string { return *p }}
	}
	dur := func(name, usage string, p *time.Duration) field {
		return field{name, usage, func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*p = d
			return nil
		}, func() string { return p.String() }}
	}
	size := func(name, usage string, p *int64) field {
		return field{name, usage, func(s string) error {
			n, err := ParseSize(s)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*p = n
			return nil
		}, func() string { return fmt.Sprint(*p) }}
	}
	fs := []field{
		str("data-dir", "directory of the embedded default: SQLite database and blob files", &c.DataDir),
		str("database", "database: a SQLite file path (default <data-dir>/packhub.db) or a postgres:// URL", &c.Database),
		str("blob-store", "blob store: file:///path (default <data-dir>/blobs) or s3://bucket?endpoint=…&region=…", &c.BlobStore),
		str("log-level", "log level: debug, info, warn or error", &c.LogLevel),
		str("log-format", "log format: text or json", &c.LogFormat),
		dur("restore-window", "how long deleted packages and versions can be restored", &c.RestoreWindow),
		dur("upload-max-age", "how long an idle upload session is kept", &c.UploadMaxAge),
	}
	if storageOnly {
		return fs
	}
	return append(fs,
		str("addr", "listen address of the REST API and every registry", &c.Addr),
		str("base-url", "external URL written into responses (default http://<addr>)", &c.BaseURL),
		str("docker-addr", "listen address for the legacy docker package type (default off)", &c.DockerAddr),
		str("tls-cert", "TLS certificate file: serve HTTPS on every listener", &c.TLSCert),
		str("tls-key", "TLS key file", &c.TLSKey),
		str("token-key", "key that signs registry bearer tokens; replicas must share it (default: generated in the data dir)", &c.TokenKey),
		dur("purge-interval", "how often the purge job runs (0: never)", &c.PurgeInterval),
		size("max-blob-size", "largest blob accepted (bytes, or with KiB/MiB/GiB)", &c.MaxBlobSize),
		size("max-manifest-size", "largest OCI manifest accepted", &c.MaxManifestSize),
		size("max-tarball-size", "largest npm tarball accepted", &c.MaxTarballSize),
		size("max-nuget-package-size", "largest NuGet package (.nupkg, .snupkg) accepted", &c.MaxNuGetPackageSize),
		size("max-nuget-unpacked-size", "most bytes a NuGet package may unpack to (refuses zip bombs)", &c.MaxNuGetUnpackedSize),
	)
}

// flagValue adapts a field to flag.Value.
type flagValue struct{ f field }

func (v flagValue) String() string {
	if v.f.get == nil {
		return ""
	}
	return v.f.get()
}
func (v flagValue) Set(s string) error { return v.f.set(s) }

// Loader binds a Config to a FlagSet and finishes it after parsing.
type Loader struct {
	cfg        *Config
	fields     []field
	configFile string
	fs         *flag.FlagSet
}

// Bind registers the settings on fs. With storageOnly, only the settings
// the admin commands need are bound (they open the same storage).
func Bind(fs *flag.FlagSet, cfg *Config, storageOnly bool) *Loader {
	l := &Loader{cfg: cfg, fields: cfg.fields(storageOnly), fs: fs}
	for _, f := range l.fields {
		fs.Var(flagValue{f}, f.name, f.usage)
	}
	fs.StringVar(&l.configFile, "config", os.Getenv("PACKHUB_CONFIG"), "optional JSON config file with the same keys as the flags")
	return l
}

// Finish applies, below the flags that were set, the environment and the
// config file, then fills derived defaults and validates.
func (l *Loader) Finish(getenv func(string) string) error {
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var file map[string]any
	if l.configFile != "" {
		b, err := os.ReadFile(l.configFile)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := json.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("config file %s: %w", l.configFile, err)
		}
	}
	known := map[string]bool{}
	for _, f := range l.fields {
		known[f.name] = true
		if set[f.name] {
			continue
		}
		if v := getenv(EnvName(f.name)); v != "" {
			if err := f.set(v); err != nil {
				return fmt.Errorf("environment %s: %w", EnvName(f.name), err)
			}
			continue
		}
		if v, ok := file[f.name]; ok {
			if err := f.set(fmt.Sprint(v)); err != nil {
				return fmt.Errorf("config file: %w", err)
			}
		}
	}
	for k := range file {
		if !known[k] {
			return fmt.Errorf("config file %s: unknown setting %q", l.configFile, k)
		}
	}
	return l.cfg.complete()
}

// EnvName returns the environment variable of a flag: PACKHUB_<FLAG>.
func EnvName(flagName string) string {
	return "PACKHUB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// complete fills derived defaults and validates.
func (c *Config) complete() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "packhub.db")
	}
	if c.BlobStore == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			errs = append(errs, fmt.Errorf("data-dir: %w", err))
		}
		c.BlobStore = "file://" + abs
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
		}
	}
	if c.DockerAddr != "" {
		if _, _, err := net.SplitHostPort(c.DockerAddr); err != nil {
			errs = append(errs, fmt.Errorf("docker-addr %q: %w", c.DockerAddr, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	if c.BaseURL == "" && c.Addr != "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.BaseURL = scheme + "://" + c.Addr
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base-url %q must be an absolute http(s) URL", c.BaseURL))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: use debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: use text or json", c.LogFormat))
	}
	if c.RestoreWindow <= 0 {
		errs = append(errs, errors.New("restore-window must be positive"))
	}
	if c.PurgeInterval < 0 {
		errs = append(errs, errors.New("purge-interval must not be negative"))
	}
	for name, v := range map[string]int64{"max-blob-size": c.MaxBlobSize, "max-manifest-size": c.MaxManifestSize, "max-tarball-size": c.MaxTarballSize,
		"max-nuget-package-size": c.MaxNuGetPackageSize, "max-nuget-unpacked-size": c.MaxNuGetUnpackedSize} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	return errors.Join(errs...)
}

// ParseSize parses a byte count: a plain number or one with a KiB, MiB,
// GiB (or KB, MB, GB, read as powers of 1024) suffix.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	if n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return n * mult, nil
}

// ParseArgs parses fs from args, letting flags stand before or after
// positional arguments; it returns the positional arguments.
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
