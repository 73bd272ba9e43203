package fileblob

import (
	"context"
	"fmt"
	"os"
)

// CountUploads counts the upload sessions in the store: started and not
// yet committed, cancelled or purged, by whichever process (replicas share
// the directory). It reads the names in the uploads directory, for a
// metrics scrape.
func (s *Store) CountUploads(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(s.uploads)
	if err != nil {
		return 0, fmt.Errorf("fileblob: count uploads: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
		}
	}
	return n, nil
}
