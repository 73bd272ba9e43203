package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Missing reports a tool or file a test needs and does not find: in CI
// (CI set) the test fails, elsewhere it is skipped with the message, which
// should name the fix (usually scripts/install-test-deps.sh).
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
