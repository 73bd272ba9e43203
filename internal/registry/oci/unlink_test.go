package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// unlinkStore adds packages.BlobUnlinker to a store, in memory, to test the
// registry's blob DELETE until the SQL store has the power itself.
type unlinkStore struct {
	packages.Store
	mu   *sync.Mutex
	gone map[string]bool
}

func key(pkg int64, d string) string { return fmt.Sprint(pkg, " ", d) }

func (s unlinkStore) WithTx(ctx context.Context, fn func(tx packages.Store) error) error {
	return s.Store.WithTx(ctx, func(tx packages.Store) error { return fn(unlinkStore{tx, s.mu, s.gone}) })
}

func (s unlinkStore) LinkBlob(ctx context.Context, pkg int64, d string) error {
	s.mu.Lock()
	delete(s.gone, key(pkg, d))
	s.mu.Unlock()
	return s.Store.LinkBlob(ctx, pkg, d)
}

func (s unlinkStore) BlobLinked(ctx context.Context, pkg int64, d string) (bool, error) {
	s.mu.Lock()
	gone := s.gone[key(pkg, d)]
	s.mu.Unlock()
	if gone {
		return false, nil
	}
	return s.Store.BlobLinked(ctx, pkg, d)
}

func (s unlinkStore) UnlinkBlob(_ context.Context, pkg int64, d string) error {
	s.mu.Lock()
	s.gone[key(pkg, d)] = true
	s.mu.Unlock()
	return nil
}

func TestBlobDeleteUnlinks(t *testing.T) {
	env := testenv.New(t, "sqlite")
	st := unlinkStore{env.Store, &sync.Mutex{}, map[string]bool{}}
	env.Store = st
	env.Service = packages.NewService(st, env.Blobs, packages.Options{Specs: packages.BuiltinSpecs(), Now: env.Clock.Now})
	r := newReg(t, env, packages.TypeContainer, nil)
	im := makeImage("u", nil)
	r.push("alice/one", r.alice, im, "v1")
	r.push("alice/two", r.alice, im, "v1")
	r.expect(r.req("DELETE", "/v2/alice/one/blobs/"+im.layerD, r.carol, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("DELETE", "/v2/alice/one/blobs/"+im.layerD, r.alice, nil), http.StatusAccepted, "")
	r.expect(r.req("GET", "/v2/alice/one/blobs/"+im.layerD, r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	r.expect(r.req("DELETE", "/v2/alice/one/blobs/"+im.layerD, r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	// Other repositories keep their link, and the bytes stay.
	r.expect(r.req("GET", "/v2/alice/two/blobs/"+im.layerD, r.alice, nil), http.StatusOK, "")
	// A manifest can no longer claim the blob in the first repository.
	im2 := makeImage("u", map[string]any{"annotations": map[string]string{"x": "y"}})
	r.expect(r.putManifest("alice/one", r.alice, "v2", "application/vnd.oci.image.manifest.v1+json", im2.manifest), http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
}
