package s3blob_test

import (
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob/s3blob"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want s3blob.Config
		err  string
	}{
		{url: "s3://bucket", want: s3blob.Config{Bucket: "bucket"}},
		{url: "s3://bucket/", want: s3blob.Config{Bucket: "bucket"}},
		{url: "S3://bucket/a/b/", want: s3blob.Config{Bucket: "bucket", Prefix: "a/b/"}},
		{url: "s3://b/p?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true&part_size=16777216",
			want: s3blob.Config{Bucket: "b", Prefix: "p/", Endpoint: "http://127.0.0.1:9000", Region: "eu-west-1", PathStyle: true, PartSize: 16 << 20}},
		{url: "s3://key:secret@bucket/p", err: "credentials do not belong in the URL"},
		{url: "s3:///p", err: "must name a bucket"},
		{url: "s3://b/p?endpoint=ftp://x", err: "endpoint must be an http(s) URL"},
		{url: "s3://b/p?path_style=maybe", err: "path_style"},
		{url: "s3://b/p?part_size=big", err: "part_size"},
		{url: "s3://b/p?acl=public", err: "unknown URL parameter"},
		{url: "s3://b/p#frag", err: "fragment"},
		{url: "file:///x", err: "s3://"},
		{url: "s3://b/%zz", err: "malformed"},
	} {
		got, err := s3blob.ParseURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %+v, %v; want an error mentioning %q", tc.url, got, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseURL(%q) leaks the URL: %v", tc.url, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/prefix", "s3://b/p?endpoint=http://h:1&region=r&path_style=true",
		"s3://u:p@b", "s3://b/p?part_size=-1", "s3://", "s3://b/%2e%2e/x?x=1#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := s3blob.ParseURL(raw)
		if err != nil {
			return
		}
		if c.Bucket == "" {
			t.Fatalf("ParseURL(%q) accepted no bucket", raw)
		}
		if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
			t.Fatalf("ParseURL(%q) prefix %q does not end in /", raw, c.Prefix)
		}
		if c.AccessKeyID != "" || c.SecretAccessKey != "" {
			t.Fatalf("ParseURL(%q) took credentials", raw)
		}
	})
}
