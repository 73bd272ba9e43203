package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// reader reads one blob. A Read opens a GET of the range from the current
// position to the end and keeps reading its body; a Seek elsewhere drops
// it, so the next Read asks for the new range. Nothing is buffered beyond
// what the HTTP client holds.
type reader struct {
	s    *Store
	ctx  context.Context
	key  string
	size int64
	etag string

	pos    int64
	body   io.ReadCloser // positioned at pos, or nil
	closed bool
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("s3 blob store: read after close")
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body == nil {
		in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.key, Range: aws.String(fmt.Sprintf("bytes=%d-", r.pos))}
		if r.etag != "" {
			// The same object as the one opened, never a newer one
			// whose bytes would not follow on.
			in.IfMatch = aws.String(r.etag)
		}
		out, err := r.s.client.GetObject(r.ctx, in)
		if err != nil {
			if isNotFound(err) || isPrecondition(err) {
				return 0, fmt.Errorf("s3 blob store: blob gone while reading: %w", err)
			}
			return 0, fmt.Errorf("s3 blob store: read: %w", err)
		}
		r.body = out.Body
	}
	if left := r.size - r.pos; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	if err == io.EOF {
		r.dropBody()
		if r.pos < r.size {
			return n, fmt.Errorf("s3 blob store: read: %w", io.ErrUnexpectedEOF)
		}
		err = nil
		if n == 0 {
			err = io.EOF
		}
	} else if err != nil {
		r.dropBody()
		return n, fmt.Errorf("s3 blob store: read: %w", err)
	}
	return n, err
}

func (r *reader) dropBody() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, errors.New("s3 blob store: seek after close")
	}
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = r.pos + offset
	case io.SeekEnd:
		pos = r.size + offset
	default:
		return r.pos, errors.New("s3 blob store: seek: bad whence")
	}
	if pos < 0 {
		return r.pos, errors.New("s3 blob store: seek before the start")
	}
	if pos != r.pos {
		r.dropBody()
		r.pos = pos
	}
	return pos, nil
}

func (r *reader) Close() error {
	r.dropBody()
	r.closed = true
	return nil
}

// PresignGet returns a URL from which this blob can be read without
// credentials for ttl, for a front that redirects the download there.
func (r *reader) PresignGet(ctx context.Context, ttl time.Duration) (string, error) {
	return r.s.presignKey(ctx, r.key, ttl)
}
