package benchenv

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"
)

// maxLog is how much of a process's output a logBuffer keeps.
const maxLog = 1 << 20

// logBuffer is a bytes.Buffer that is safe for a process's output, written
// from its own goroutines. Once it holds more than a MiB, it drops what
// comes after.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// String returns what was written so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Write appends p, or drops it once the buffer is full; it never fails.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > maxLog {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Process is a running server under test, its output kept in a logBuffer.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *logBuffer
}

// Start starts cmd, with its output going to the process's log, and reaps
// it when it exits. The name is the server's, for error messages.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	log := &logBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// Stop interrupts the process and waits for it to exit, killing it when it
// has not exited after grace. Stop of a nil Process does nothing.
func (p *Process) Stop(grace time.Duration) {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// WaitUp polls url until it answers with a status below 500, for at most
// timeout. It fails, with the process's output, when the process exits or
// the time is up.
func (p *Process) WaitUp(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited:\n%s", p.name, p.log.String())
		default:
		}
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up:\n%s", p.name, p.log.String())
}
