package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/packhub/packhub/internal/blob/internal/digest"
	"github.com/packhub/packhub/internal/packages"
)

// readChunk is how much a write reads from its source at a time, and how
// often it looks at its context.
const readChunk = 1 << 20

// headSize is how much a write reads before it takes a part buffer: a
// small blob never holds one.
const headSize = 64 << 10

// partWriter cuts a stream into parts of the store's part size and hands
// each full part to send, from a few goroutines, while the next one
// fills. It holds at most defaultBuffers part buffers.
type partWriter struct {
	s    *Store
	ctx  context.Context
	send func(ctx context.Context, i int, p []byte) error // part i (from 0)

	buf  *[]byte // filling, or nil
	n    int     // bytes in buf
	head []byte  // a stream that ended within headSize, without a part buffer
	sent int     // parts handed to send

	free chan *[]byte // buffers back from send
	held int          // buffers taken from the pool
	wg   sync.WaitGroup

	mu  sync.Mutex
	err error
}

func (s *Store) newPartWriter(ctx context.Context, send func(ctx context.Context, i int, p []byte) error) *partWriter {
	return &partWriter{s: s, ctx: ctx, send: send, free: make(chan *[]byte, defaultBuffers)}
}

func (w *partWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// buffer returns an empty buffer: a new one while fewer than
// defaultBuffers are held, else the next one send gives back.
func (w *partWriter) buffer() (*[]byte, error) {
	select {
	case b := <-w.free:
		return b, nil
	default:
	}
	if w.held < defaultBuffers {
		w.held++
		return w.s.getBuf(), nil
	}
	select {
	case b := <-w.free:
		return b, nil
	case <-w.ctx.Done():
		return nil, w.ctx.Err()
	}
}

// prefill starts the first part with p (an upload's tail).
func (w *partWriter) prefill(p []byte) error {
	b, err := w.buffer()
	if err != nil {
		return err
	}
	w.buf = b
	w.n = copy(*b, p)
	return nil
}

// readFrom reads r to its end into parts, adding every byte to h. It
// returns how many bytes it read.
func (w *partWriter) readFrom(r io.Reader, h io.Writer) (int64, error) {
	var total int64
	if w.buf == nil && w.sent == 0 && w.head == nil {
		head := make([]byte, headSize)
		nr, rerr := io.ReadFull(r, head)
		h.Write(head[:nr])
		total += int64(nr)
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			w.head = head[:nr]
			return total, nil
		case rerr != nil:
			return total, rerr
		}
		b, err := w.buffer()
		if err != nil {
			return total, err
		}
		w.buf, w.n = b, copy(*b, head)
	}
	for {
		if err := w.ctx.Err(); err != nil {
			return total, err
		}
		if err := w.failed(); err != nil {
			return total, err
		}
		if w.buf == nil {
			b, err := w.buffer()
			if err != nil {
				return total, err
			}
			w.buf, w.n = b, 0
		}
		p := (*w.buf)[w.n:min(w.n+readChunk, len(*w.buf))]
		nr, rerr := io.ReadFull(r, p)
		if nr > 0 {
			h.Write(p[:nr])
			w.n += nr
			total += int64(nr)
			if w.n == len(*w.buf) {
				if err := w.dispatch(); err != nil {
					return total, err
				}
			}
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return total, nil
		case rerr != nil:
			return total, rerr
		}
	}
}

// dispatch hands the full buffer to send.
func (w *partWriter) dispatch() error {
	if w.sent >= maxParts-1 {
		return packages.Errorf(packages.KindTooLarge, "blob too large for the S3 blob store's part size")
	}
	b, i := w.buf, w.sent
	w.buf, w.n = nil, 0
	w.sent++
	w.wg.Go(func() {
		err := w.send(w.ctx, i, *b)
		if err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
		w.free <- b
	})
	return nil
}

// finish waits for the parts on their way and returns the bytes of the
// last, unsent part. The caller calls release when done with them.
func (w *partWriter) finish() ([]byte, error) {
	w.wg.Wait()
	if err := w.failed(); err != nil {
		return nil, err
	}
	if w.buf == nil {
		return w.head, nil
	}
	return (*w.buf)[:w.n], nil
}

// release waits for the parts on their way and gives every buffer back.
func (w *partWriter) release() {
	w.wg.Wait()
	if w.buf != nil {
		w.free <- w.buf
		w.buf = nil
	}
	for w.held > 0 {
		w.s.putBuf(<-w.free)
		w.held--
	}
}

// Put streams r into a new blob. With expected, the bytes go straight into
// a multipart upload of the blob's key, completed only if they hash to it;
// without, into parts under tmp/, assembled under the digest once it is
// known. Content that fits in one part is sent once it is whole.
func (s *Store) Put(ctx context.Context, r io.Reader, expected string) (string, int64, error) {
	if expected != "" {
		if _, err := parse(expected); err != nil {
			return "", 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if expected != "" {
		h, _ := parse(expected)
		ok, err := s.exists(ctx, s.blobKey(h))
		if err != nil {
			return "", 0, failed("put", err)
		}
		if ok {
			return s.putStored(ctx, r, expected)
		}
	}
	h := digest.NewHashes()
	var (
		mu     sync.Mutex
		mpu    *multipart // expected: on the blob's key
		pieces []string   // no expectation: under tmp/
	)
	put := s.prefix + "tmp/" + randomName(12) + "/"
	var send func(ctx context.Context, i int, p []byte) error
	if expected != "" {
		hx, _ := parse(expected)
		send = func(ctx context.Context, i int, p []byte) error {
			mu.Lock()
			if mpu == nil {
				m, err := s.startMultipart(ctx, s.blobKey(hx))
				if err != nil {
					mu.Unlock()
					return err
				}
				mpu = m
			}
			m := mpu
			mu.Unlock()
			return m.uploadPart(ctx, i+1, p)
		}
	} else {
		send = func(ctx context.Context, i int, p []byte) error {
			// The time in the name says when the piece was written,
			// for PurgeTemp.
			key := put + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + strconv.Itoa(i)
			if _, err := s.putBytes(ctx, key, p, nil); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for len(pieces) <= i {
				pieces = append(pieces, "")
			}
			pieces[i] = key
			return nil
		}
	}
	w := s.newPartWriter(ctx, send)
	defer w.release()
	cleanup := func() {
		w.wg.Wait()
		if mpu != nil {
			mpu.abort(ctx)
		}
		var keys []string
		for _, k := range pieces {
			if k != "" {
				keys = append(keys, k)
			}
		}
		_ = s.deleteKeys(ctx, keys)
	}
	n, err := w.readFrom(r, h)
	var rest []byte
	if err == nil {
		rest, err = w.finish()
	}
	if err != nil {
		cleanup()
		return "", 0, failed("put", err)
	}
	got := h.Digest()
	if expected != "" && got != expected {
		cleanup()
		return "", 0, mismatch(expected, got)
	}
	hx := got[len(digest.Algorithm)+1:]
	sums := h.Checksums()
	if mpu == nil && len(pieces) == 0 {
		// All in one part.
		if err := s.placeBytes(ctx, hx, rest, sums); err != nil {
			return "", 0, failed("put", err)
		}
		return got, n, nil
	}
	if mpu != nil {
		err := s.writeSums(ctx, hx, sums)
		if err == nil && len(rest) > 0 {
			err = mpu.uploadPart(ctx, w.sent+1, rest)
		}
		if err == nil {
			err = mpu.complete(ctx)
		}
		if err != nil {
			cleanup()
			return "", 0, failed("put", err)
		}
		return got, n, nil
	}
	defer cleanup()
	stored, err := s.exists(ctx, s.blobKey(hx))
	if err == nil && stored {
		err = s.touch(ctx, hx)
	} else if err == nil {
		err = s.writeSums(ctx, hx, sums)
		if err == nil {
			err = s.assemble(ctx, s.blobKey(hx), pieces, rest)
		}
	}
	if err != nil {
		return "", 0, failed("put", err)
	}
	return got, n, nil
}

// putStored reads a Put of content already stored: it checks that the
// bytes hash to expected and, if they do, marks the blob as put again.
func (s *Store) putStored(ctx context.Context, r io.Reader, expected string) (string, int64, error) {
	h := digest.NewHashes()
	n, err := copyContext(ctx, h, r)
	if err != nil {
		return "", 0, failed("put", err)
	}
	if got := h.Digest(); got != expected {
		return "", 0, mismatch(expected, got)
	}
	hx := expected[len(digest.Algorithm)+1:]
	ok, err := s.exists(ctx, s.blobKey(hx))
	if err == nil && ok {
		err = s.touch(ctx, hx)
	} else if err == nil {
		// Deleted meanwhile, and the bytes were only hashed: fail, so
		// that the client sends them again.
		err = errors.New("blob deleted while it was being put again")
	}
	if err != nil {
		return "", 0, failed("put", err)
	}
	return expected, n, nil
}

// placeBytes stores p, whose hex digest is h, unless it is stored already.
func (s *Store) placeBytes(ctx context.Context, h string, p []byte, sums packages.Checksums) error {
	ok, err := s.exists(ctx, s.blobKey(h))
	if err != nil {
		return err
	}
	if ok {
		return s.touch(ctx, h)
	}
	if err := s.writeSums(ctx, h, sums); err != nil {
		return err
	}
	_, err = s.putBytes(ctx, s.blobKey(h), p, nil)
	return err
}

// multipart is a multipart upload in progress.
type multipart struct {
	s   *Store
	key string
	id  string

	mu    sync.Mutex
	parts []types.CompletedPart
}

func (s *Store) startMultipart(ctx context.Context, key string) (*multipart, error) {
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	return &multipart{s: s, key: key, id: aws.ToString(out.UploadId)}, nil
}

func (m *multipart) add(n int, etag *string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parts = append(m.parts, types.CompletedPart{PartNumber: aws.Int32(int32(n)), ETag: etag})
}

func (m *multipart) uploadPart(ctx context.Context, n int, p []byte) error {
	out, err := m.s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id, PartNumber: aws.Int32(int32(n)),
		Body: bytes.NewReader(p), ContentLength: aws.Int64(int64(len(p))),
	})
	if err != nil {
		return err
	}
	m.add(n, out.ETag)
	return nil
}

func (m *multipart) copyPart(ctx context.Context, n int, src string) error {
	out, err := m.s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id, PartNumber: aws.Int32(int32(n)),
		CopySource: aws.String(m.s.bucket + "/" + src),
	})
	if err != nil {
		return err
	}
	var etag *string
	if out.CopyPartResult != nil {
		etag = out.CopyPartResult.ETag
	}
	m.add(n, etag)
	return nil
}

func (m *multipart) complete(ctx context.Context) error {
	m.mu.Lock()
	parts := append([]types.CompletedPart(nil), m.parts...)
	m.mu.Unlock()
	sortParts(parts)
	_, err := m.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// abort ends the upload and frees its parts, also after ctx ended.
func (m *multipart) abort(ctx context.Context) {
	_, _ = m.s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id,
	})
}

func sortParts(p []types.CompletedPart) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && aws.ToInt32(p[j].PartNumber) < aws.ToInt32(p[j-1].PartNumber); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// assemble makes the object key from the objects srcs, in order, then the
// bytes rest, by a server-side copy: every source but the last must be at
// least MinPartSize long, and each at most 5 GiB.
func (s *Store) assemble(ctx context.Context, key string, srcs []string, rest []byte) error {
	switch {
	case len(srcs) == 0:
		_, err := s.putBytes(ctx, key, rest, nil)
		return err
	case len(srcs) == 1 && len(rest) == 0:
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: &s.bucket, Key: &key, CopySource: aws.String(s.bucket + "/" + srcs[0]),
		})
		return err
	}
	m, err := s.startMultipart(ctx, key)
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, len(srcs))
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(copyWorkers, len(srcs)) {
		wg.Go(func() {
			for i := range work {
				if err := m.copyPart(cctx, i+1, srcs[i]); err != nil {
					errs <- err
					cancel()
				}
			}
		})
	}
feed:
	for i := range srcs {
		select {
		case work <- i:
		case <-cctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		m.abort(ctx)
		return err
	}
	if err := ctx.Err(); err != nil {
		m.abort(ctx)
		return err
	}
	if len(rest) > 0 {
		if err := m.uploadPart(ctx, len(srcs)+1, rest); err != nil {
			m.abort(ctx)
			return err
		}
	}
	if err := m.complete(ctx); err != nil {
		m.abort(ctx)
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}
