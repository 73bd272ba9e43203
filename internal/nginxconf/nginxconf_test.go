package nginxconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
)

// docSite is the example docs/operations.md shows.
var docSite = Site{
	Listen:     "80",
	ServerName: "packages.example.com",
	Replicas:   []string{"10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"},
}

// TestDocsShowTheGeneratedConfig: the configuration in docs/operations.md
// is the one this package writes (and the scale-out test runs), byte for
// byte.
func TestDocsShowTheGeneratedConfig(t *testing.T) {
	want, err := docSite.Render()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	const open = "```nginx\n"
	start := strings.Index(string(doc), open)
	if start < 0 {
		t.Fatal("docs/operations.md has no nginx block")
	}
	rest := string(doc)[start+len(open):]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatal("the nginx block of docs/operations.md does not end")
	}
	if got := rest[:end]; got != string(want) {
		t.Fatalf("docs/operations.md shows another configuration than nginxconf renders; replace its nginx block with:\n%s", want)
	}
}

func TestRender(t *testing.T) {
	b, err := Standalone{Site: Site{Listen: "127.0.0.1:9000", Replicas: []string{"127.0.0.1:1", "127.0.0.1:2", "[::1]:3"}}, Dir: "/tmp/x"}.Render()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"daemon off;", "pid /tmp/x/nginx.pid;", "upstream packhub {",
		"server 127.0.0.1:1 max_fails=1", "server 127.0.0.1:2 max_fails=1", "server [::1]:3 max_fails=1",
		"listen 127.0.0.1:9000;", "client_max_body_size 0;", "proxy_request_buffering off;", "proxy_buffering off;",
		"proxy_next_upstream error timeout;",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("config lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "server_name") || strings.Contains(s, "user ") {
		t.Errorf("unset server_name or user written:\n%s", s)
	}
	if strings.Count(s, "{") != strings.Count(s, "}") {
		t.Errorf("unbalanced braces:\n%s", s)
	}
}

func TestRenderRefuses(t *testing.T) {
	for name, s := range map[string]Site{
		"no listen":            {Replicas: []string{"127.0.0.1:1"}},
		"no replicas":          {Listen: "80"},
		"replica without port": {Listen: "80", Replicas: []string{"127.0.0.1"}},
		"syntax in a name":     {Listen: "80", ServerName: "a; include /etc/passwd", Replicas: []string{"127.0.0.1:1"}},
		"syntax in a replica":  {Listen: "80", Replicas: []string{"127.0.0.1:1;x"}},
	} {
		if _, err := s.Render(); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
	if _, err := (Standalone{Site: docSite, Dir: "relative"}).Render(); err == nil {
		t.Error("a relative directory was taken")
	}
}

// TestNginxAcceptsIt checks both renderings with nginx -t.
func TestNginxAcceptsIt(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			testenv.Missing(t, "nginx is not installed; scripts/install-test-deps.sh installs it")
		}
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "root"
	}
	site, err := docSite.Render()
	if err != nil {
		t.Fatal(err)
	}
	// The documented site, included as conf.d files are.
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), site, 0o600); err != nil {
		t.Fatal(err)
	}
	wrapper := "pid " + filepath.Join(dir, "t.pid") + ";\nerror_log " + filepath.Join(dir, "t.log") + ";\nevents {}\nhttp {\n    include " + filepath.Join(dir, "site.conf") + ";\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "wrapper.conf"), []byte(wrapper), 0o600); err != nil {
		t.Fatal(err)
	}
	full, err := Standalone{Site: Site{Listen: "127.0.0.1:1", Replicas: []string{"127.0.0.1:2", "127.0.0.1:3"}}, Dir: dir, User: user}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), full, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, conf := range []string{"wrapper.conf", "nginx.conf"} {
		out, err := exec.Command(bin, "-t", "-p", dir, "-c", filepath.Join(dir, conf), "-e", filepath.Join(dir, "t.log")).CombinedOutput()
		if err != nil {
			t.Errorf("nginx -t %s: %v\n%s", conf, err, out)
		}
	}
}
