// Package blobstore opens the blob store a URL names, choosing the
// implementation by its scheme.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/blob/s3blob"
	"github.com/packhub/packhub/internal/packages"
)

// Open returns the blob store rawURL names:
//
//	file:///abs/path   a directory on local disk (fileblob)
//	/abs/path, rel/path the same, as a plain path
//	s3://bucket/prefix?endpoint=URL&region=R&path_style=true
//	                    an S3 bucket (s3blob), with the credentials of the
//	                    AWS environment or shared config files
func Open(ctx context.Context, rawURL string) (packages.BlobStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rawURL == "" {
		return nil, errors.New("blob: empty store URL")
	}
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		return openFile(rawURL)
	}
	switch strings.ToLower(scheme) {
	case "file":
		path, err := filePath(rawURL)
		if err != nil {
			return nil, err
		}
		return openFile(path)
	case "s3":
		cfg, err := s3blob.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		s, err := s3blob.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		// The URL is not echoed: it may hold credentials.
		return nil, fmt.Errorf("blob: unsupported store URL scheme %q", scheme)
	}
}

func openFile(path string) (packages.BlobStore, error) {
	s, err := fileblob.New(path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// filePath returns the directory a file:// URL names.
func filePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("blob: bad file URL: %w", err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("blob: file URL with host %q: only local paths are supported", u.Host)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("blob: file URL must be file:///absolute/path with no user, query or fragment")
	}
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return "", errors.New("blob: file URL must be file:///absolute/path")
	}
	return filepath.FromSlash(u.Path), nil
}
