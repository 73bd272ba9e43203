package oci

import (
	"container/list"
	"sync"
)

// manifestCache keeps the bytes of recently served manifests by digest, so
// that a manifest GET does not open a file. Blobs are content-addressed:
// an entry can never be stale, and whether the caller may read it is
// decided before the cache is consulted.
type manifestCache struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	ll    *list.List // front: most recently used
	items map[string]*list.Element
}

type manifestEntry struct {
	digest string
	body   []byte
}

// maxCachedManifest is the largest manifest kept; larger ones stream.
const maxCachedManifest = 64 << 10

func newManifestCache(maxBytes int) *manifestCache {
	return &manifestCache{max: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *manifestCache) get(digest string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[digest]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*manifestEntry).body, true
}

func (c *manifestCache) add(digest string, body []byte) {
	if len(body) > maxCachedManifest || len(body) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[digest]; ok {
		return
	}
	c.items[digest] = c.ll.PushFront(&manifestEntry{digest: digest, body: body})
	c.size += len(body)
	for c.size > c.max {
		last := c.ll.Back()
		ent := last.Value.(*manifestEntry)
		c.ll.Remove(last)
		delete(c.items, ent.digest)
		c.size -= len(ent.body)
	}
}
