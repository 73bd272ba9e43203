package packages

import (
	"context"
	"sync"
)

// Observer is told what the service did, for metrics (internal/metrics
// implements it). Its methods must be cheap and safe for concurrent use;
// they run after the change committed.
type Observer interface {
	// Published counts a version created, by a publish or by the first
	// file put into it.
	Published(t Type)
	// Downloaded counts n downloads of packages of type t, once they are
	// written.
	Downloaded(t Type, n int64)
}

// typeCache remembers the types of packages whose downloads were counted,
// for the observer: a package's type never changes.
type typeCache struct {
	mu    sync.Mutex
	types map[int64]Type
}

// maxTypeCache bounds the cache; it starts over when full.
const maxTypeCache = 10000

func (s *Service) packageType(ctx context.Context, id int64) (Type, bool) {
	c := &s.types
	c.mu.Lock()
	t, ok := c.types[id]
	c.mu.Unlock()
	if ok {
		return t, true
	}
	p, err := s.store.GetPackageByID(ctx, id)
	if err != nil {
		return "", false
	}
	c.mu.Lock()
	if c.types == nil || len(c.types) >= maxTypeCache {
		c.types = map[int64]Type{}
	}
	c.types[id] = p.Type
	c.mu.Unlock()
	return p.Type, true
}

// observeDownloads tells the observer about downloads written, n per
// package id.
func (s *Service) observeDownloads(ctx context.Context, perPackage map[int64]int64) {
	if s.opts.Observer == nil {
		return
	}
	for id, n := range perPackage {
		if t, ok := s.packageType(ctx, id); ok {
			s.opts.Observer.Downloaded(t, n)
		}
	}
}

func (s *Service) observePublished(t Type) {
	if s.opts.Observer != nil {
		s.opts.Observer.Published(t)
	}
}
