package maven

import (
	"container/list"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Rendered maven-metadata.xml documents are kept per package revision: the
// package row, read (and access checked) on every request, carries the
// revision the database moves on every change to the package's versions
// (a file put or deleted touches its version), whichever replica made it.
// A hit costs that one read and no listing.

// slot names one document: a package's artifact metadata (version "") or
// a SNAPSHOT version's, as named by a request's groupId and artifactId.
type slot struct {
	pkgID           int64
	version         string
	group, artifact string
}

// stamp tells a current entry from a stale one.
type stamp struct {
	revision int64
	updated  int64 // UnixNano of the package's updated_at
}

func stampOf(pi *packages.PackageInfo) stamp {
	return stamp{revision: pi.Revision, updated: pi.UpdatedAt.UnixNano()}
}

// document is a rendered document with its checksums, which are served
// for maven-metadata.xml.sha1 and the like.
type document struct {
	body    []byte
	sums    map[string]string // algorithm -> hex
	modTime time.Time
	etag    string
}

func newDocument(body []byte, modTime time.Time) *document {
	s1, s256, s512, s5 := sha1.Sum(body), sha256.Sum256(body), sha512.Sum512(body), md5.Sum(body)
	return &document{
		body: body,
		sums: map[string]string{
			"md5":    hex.EncodeToString(s5[:]),
			"sha1":   hex.EncodeToString(s1[:]),
			"sha256": hex.EncodeToString(s256[:]),
			"sha512": hex.EncodeToString(s512[:]),
		},
		modTime: modTime,
		etag:    `"` + hex.EncodeToString(s256[:16]) + `"`,
	}
}

type cacheEntry struct {
	slot  slot
	stamp stamp
	doc   *document
}

// docCache keeps the most recently used documents within a total size.
type docCache struct {
	mu    sync.Mutex
	slots map[slot]*list.Element // of *cacheEntry
	lru   *list.List             // most recent first
	size  int
	max   int
}

func newDocCache(max int) *docCache {
	return &docCache{slots: map[slot]*list.Element{}, lru: list.New(), max: max}
}

// get returns the document filed under s when it is still current.
func (c *docCache) get(s slot, st stamp) *document {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.slots[s]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if e.stamp != st {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.doc
}

// put files a document, replacing an older one of the same slot; a
// document rendered from an older revision than the one held is dropped.
func (c *docCache) put(s slot, st stamp, d *document) {
	size := len(d.body) + 512
	if size > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.slots[s]; ok {
		old := el.Value.(*cacheEntry)
		if old.stamp.revision > st.revision {
			return
		}
		c.remove(el)
	}
	c.slots[s] = c.lru.PushFront(&cacheEntry{slot: s, stamp: st, doc: d})
	c.size += size
	for c.size > c.max && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

func (c *docCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.slots, e.slot)
	c.size -= len(e.doc.body) + 512
}
