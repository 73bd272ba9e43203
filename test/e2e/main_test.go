package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/testenv/s3server"
)

// TestMain gives this test process, and so every packhub and client
// process it starts, the credentials of the test S3 servers (the same for
// each one), as an operator's environment holds a bucket's credentials.
// Setting them once here, before any test runs, lets the tests that use
// S3 run in parallel with the others.
func TestMain(m *testing.M) {
	for _, kv := range (&s3server.Server{}).Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}
