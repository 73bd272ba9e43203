// Package config turns flags, PACKHUB_* environment variables and an
// optional JSON config file into one validated Config.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything `packhub serve` and the admin commands need.
type Config struct {
	Addr      string // REST API, OCI container registry, npm registry
	DataDir   string // embedded default: SQLite database and blob files
	Database  string // SQLite file path or postgres:// URL
	BlobStore string // file:///path
	// BaseURL is the external URL, without a trailing slash. When it is
	// not set and Addr's port is 0, it stays empty until the listener is
	// bound: the server derives it from the port it got.
	BaseURL    string
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

	// MaxNpmManifestSize bounds one version's manifest in an npm publish
	// (and each other member of the document), as sent.
	MaxNpmManifestSize int64
	// MaxLargeBodies caps the request bodies over LargeBodySize (or of
	// unknown length) that are read at once by the fronts that hold what
	// they read, such as npm publish documents; 0 turns the cap off.
	MaxLargeBodies int
	LargeBodySize  int64
	// Maven registry: the largest file a deploy may send, how many of the
	// newest builds of each SNAPSHOT version are kept (0: all), and whether
	// a deploy may replace a release's file with other content.
	MaxMavenFileSize       int64
	MavenSnapshotRetention int
	MavenAllowRedeploy     bool
	// MaxGemSize bounds a pushed .gem; MaxGemMetadataSize what its
	// metadata.gz may unpack to.
	MaxGemSize         int64
	MaxGemMetadataSize int64
	// MaxNuGetPackageSize bounds a pushed .nupkg or .snupkg, and
	// MaxNuGetUnpackedSize what it may unpack to (a zip bomb stops there).
	MaxNuGetPackageSize, MaxNuGetUnpackedSize int64
	// BlobRedirect answers downloads of blobs of at least
	// BlobRedirectMinSize with a redirect to a URL the blob store
	// presigns (an s3:// store), instead of streaming them.
	BlobRedirect        bool
	BlobRedirectMinSize int64
	// Webhook deliveries: how long one attempt may take, the wait after
	// the first failed attempt (doubled after each further one, up to an
	// hour), and how many attempts a delivery gets.
	WebhookTimeout     time.Duration
	WebhookRetryBase   time.Duration
	WebhookMaxAttempts int
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

		MaxNpmManifestSize:   8 << 20,
		MaxLargeBodies:       4,
		LargeBodySize:        1 << 20,
		MaxMavenFileSize:     1 << 30,
		MaxGemSize:           256 << 20,
		MaxGemMetadataSize:   4 << 20,
		MaxNuGetPackageSize:  256 << 20,
		MaxNuGetUnpackedSize: 1 << 30,
		BlobRedirectMinSize:  8 << 20,
		WebhookTimeout:       10 * time.Second,
		WebhookRetryBase:     10 * time.Second,
		WebhookMaxAttempts:   8,
	}
}

// field describes one setting: its flag name, a usage line, whether the
// storage-only commands take it, and how to set and show it.
type field struct {
	name    string
	meta    string // what help calls the value: DIR, URL, DURATION…
	usage   string
	storage bool
	set     func(string) error
	get     func() string
}

func (c *Config) fields() []field {
	str := func(name, meta, usage string, p *string) field {
		return field{name: name, meta: meta, usage: usage, set: func(s string) error { *p = s; return nil }, get: func() string { return *p }}
	}
	dur := func(name, usage string, p *time.Duration) field {
		return field{name: name, meta: "DURATION", usage: usage, set: func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			*p = d
			return nil
		}, get: func() string { return p.String() }}
	}
	size := func(name, usage string, p *int64) field {
		return field{name: name, meta: "SIZE", usage: usage, set: func(s string) error {
			n, err := ParseSize(s)
			if err != nil {
				return err
			}
			*p = n
			return nil
		}, get: func() string { return FormatSize(*p) }}
	}
	num := func(name, usage string, p *int) field {
		return field{name: name, meta: "N", usage: usage, set: func(s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("invalid number %q", s)
			}
			*p = n
			return nil
		}, get: func() string { return strconv.Itoa(*p) }}
	}
	boolean := func(name, usage string, p *bool) field {
		return field{name: name, meta: "BOOL", usage: usage, set: func(s string) error {
			v, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			*p = v
			return nil
		}, get: func() string { return strconv.FormatBool(*p) }}
	}
	storage := func(f field) field { f.storage = true; return f }
	return []field{
		storage(str("data-dir", "DIR", "directory of the embedded default: SQLite database and blob files", &c.DataDir)),
		storage(str("database", "PATH|URL", "a SQLite file path (default <data-dir>/packhub.db) or a postgres:// URL", &c.Database)),
		storage(str("blob-store", "URL", "file:///path (default <data-dir>/blobs)", &c.BlobStore)),
		storage(str("log-level", "LEVEL", "log level: debug, info, warn or error", &c.LogLevel)),
		storage(str("log-format", "FORMAT", "log format: text or json", &c.LogFormat)),
		storage(dur("restore-window", "how long deleted packages and versions can be restored", &c.RestoreWindow)),
		storage(dur("upload-max-age", "how long an idle upload session is kept", &c.UploadMaxAge)),
		str("addr", "HOST:PORT", "listen address of the REST API and every registry (port 0: any free port)", &c.Addr),
		str("base-url", "URL", "external URL written into responses (default http://<addr>)", &c.BaseURL),
		str("docker-addr", "HOST:PORT", "listen address for the legacy docker package type (default off)", &c.DockerAddr),
		str("tls-cert", "FILE", "TLS certificate file (PEM): serve HTTPS on every listener", &c.TLSCert),
		str("tls-key", "FILE", "TLS private key file (PEM)", &c.TLSKey),
		str("token-key", "KEY", "key that signs registry bearer tokens; replicas must share it (default: generated in the data dir)", &c.TokenKey),
		dur("purge-interval", "how often the purge job runs (0: never)", &c.PurgeInterval),
		size("max-blob-size", "largest blob accepted (bytes, or with KiB/MiB/GiB)", &c.MaxBlobSize),
		size("max-manifest-size", "largest OCI manifest accepted", &c.MaxManifestSize),
		size("max-tarball-size", "largest npm tarball accepted", &c.MaxTarballSize),
		size("max-npm-manifest-size", "largest version manifest (and other document member) an npm publish may carry", &c.MaxNpmManifestSize),
		num("max-large-bodies", "how many large request bodies (npm documents) are read at once (0: no cap)", &c.MaxLargeBodies),
		size("large-body-size", "size over which a request body counts as large for max-large-bodies", &c.LargeBodySize),
		size("max-maven-file-size", "largest file a Maven deploy may send", &c.MaxMavenFileSize),
		num("maven-snapshot-retention", "newest builds kept of each Maven SNAPSHOT version (0: all)", &c.MavenSnapshotRetention),
		boolean("maven-allow-redeploy", "let a deploy replace a Maven release's file with other content", &c.MavenAllowRedeploy),
		size("max-gem-size", "largest .gem accepted by the RubyGems registry", &c.MaxGemSize),
		size("max-gem-metadata-size", "most bytes a gem's metadata.gz may unpack to", &c.MaxGemMetadataSize),
		size("max-nuget-package-size", "largest NuGet package (.nupkg, .snupkg) accepted", &c.MaxNuGetPackageSize),
		size("max-nuget-unpacked-size", "most bytes a NuGet package may unpack to (refuses zip bombs)", &c.MaxNuGetUnpackedSize),
		boolean("blob-redirect", "redirect large blob downloads to a URL the blob store presigns (s3:// stores)", &c.BlobRedirect),
		size("blob-redirect-min-size", "smallest blob download that blob-redirect redirects", &c.BlobRedirectMinSize),
		dur("webhook-timeout", "how long one webhook delivery attempt may take", &c.WebhookTimeout),
		dur("webhook-retry-base", "wait after a failed webhook delivery attempt, doubled after each further failure (up to 1h)", &c.WebhookRetryBase),
		num("webhook-max-attempts", "attempts a webhook delivery gets before it is failed", &c.WebhookMaxAttempts),
	}
}

// flagValue adapts a field to flag.Value. Set only records the text: the
// Loader parses every value in Finish, so that all problems are reported
// together.
type flagValue struct {
	f   *field
	raw map[string]string
}

func (v flagValue) String() string {
	if v.f == nil {
		return ""
	}
	return v.f.get()
}

// Placeholder names the value in help.
func (v flagValue) Placeholder() string {
	if v.f == nil {
		return "VALUE"
	}
	return v.f.meta
}

func (v flagValue) Set(s string) error {
	v.raw[v.f.name] = s
	return nil
}

// Loader binds a Config to a FlagSet and finishes it after parsing.
type Loader struct {
	cfg        *Config
	fields     []field // every setting, bound or not
	storage    bool    // only the storage settings are bound
	flags      map[string]string
	configFile string
}

// Bind registers the settings on fs, with --config. With storageOnly, only
// the settings the admin commands need are bound (they open the same
// storage); a config file may still hold the others, which they ignore.
func Bind(fs *flag.FlagSet, cfg *Config, storageOnly bool) *Loader {
	l := &Loader{cfg: cfg, fields: cfg.fields(), storage: storageOnly, flags: map[string]string{}}
	for i := range l.fields {
		if f := &l.fields[i]; l.bound(f) {
			fs.Var(flagValue{f, l.flags}, f.name, f.usage)
		}
	}
	fs.StringVar(&l.configFile, "config", os.Getenv("PACKHUB_CONFIG"), "JSON file with settings as keys, e.g. {\"data-dir\": \"/srv/packhub\"} (env PACKHUB_CONFIG)")
	return l
}

func (l *Loader) bound(f *field) bool { return f.storage || !l.storage }

// IsSetting reports whether a flag name is one of the settings (or
// --config) rather than a flag of one command.
func IsSetting(name string) bool {
	if name == "config" {
		return true
	}
	for _, f := range (&Config{}).fields() {
		if f.name == name {
			return true
		}
	}
	return false
}

// Finish applies, below the flags that were set, the environment and the
// config file, then fills derived defaults and validates. Every problem
// found is reported, joined in one error.
func (l *Loader) Finish(getenv func(string) string) error {
	var errs []error
	file, err := l.readFile()
	if err != nil {
		errs = append(errs, err)
	}
	known := map[string]bool{}
	for i := range l.fields {
		f := &l.fields[i]
		known[f.name] = true
		if !l.bound(f) {
			continue
		}
		if v, ok := l.flags[f.name]; ok {
			if err := f.set(v); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", f.name, err))
			}
			continue
		}
		if v := getenv(EnvName(f.name)); v != "" {
			if err := f.set(v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", EnvName(f.name), err))
			}
			continue
		}
		if v, ok := file[f.name]; ok {
			if err := setFromJSON(f, v); err != nil {
				errs = append(errs, fmt.Errorf("config file %s: %s: %w", l.configFile, f.name, err))
			}
		}
	}
	var unknown []string
	for k := range file {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, fmt.Errorf("config file %s: unknown setting %q", l.configFile, k))
	}
	if err := l.cfg.complete(); err != nil {
		errs = append(errs, err)
	}
	if !l.storage {
		if err := l.cfg.checkShared(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readFile reads the config file, if one is named, keeping numbers as
// they are written.
func (l *Loader) readFile() (map[string]any, error) {
	if l.configFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(l.configFile)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var file map[string]any
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("config file %s: %w", l.configFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("config file %s: more than one JSON value", l.configFile)
	}
	return file, nil
}

// setFromJSON sets a field from a config file value: a string, or a
// number for the durations' and sizes' plain forms.
func setFromJSON(f *field, v any) error {
	switch v := v.(type) {
	case string:
		return f.set(v)
	case json.Number:
		return f.set(v.String())
	}
	return errors.New("must be a string or a number")
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
	} else if err := checkDatabase(c.Database); err != nil {
		errs = append(errs, err)
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
		if _, port, err := net.SplitHostPort(c.Addr); err == nil && port != "0" {
			c.BaseURL = c.DerivedBaseURL(c.Addr)
		}
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
	if c.MavenSnapshotRetention < 0 {
		errs = append(errs, errors.New("maven-snapshot-retention must not be negative"))
	}
	if c.MaxMavenFileSize < 0 {
		errs = append(errs, errors.New("max-maven-file-size must not be negative"))
	}
	for name, v := range map[string]int64{"max-blob-size": c.MaxBlobSize, "max-manifest-size": c.MaxManifestSize, "max-tarball-size": c.MaxTarballSize, "large-body-size": c.LargeBodySize,
		"max-gem-size": c.MaxGemSize, "max-gem-metadata-size": c.MaxGemMetadataSize,
		"max-nuget-package-size": c.MaxNuGetPackageSize, "max-nuget-unpacked-size": c.MaxNuGetUnpackedSize,
		"blob-redirect-min-size": c.BlobRedirectMinSize} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if c.MaxNpmManifestSize < minNpmManifestSize || c.MaxNpmManifestSize > maxNpmManifestSize {
		errs = append(errs, fmt.Errorf("max-npm-manifest-size must be between %dKiB and %dMiB", minNpmManifestSize>>10, maxNpmManifestSize>>20))
	}
	if c.MaxLargeBodies < 0 {
		errs = append(errs, errors.New("max-large-bodies must not be negative"))
	}
	if c.WebhookTimeout <= 0 || c.WebhookRetryBase <= 0 {
		errs = append(errs, errors.New("webhook-timeout and webhook-retry-base must be positive"))
	}
	if c.WebhookMaxAttempts < 1 {
		errs = append(errs, errors.New("webhook-max-attempts must be at least 1"))
	}
	return errors.Join(errs...)
}

// checkShared refuses a server configuration that several replicas could
// share without agreeing on the registry token key: PostgreSQL with a blob
// store that is not a local directory (s3://) is the storage of a
// scale-out, and a key generated into each replica's own data directory
// would make the bearer tokens and upload sessions of one replica
// worthless on the others. The single-process default keeps its
// generated key.
func (c *Config) checkShared() error {
	if c.TokenKey != "" || !IsPostgres(c.Database) || isLocalBlobStore(c.BlobStore) {
		return nil
	}
	return errors.New("token-key must be set when the database is PostgreSQL and the blob store is not a local directory: " +
		"every replica must sign registry tokens and upload sessions with the same key " +
		"(give each one the same --token-key or PACKHUB_TOKEN_KEY, e.g. from `openssl rand -hex 32`)")
}

// isLocalBlobStore reports whether a blob store setting names a directory
// on local disk: a file:// URL or a plain path.
func isLocalBlobStore(blobStore string) bool {
	scheme, _, ok := strings.Cut(blobStore, "://")
	return !ok || strings.EqualFold(scheme, "file")
}

// DerivedBaseURL is the external URL of a listener on addr when none is
// configured: http, or https with TLS.
func (c *Config) DerivedBaseURL(addr string) string {
	if c.TLSCert != "" {
		return "https://" + addr
	}
	return "http://" + addr
}

// IsPostgres reports whether a database setting names PostgreSQL.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// checkDatabase refuses a database URL of a kind Packhub cannot open. The
// URL is not echoed: it may hold a password.
func checkDatabase(database string) error {
	scheme, _, ok := strings.Cut(database, "://")
	if !ok {
		return nil // a SQLite file path
	}
	switch scheme {
	case "postgres", "postgresql", "sqlite", "file":
		return nil
	}
	return fmt.Errorf("database: %q URLs are not supported: use a SQLite file path or a postgres:// URL", scheme)
}

// Bounds of max-npm-manifest-size: a manifest must have room for npm's
// readme of 64 KiB, and the limit exists to keep what a publish holds in
// memory small.
const (
	minNpmManifestSize = 64 << 10
	maxNpmManifestSize = 256 << 20
)

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

// FormatSize writes a byte count as ParseSize reads it, with the largest
// unit that divides it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprint(n)
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
