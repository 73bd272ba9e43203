// Package benchenv holds what the registry benchmarks under bench share:
// finding the module root, free loopback addresses and temporary
// directories, running a server process and waiting for it to answer,
// building and setting up Packhub and Gitea, the GET load loop, and the
// figures and tables of the reports.
//
// The helpers keep no state of their own: a benchmark passes its flags'
// values to them.
package benchenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// ModuleRoot returns the directory of the Go module the working directory
// is in. Outside a module the error asks to run program inside the Packhub
// module.
func ModuleRoot(program string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run %s inside the Packhub module", program)
	}
	return filepath.Dir(mod), nil
}

// FreeAddr returns a loopback address (host:port) with a port no one
// listened on a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// TempDir makes a temporary directory whose name starts with prefix. The
// returned cleanup removes it, unless keep is set, in which case TempDir
// prints its path and cleanup does nothing.
func TempDir(prefix string, keep bool) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if keep {
		fmt.Println("temporary directory:", dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// InParallel calls f on every item, each in its own goroutine, and returns
// the errors joined.
func InParallel[T any](items []T, f func(T) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lastLine returns the last line of s, which is where the admin commands
// of Packhub and Gitea print a new token.
func lastLine(s string) string {
	return s[strings.LastIndexByte(s, '\n')+1:]
}
