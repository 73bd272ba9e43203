package rubygems

import (
	"container/list"
	"sync"
)

// lru keeps rendered documents within a total size; the least recently
// used go first. Concurrent misses of one key load it once. Keys carry
// everything a document depends on (package revisions), so an entry is
// never stale: a change makes a new key, and the old entry ages out.
type lru[K comparable, V any] struct {
	mu     sync.Mutex
	max    int
	size   int
	ll     *list.List // of *lruItem[K, V], most recent first
	items  map[K]*list.Element
	flight map[K]*lruFlight[V]
}

type lruItem[K comparable, V any] struct {
	key  K
	val  V
	size int
}

type lruFlight[V any] struct {
	done chan struct{}
	val  V
	err  error
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, ll: list.New(), items: map[K]*list.Element{}, flight: map[K]*lruFlight[V]{}}
}

// get returns the value cached under key.
func (c *lru[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruItem[K, V]).val, true
	}
	var zero V
	return zero, false
}

// fill returns the value cached under key, loading it (once for concurrent
// callers) when there is none. load returns the value and its size in
// bytes. A caller that waited on another's failed load loads itself, so
// that one caller's cancelled request fails no other.
func (c *lru[K, V]) fill(key K, load func() (V, int, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*lruItem[K, V]).val, nil
	}
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		<-f.done
		if f.err == nil {
			return f.val, nil
		}
		return c.store(key, load)
	}
	f := &lruFlight[V]{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()
	f.val, f.err = c.store(key, load)
	c.mu.Lock()
	delete(c.flight, key)
	c.mu.Unlock()
	close(f.done)
	return f.val, f.err
}

func (c *lru[K, V]) store(key K, load func() (V, int, error)) (V, error) {
	v, size, err := load()
	if err != nil {
		return v, err
	}
	if size > c.max/4 {
		return v, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	c.items[key] = c.ll.PushFront(&lruItem[K, V]{key: key, val: v, size: size})
	c.size += size
	for c.size > c.max && c.ll.Len() > 1 {
		c.remove(c.ll.Back())
	}
	return v, nil
}

// grow accounts for bytes added to a cached value (a rendering made
// later).
func (c *lru[K, V]) grow(key K, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruItem[K, V]).size += n
		c.size += n
		for c.size > c.max && c.ll.Len() > 1 {
			c.remove(c.ll.Back())
		}
	}
}

func (c *lru[K, V]) remove(e *list.Element) {
	it := c.ll.Remove(e).(*lruItem[K, V])
	delete(c.items, it.key)
	c.size -= it.size
}
