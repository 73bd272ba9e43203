package fileblob

import (
	"context"
	"io"
	"os"
	"sync"

	"github.com/packhub/packhub/internal/blob/internal/digest"
)

// copyBuffers holds the chunks copies move: two per copy running, so the
// memory a copy holds is bounded whatever the size of what it copies.
type copyBuffers struct{ pool sync.Pool }

func newCopyBuffers() *copyBuffers {
	return &copyBuffers{pool: sync.Pool{New: func() any {
		b := make([]byte, copyBufSize)
		return &b
	}}}
}

func (c *copyBuffers) get() *[]byte  { return c.pool.Get().(*[]byte) }
func (c *copyBuffers) put(b *[]byte) { c.pool.Put(b) }

// copyContext copies src to dst in chunks, stopping when ctx is done. It
// reads the next chunk while the last one is written, so that reading the
// network and hashing and writing to disk overlap: src is read in the
// caller's goroutine, dst is written in one other goroutine, which has
// finished with dst and with every chunk when copyContext returns.
func (s *Store) copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
	}
	full := make(chan chunk, 1)
	free := make(chan *[]byte, 2)
	free <- s.bufs.get()
	free <- s.bufs.get()

	var written int64
	var werr error
	done := make(chan struct{})
	stop := make(chan struct{}) // closed when dst fails: read no more
	go func() {
		defer close(done)
		for c := range full {
			if werr == nil {
				var nw int
				nw, werr = dst.Write((*c.buf)[:c.n])
				written += int64(nw)
				if werr == nil && nw < c.n {
					werr = io.ErrShortWrite
				}
				if werr != nil {
					close(stop)
				}
			}
			free <- c.buf
		}
	}()

	var rerr error
read:
	for {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		var buf *[]byte
		select {
		case <-stop:
			break read
		case buf = <-free:
		}
		nr, err := io.ReadFull(src, *buf)
		if nr > 0 {
			full <- chunk{buf, nr}
		} else {
			free <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(full)
	<-done
	close(free)
	for b := range free {
		s.bufs.put(b)
	}
	if werr != nil {
		return written, werr
	}
	return written, rerr
}

// writeBehindEvery is how many bytes a writeBehind lets pile up in the page
// cache before it asks the kernel to start writing them out.
const writeBehindEvery = 8 << 20

// writeBehind writes to a file and has the kernel start writing the dirty
// pages out as they accumulate, so that the fsync that makes the file
// durable finds most of it on disk already instead of writing it all at
// the end: the disk works while the bytes still arrive.
type writeBehind struct {
	f       *os.File
	pending int64
}

func (w *writeBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.pending += int64(n)
	if err == nil && w.pending >= writeBehindEvery {
		w.pending = 0
		startWriteback(w.f)
	}
	return n, err
}

// sideBySideMin is the chunk size from which a hashedFile writes and
// hashes at once: below it, a goroutine costs more than it saves.
const sideBySideMin = 64 << 10

// hashedFile writes each chunk to a file and adds it to hashes, the two
// side by side for a large chunk: writing to the page cache and hashing
// each take a core's time per byte, and one need not wait for the other.
// Once the file fails, what the hashes hold no longer matters: the write
// that uses them fails.
type hashedFile struct {
	file *writeBehind
	h    *digest.Hashes
}

func (w hashedFile) Write(p []byte) (int, error) {
	if len(p) < sideBySideMin {
		n, err := w.file.Write(p)
		if err == nil {
			w.h.Write(p)
		}
		return n, err
	}
	var n int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err = w.file.Write(p)
	}()
	w.h.Write(p)
	<-done
	return n, err
}
