package nuget

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"sync"
	"sync/atomic"

	"github.com/packhub/packhub/internal/packages"
)

// docKey is what a package's cached document depends on: the package
// row's revision (moved by the database on every change to the package's
// versions and tags) and update time, its version count and repository.
// Entries are per process; since the key is read from the database on
// every request, a change made through any replica is seen at once.
type docKey struct {
	pkgID    int64
	revision int64
	updated  int64 // UnixNano of the package's updated_at
	versions int
	repoID   int64
}

func keyOf(pi *packages.PackageInfo) docKey {
	return docKey{pkgID: pi.ID, revision: pi.Revision, updated: pi.UpdatedAt.UnixNano(), versions: pi.VersionCount, repoID: pi.RepositoryID}
}

// bodyKey names one rendering of a document.
type bodyKey struct {
	kind string // "flat", "index", "page", "leaf", "catalog"
	hub  string // the registration hub's path
	base string // the feed's URL
	arg  string // the page or version
	gzip bool
}

// maxBodies bounds the renderings kept per document (feed URLs taken
// from Host headers, pages and leaves could otherwise multiply them).
const maxBodies = 32

// docEntry is a package's loaded document with its renderings.
type docEntry struct {
	key  docKey
	doc  *feedDoc
	size int // estimated bytes held, renderings included

	mu     sync.Mutex // guards bodies
	bodies map[bodyKey][]byte

	elem *list.Element // in docCache.lru; nil when not cached
}

// docCache keeps recently read package documents, one per package, within
// a total size; the least recently used go first. Concurrent misses on the
// same package and revision load it once.
type docCache struct {
	mu     sync.Mutex
	byPkg  map[int64]*docEntry
	lru    *list.List // of *docEntry, most recent first
	size   int
	max    int
	flight map[docKey]*docFlight

	loads atomic.Int64 // documents loaded from the service: the misses
}

type docFlight struct {
	done chan struct{}
	e    *docEntry
	err  error
}

func newDocCache(max int) *docCache {
	return &docCache{byPkg: map[int64]*docEntry{}, lru: list.New(), max: max, flight: map[docKey]*docFlight{}}
}

// get returns the cached entry filed under key, nil when there is none.
func (c *docCache) get(key docKey) *docEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byPkg[key.pkgID]
	if e == nil || e.key != key {
		return nil
	}
	c.lru.MoveToFront(e.elem)
	return e
}

// fill loads the entry for key with load, once for concurrent callers, and
// caches it. A caller that waited on another's load that failed loads
// itself, so that one caller's cancelled request fails no other.
func (c *docCache) fill(key docKey, load func() (*docEntry, error)) (*docEntry, error) {
	c.mu.Lock()
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		<-f.done
		if f.err == nil {
			return f.e, nil
		}
		return c.store(load())
	}
	f := &docFlight{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()
	f.e, f.err = c.store(load())
	c.mu.Lock()
	delete(c.flight, key)
	c.mu.Unlock()
	close(f.done)
	return f.e, f.err
}

// store caches a loaded entry, replacing the package's older one, unless it
// is too large to keep.
func (c *docCache) store(e *docEntry, err error) (*docEntry, error) {
	if err != nil {
		return nil, err
	}
	e.bodies = map[bodyKey][]byte{}
	if e.size > c.max/4 {
		return e, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byPkg[e.key.pkgID]; old != nil {
		if old.key.revision > e.key.revision {
			// A newer document got there first.
			return e, nil
		}
		c.remove(old)
	}
	c.byPkg[e.key.pkgID] = e
	e.elem = c.lru.PushFront(e)
	c.size += e.size
	c.evict()
	return e, nil
}

func (c *docCache) remove(e *docEntry) {
	c.lru.Remove(e.elem)
	e.elem = nil
	delete(c.byPkg, e.key.pkgID)
	c.size -= e.size
}

func (c *docCache) evict() {
	for c.size > c.max && c.lru.Len() > 1 {
		c.remove(c.lru.Back().Value.(*docEntry))
	}
}

// body returns one rendering of an entry's document, rendering it (and
// compressing it for gzip) only the first time. A nil rendering (nothing
// to show) is not kept.
func (c *docCache) body(e *docEntry, k bodyKey, render func() []byte) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.bodies[k]; ok {
		return b
	}
	plain := k
	plain.gzip = false
	b, ok := e.bodies[plain]
	if !ok {
		if b = render(); b == nil {
			return nil
		}
		c.keep(e, plain, b)
	}
	if k.gzip {
		b = gzipBytes(b)
		c.keep(e, k, b)
	}
	return b
}

// keep adds a rendering to an entry and accounts for its size; e.mu is
// held.
func (c *docCache) keep(e *docEntry, k bodyKey, b []byte) {
	if len(e.bodies) >= maxBodies {
		return
	}
	e.bodies[k] = b
	c.mu.Lock()
	defer c.mu.Unlock()
	e.size += len(b)
	if e.elem != nil {
		c.size += len(b)
		c.evict()
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/8 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
