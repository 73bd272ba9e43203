// Package s3blob is a packages.BlobStore on an S3 bucket, so that several
// replicas of the server share one store.
//
// Layout under the store's prefix in the bucket:
//
//	blobs/sha256/<hex>           complete, verified blobs
//	sums/sha256/<hex>            the blob's md5, sha1, sha256 and sha512 (JSON), computed as it was stored
//	touched/sha256/<hex>         an empty marker, written when content already stored is put again
//	uploads/<id>/state           a resumable upload session: size, hash states, its pieces (JSON)
//	uploads/<id>/piece-<rand>    a piece of its bytes, a whole part (at least 5 MiB)
//	uploads/<id>/tail-<rand>     its last bytes, shorter than a part
//	tmp/<put>/<time>-<n>         parts of a Put whose digest is not known in advance
//
// Nothing is visible under a digest before its bytes are verified: a Put
// whose digest is given streams into a multipart upload of the blob's key,
// completed only once the bytes hash to it; other writes store their parts
// as objects outside blobs/ and, once verified, assemble them under the
// digest with a server-side multipart copy. The checksums are written
// before the blob, so a blob never lacks them.
//
// Every piece of an upload session lives in the bucket, so any process on
// the same bucket resumes any session. The state object is the session's
// commit point: an append writes its new pieces under fresh names, then
// replaces the state with a conditional write (If-Match on the state's
// ETag), so that of two writers racing on one session exactly one wins and
// the other fails with nothing appended. Pieces are never overwritten.
//
// Memory is bounded: a write holds at most a few part buffers, never the
// whole blob.
package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/packhub/packhub/internal/blob/internal/digest"
	"github.com/packhub/packhub/internal/packages"
)

const (
	// MinPartSize is S3's smallest part but the last of a multipart
	// upload.
	MinPartSize = 5 << 20
	// DefaultPartSize is the size of the parts a write sends.
	DefaultPartSize = 8 << 20
	// maxParts is S3's largest part number.
	maxParts = 10_000
	// defaultBuffers is how many part buffers one write holds: one filling,
	// the others on their way to the server.
	defaultBuffers = 3
	// copyWorkers is how many server-side part copies run at once when
	// parts are assembled into a blob.
	copyWorkers = 4
)

// Config says which bucket and prefix a Store uses and how it reaches the
// server.
type Config struct {
	Bucket string
	Prefix string // "" or a path ending in "/"
	// Endpoint is the server's URL (http://host:port), for S3-compatible
	// servers; "" means AWS.
	Endpoint string
	// Region; "" takes AWS_REGION or the shared config, else us-east-1.
	Region string
	// PathStyle addresses the bucket in the path (http://host/bucket/key)
	// rather than in the host name, as most S3-compatible servers want.
	PathStyle bool
	// AccessKeyID and SecretAccessKey, when set, replace the credentials
	// of the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// AWS_SESSION_TOKEN) and of the shared config files.
	AccessKeyID, SecretAccessKey string
	// PartSize is the size of the parts writes send (at least 5 MiB); 0
	// means DefaultPartSize.
	PartSize int64
}

// ParseURL reads s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true
// (and part_size=SIZE in bytes). Credentials are never taken from the URL.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The URL is not echoed: it may hold credentials.
		return Config{}, errors.New("s3 blob store: malformed URL")
	}
	if !strings.EqualFold(u.Scheme, "s3") {
		return Config{}, errors.New("s3 blob store: URL must start with s3://")
	}
	if u.User != nil {
		return Config{}, errors.New("s3 blob store: credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Host == "" {
		return Config{}, errors.New("s3 blob store: URL must name a bucket: s3://BUCKET/PREFIX")
	}
	if u.Fragment != "" {
		return Config{}, errors.New("s3 blob store: URL must not have a fragment")
	}
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if c.Prefix != "" {
		c.Prefix += "/"
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Config{}, errors.New("s3 blob store: endpoint must be an http(s) URL")
			}
			c.Endpoint = v
		case "region":
			c.Region = v
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("s3 blob store: path_style %q is not true or false", v)
			}
			c.PathStyle = b
		case "part_size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Config{}, fmt.Errorf("s3 blob store: part_size %q is not a number of bytes", v)
			}
			c.PartSize = n
		default:
			return Config{}, fmt.Errorf("s3 blob store: unknown URL parameter %q (use endpoint, region, path_style, part_size)", k)
		}
	}
	return c, nil
}

// Store is a packages.BlobStore on an S3 bucket. It is safe for concurrent
// use, also by several processes on one bucket.
type Store struct {
	client   *s3.Client
	presign  *s3.PresignClient
	bucket   string
	prefix   string
	partSize int
	bufs     sync.Pool // *[]byte of partSize

	mu       sync.Mutex
	sessions map[string]*session // open upload sessions of this process, by id
}

var (
	_ packages.BlobStore      = (*Store)(nil)
	_ packages.BlobAgeDeleter = (*Store)(nil)
	_ packages.BlobPresigner  = (*Store)(nil)
)

// New opens the store cfg describes and checks that its bucket can be
// reached.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3 blob store: no bucket")
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	part := cfg.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	if part < MinPartSize || part > 1<<30 {
		return nil, fmt.Errorf("s3 blob store: part size %d out of range (%d to %d bytes)", part, MinPartSize, 1<<30)
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
		})),
	}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// The content is verified against its sha256 by the store itself.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	s := &Store{
		client:   client,
		presign:  s3.NewPresignClient(client),
		bucket:   cfg.Bucket,
		prefix:   cfg.Prefix,
		partSize: int(part),
		sessions: make(map[string]*session),
	}
	s.bufs.New = func() any {
		b := make([]byte, s.partSize)
		return &b
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return nil, fmt.Errorf("s3 blob store: bucket %q: %w", s.bucket, err)
	}
	return s, nil
}

// Bucket and Prefix say where the store keeps its objects.
func (s *Store) Bucket() string { return s.bucket }

// Prefix is "" or ends in "/".
func (s *Store) Prefix() string { return s.prefix }

// PartSize is the size of the parts writes send.
func (s *Store) PartSize() int { return s.partSize }

// Client is the S3 client the store uses.
func (s *Store) Client() *s3.Client { return s.client }

func (s *Store) blobKey(h string) string    { return s.prefix + "blobs/sha256/" + h }
func (s *Store) sumsKey(h string) string    { return s.prefix + "sums/sha256/" + h }
func (s *Store) touchedKey(h string) string { return s.prefix + "touched/sha256/" + h }

func (s *Store) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Store) putBuf(b *[]byte) { s.bufs.Put(b) }
func parse(d string) (string, error) {
	_, h, err := digest.Parse(d)
	return h, err
}

func notFound(what string) error {
	return fmt.Errorf("s3 blob store: %s: %w", what, packages.ErrNotFound)
}

// failed wraps an error of operation op. A server that says it is out of
// room also makes it wrap packages.ErrInsufficientStorage.
func failed(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSpaceLeftOnDevice", "QuotaExceeded", "XAmzQuotaExceeded":
			return fmt.Errorf("s3 blob store: %s: %w: %w", op, packages.ErrInsufficientStorage, err)
		}
	}
	return fmt.Errorf("s3 blob store: %s: %w", op, err)
}

func mismatch(expected, got string) error {
	return &packages.Error{
		Kind:    packages.KindInvalid,
		Message: "digest mismatch",
		Err:     fmt.Errorf("content hashes to %s, not %s", got, expected),
	}
}

// isNotFound reports whether err says an object, or a multipart upload,
// does not exist.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nsu) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// isPrecondition reports whether err says a conditional write lost: the
// object changed since it was read, or exists where it should not.
func isPrecondition(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict)
}

// head returns an object's size and last write, or an error satisfying
// isNotFound.
func (s *Store) head(ctx context.Context, key string) (*s3.HeadObjectOutput, error) {
	return s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
}

// exists reports whether an object exists.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.head(ctx, key)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, err
}

func (s *Store) putBytes(ctx context.Context, key string, p []byte, mod func(*s3.PutObjectInput)) (*s3.PutObjectOutput, error) {
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(p), ContentLength: aws.Int64(int64(len(p)))}
	if mod != nil {
		mod(in)
	}
	return s.client.PutObject(ctx, in)
}

// getBytes reads a small object whole, at most max bytes.
func (s *Store) getBytes(ctx context.Context, key string, max int64) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > max {
		return nil, "", fmt.Errorf("object %s is larger than %d bytes", key, max)
	}
	return b, aws.ToString(out.ETag), nil
}

func (s *Store) deleteKey(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// deleteKeys removes objects, ignoring those already gone. It carries on
// after its context ends: it undoes or tidies what a write left.
func (s *Store) deleteKeys(ctx context.Context, keys []string) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.bucket, Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			// Some servers lack DeleteObjects: one at a time.
			for _, k := range keys[:n] {
				if err := s.deleteKey(ctx, k); err != nil {
					errs = append(errs, err)
				}
			}
		} else {
			for _, e := range out.Errors {
				if aws.ToString(e.Code) != "NoSuchKey" {
					errs = append(errs, fmt.Errorf("delete %s: %s", aws.ToString(e.Key), aws.ToString(e.Message)))
				}
			}
		}
		keys = keys[n:]
	}
	return errors.Join(errs...)
}

// list calls fn for every object under prefix.
func (s *Store) list(ctx context.Context, prefix string, fn func(types.Object) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stat returns the size of a blob.
func (s *Store) Stat(ctx context.Context, d string) (int64, error) {
	h, err := parse(d)
	if err != nil {
		return 0, err
	}
	out, err := s.head(ctx, s.blobKey(h))
	if err != nil {
		if isNotFound(err) {
			return 0, notFound("blob " + d)
		}
		return 0, fmt.Errorf("s3 blob store: stat: %w", err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Open returns a seekable reader of a blob. It reads with ranged GETs, as
// far as it is read.
func (s *Store) Open(ctx context.Context, d string) (packages.BlobReader, error) {
	h, err := parse(d)
	if err != nil {
		return nil, err
	}
	key := s.blobKey(h)
	out, err := s.head(ctx, key)
	if err != nil {
		if isNotFound(err) {
			return nil, notFound("blob " + d)
		}
		return nil, fmt.Errorf("s3 blob store: open: %w", err)
	}
	return &reader{s: s, ctx: ctx, key: key, size: aws.ToInt64(out.ContentLength), etag: aws.ToString(out.ETag)}, nil
}

// Delete removes a blob. Readers already open may fail on their next read.
func (s *Store) Delete(ctx context.Context, d string) error {
	h, err := parse(d)
	if err != nil {
		return err
	}
	ok, err := s.exists(ctx, s.blobKey(h))
	if err != nil {
		return fmt.Errorf("s3 blob store: delete: %w", err)
	}
	if !ok {
		return notFound("blob " + d)
	}
	return s.remove(ctx, h)
}

// remove deletes the blob with hex digest h, then its checksums and its
// marker. Checksums left behind by a failure are still true of the
// content they are named by.
func (s *Store) remove(ctx context.Context, h string) error {
	if err := s.deleteKey(ctx, s.blobKey(h)); err != nil {
		return fmt.Errorf("s3 blob store: delete: %w", err)
	}
	_ = s.deleteKeys(ctx, []string{s.sumsKey(h), s.touchedKey(h)})
	return nil
}

// DeleteIfOlder deletes a blob only if it was last written, or put again,
// before t; it reports whether it did. A Put of content already stored
// writes the blob's marker (touched/), whose time counts as the blob's.
//
// S3 has no delete conditional on a time for ordinary buckets, so the
// check and the delete are two requests: a Put of the same content that
// finds the blob stored in the moment between them (one round trip) still
// loses it. Garbage collection only reaches this for blobs the metadata
// has already forgotten as unreferenced for its whole grace period.
func (s *Store) DeleteIfOlder(ctx context.Context, d string, t time.Time) (bool, error) {
	h, err := parse(d)
	if err != nil {
		return false, err
	}
	out, err := s.head(ctx, s.blobKey(h))
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("s3 blob store: delete: %w", err)
	}
	if !aws.ToTime(out.LastModified).Before(t) {
		return false, nil
	}
	m, err := s.head(ctx, s.touchedKey(h))
	switch {
	case err == nil:
		if !aws.ToTime(m.LastModified).Before(t) {
			return false, nil
		}
	case !isNotFound(err):
		return false, fmt.Errorf("s3 blob store: delete: %w", err)
	}
	if err := s.remove(ctx, h); err != nil {
		return false, err
	}
	return true, nil
}

// touch records that content already stored was put again.
func (s *Store) touch(ctx context.Context, h string) error {
	_, err := s.putBytes(ctx, s.touchedKey(h), nil, nil)
	return err
}

// Walk calls fn for every stored blob. It stops at the first error from fn
// and returns it unwrapped.
func (s *Store) Walk(ctx context.Context, fn func(digest string, size int64) error) error {
	base := s.prefix + "blobs/sha256/"
	var fnErr error
	err := s.list(ctx, base, func(o types.Object) error {
		h := strings.TrimPrefix(aws.ToString(o.Key), base)
		if !digest.ValidHex(h) {
			return nil
		}
		if err := fn(digest.Algorithm+":"+h, aws.ToInt64(o.Size)); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("s3 blob store: walk: %w", err)
	}
	return nil
}

// sumsFile is what a sums object holds.
type sumsFile struct {
	MD5    string `json:"md5"`
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

func (s *Store) writeSums(ctx context.Context, h string, c packages.Checksums) error {
	b, err := json.Marshal(sumsFile(c))
	if err != nil {
		return err
	}
	_, err = s.putBytes(ctx, s.sumsKey(h), b, func(in *s3.PutObjectInput) { in.ContentType = aws.String("application/json") })
	return err
}

// Checksums returns a blob's checksums, as they were computed when it was
// stored. Where they are missing or damaged, it reads the blob to compute
// them and keeps them.
func (s *Store) Checksums(ctx context.Context, d string) (packages.Checksums, error) {
	h, err := parse(d)
	if err != nil {
		return packages.Checksums{}, err
	}
	if _, err := s.Stat(ctx, d); err != nil {
		return packages.Checksums{}, err
	}
	if b, _, err := s.getBytes(ctx, s.sumsKey(h), 4096); err == nil {
		var sf sumsFile
		if json.Unmarshal(b, &sf) == nil && digest.ValidChecksums(packages.Checksums(sf), d) {
			return packages.Checksums(sf), nil
		}
	} else if !isNotFound(err) {
		return packages.Checksums{}, fmt.Errorf("s3 blob store: checksums: %w", err)
	}
	r, err := s.Open(ctx, d)
	if err != nil {
		return packages.Checksums{}, err
	}
	defer r.Close()
	hs := digest.NewHashes()
	if _, err := copyContext(ctx, hs, r); err != nil {
		return packages.Checksums{}, fmt.Errorf("s3 blob store: checksums: %w", err)
	}
	if hs.Digest() != d {
		return packages.Checksums{}, fmt.Errorf("s3 blob store: checksums: blob %s hashes to %s", d, hs.Digest())
	}
	c := hs.Checksums()
	_ = s.writeSums(ctx, h, c)
	return c, nil
}

// PresignGet returns a URL from which the blob can be read without
// credentials for ttl.
func (s *Store) PresignGet(ctx context.Context, d string, ttl time.Duration) (string, error) {
	h, err := parse(d)
	if err != nil {
		return "", err
	}
	return s.presignKey(ctx, s.blobKey(h), ttl)
}

func (s *Store) presignKey(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3 blob store: presign: %w", err)
	}
	return req.URL, nil
}

// copyContext copies src to dst in chunks, stopping when ctx is done.
func copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, rerr := io.ReadFull(src, buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return n, nil
		case rerr != nil:
			return n, rerr
		}
	}
}

// randomName returns n random bytes as URL-safe text.
func randomName(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
