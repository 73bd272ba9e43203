// Package nginxconf writes the nginx configuration that puts Packhub
// replicas behind one address: a round-robin upstream of the replicas and
// a server that streams request and response bodies through (pushes of
// gigabyte layers are neither held in memory nor spooled to disk), lets
// Packhub apply its own size limits, and passes a request that found a
// replica down to another one only when it is safe to send it twice.
//
// Site is what docs/operations.md shows for /etc/nginx/conf.d/; Standalone
// wraps it into a whole nginx.conf for running nginx in the foreground with
// every file in one directory, as the scale-out test does.
package nginxconf

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"text/template"
)

// Site describes the upstream and the server nginx proxies them from.
type Site struct {
	// Listen is what nginx listens on: "80", "0.0.0.0:8080",
	// "127.0.0.1:9000".
	Listen string
	// ServerName is the server_name; "" answers any name.
	ServerName string
	// Replicas are the packhub serve addresses (HOST:PORT), tried in turn.
	Replicas []string
	// Upstream names the upstream block; default "packhub".
	Upstream string
}

// Standalone is a whole nginx.conf around a Site, for nginx run in the
// foreground (`nginx -p Dir -c Dir/nginx.conf -e Dir/error.log`) with its
// pid file, logs and temporary directories in Dir.
type Standalone struct {
	Site
	Dir string
	// User runs the worker processes, when nginx starts as root; "" leaves
	// nginx's default.
	User string
}

var site = template.Must(template.New("site").Parse(`# Packhub replicas behind one address. Each replica runs packhub serve with the
# same --database, --blob-store, --token-key and --base-url (this address).
upstream {{.Upstream}} {
{{- range .Replicas}}
    server {{.}} max_fails=1 fail_timeout=5s;
{{- end}}
    keepalive 32;
}

server {
    listen {{.Listen}};
{{- if .ServerName}}
    server_name {{.ServerName}};
{{- end}}

    # Packhub applies its own limits (--max-blob-size and the like).
    client_max_body_size 0;
    # Room for Packhub's own header limit (32 KiB), which answers in the
    # protocol's format.
    large_client_header_buffers 8 64k;

    location / {
        proxy_pass http://{{.Upstream}};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;

        # Stream bodies both ways: uploads reach a replica as they arrive,
        # downloads leave as they are read.
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_redirect off;
        proxy_read_timeout 15m;
        proxy_send_timeout 15m;
        client_body_timeout 15m;

        # A replica that refuses the connection, or is gone, gets the
        # request's next try on another one. nginx never resends POST or
        # PATCH, nor a request whose streamed body it has begun to send;
        # GET, HEAD, PUT and DELETE without a body sent yet are safe twice.
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 30s;
    }
}
`))

var standalone = template.Must(template.New("standalone").Parse(`daemon off;
{{- if .User}}
user {{.User}};
{{- end}}
worker_processes 2;
pid {{.Path "nginx.pid"}};
error_log {{.Path "error.log"}} warn;

events {
    worker_connections 1024;
}

http {
    log_format upstream '$request_method $request_uri $status upstream=$upstream_addr upstream_status=$upstream_status';
    access_log {{.Path "access.log"}} upstream;
    client_body_temp_path {{.Path "client_body"}};
    proxy_temp_path {{.Path "proxy"}};
    fastcgi_temp_path {{.Path "fastcgi"}};
    uwsgi_temp_path {{.Path "uwsgi"}};
    scgi_temp_path {{.Path "scgi"}};

{{.Site}}}
`))

func (s Site) check() (Site, error) {
	if s.Listen == "" {
		return s, errors.New("nginxconf: Listen is required")
	}
	if len(s.Replicas) == 0 {
		return s, errors.New("nginxconf: no replicas")
	}
	for _, r := range s.Replicas {
		if _, _, err := net.SplitHostPort(r); err != nil {
			return s, fmt.Errorf("nginxconf: replica %q: %w", r, err)
		}
	}
	for _, v := range append([]string{s.Listen, s.ServerName, s.Upstream}, s.Replicas...) {
		if strings.ContainsAny(v, ";{}\"'\n\r\t#$\\") {
			return s, fmt.Errorf("nginxconf: %q holds characters nginx would read as syntax", v)
		}
	}
	if s.Upstream == "" {
		s.Upstream = "packhub"
	}
	return s, nil
}

// Render returns the site's configuration: an upstream block and a server
// block, for the http context.
func (s Site) Render() ([]byte, error) {
	s, err := s.check()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := site.Execute(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Path names a file in the standalone directory.
func (s Standalone) Path(name string) string { return filepath.Join(s.Dir, name) }

// Render returns the whole nginx.conf.
func (s Standalone) Render() ([]byte, error) {
	if s.Dir == "" || !filepath.IsAbs(s.Dir) {
		return nil, errors.New("nginxconf: Dir must be an absolute path")
	}
	if strings.ContainsAny(s.Dir+s.User, ";{}\"'\n\r\t#$\\ ") {
		return nil, errors.New("nginxconf: Dir and User must not hold spaces or nginx syntax")
	}
	body, err := s.Site.Render()
	if err != nil {
		return nil, err
	}
	var indented strings.Builder
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if strings.TrimSpace(line) != "" {
			indented.WriteString("    ")
		}
		indented.WriteString(line)
	}
	var buf bytes.Buffer
	err = standalone.Execute(&buf, struct {
		Standalone
		Site string
	}{s, indented.String()})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
