package s3blob

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/packhub/packhub/internal/packages"
)

// PurgeTemp reports what unfinished writes left: the parts of Puts under
// tmp/ (each named with the time it was written) and the multipart
// uploads of blob keys never completed or aborted (by the time they were
// started), and removes those from before before. A Put that runs longer
// than the cutoff's age may so lose its first parts; it then fails, with
// nothing visible.
func (s *Store) PurgeTemp(ctx context.Context, before time.Time, dryRun bool) (packages.TempReport, error) {
	var rep packages.TempReport
	base := s.prefix + "tmp/"
	var stale []string
	err := s.list(ctx, base, func(o types.Object) error {
		key := aws.ToString(o.Key)
		t := aws.ToTime(o.LastModified)
		if i := strings.LastIndexByte(key, '/'); i >= 0 {
			stamp, _, _ := strings.Cut(key[i+1:], "-")
			if ns, err := strconv.ParseInt(stamp, 10, 64); err == nil {
				t = time.Unix(0, ns)
			}
		}
		size := aws.ToInt64(o.Size)
		if !t.Before(before) {
			rep.Fresh++
			rep.FreshBytes += size
			return nil
		}
		rep.Stale++
		rep.StaleBytes += size
		stale = append(stale, key)
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("s3 blob store: purge temporary objects: %w", err)
	}
	if !dryRun {
		if err := s.deleteKeys(ctx, stale); err != nil {
			return rep, fmt.Errorf("s3 blob store: purge temporary objects: %w", err)
		}
	}

	blobs := s.prefix + "blobs/"
	p := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &blobs})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return rep, fmt.Errorf("s3 blob store: purge multipart uploads: %w", err)
		}
		for _, u := range page.Uploads {
			size, err := s.uploadedBytes(ctx, u)
			if err != nil {
				if isNotFound(err) {
					continue // completed or aborted meanwhile
				}
				return rep, fmt.Errorf("s3 blob store: purge multipart uploads: %w", err)
			}
			if !aws.ToTime(u.Initiated).Before(before) {
				rep.Fresh++
				rep.FreshBytes += size
				continue
			}
			rep.Stale++
			rep.StaleBytes += size
			if dryRun {
				continue
			}
			_, err = s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
			if err != nil && !isNotFound(err) {
				return rep, fmt.Errorf("s3 blob store: purge multipart uploads: %w", err)
			}
		}
	}
	return rep, nil
}

// uploadedBytes adds up the parts of a multipart upload.
func (s *Store) uploadedBytes(ctx context.Context, u types.MultipartUpload) (int64, error) {
	var n int64
	p := s3.NewListPartsPaginator(s.client, &s3.ListPartsInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, part := range page.Parts {
			n += aws.ToInt64(part.Size)
		}
	}
	return n, nil
}
