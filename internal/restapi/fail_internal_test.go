package restapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

// TestFailInsufficientStorage: a write that found the storage full is 507
// with GitHub's error body saying so.
func TestFailInsufficientStorage(t *testing.T) {
	s := &server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := fmt.Errorf("delete package: %w", fmt.Errorf("store: soft delete: %w: %w", packages.ErrInsufficientStorage, errors.New("database or disk is full")))
	rec := httptest.NewRecorder()
	s.newCall(rec, httptest.NewRequest("DELETE", "/user/packages/npm/x", nil)).fail(err)
	if rec.Code != http.StatusInsufficientStorage {
		t.Fatalf("status %d, want 507", rec.Code)
	}
	var body basicError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if body.Message != packages.MsgInsufficientStorage || body.Status != "507" || body.DocumentationURL == "" {
		t.Fatalf("body %+v", body)
	}
}
