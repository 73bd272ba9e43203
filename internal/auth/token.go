// Package auth holds Packhub's credentials: personal access tokens
// (generation, hashing, recognition) and the extraction of a token from the
// ways each client sends one.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// TokenPrefix starts every personal access token, so that secret scanners
// and people recognise one.
const TokenPrefix = "phk_"

// tokenRandomLen is the number of random base62 characters after the prefix:
// 40 characters carry about 238 bits.
const tokenRandomLen = 40

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewToken returns a fresh token and the hash to store for it.
func NewToken() (plaintext, hash string, err error) {
	buf := make([]byte, tokenRandomLen)
	out := make([]byte, 0, len(TokenPrefix)+tokenRandomLen)
	out = append(out, TokenPrefix...)
	for len(out) < cap(out) {
		if _, err := rand.Read(buf); err != nil {
			return "", "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			// Reject values that would bias the distribution.
			if b >= 248 {
				continue
			}
			out = append(out, base62[int(b)%62])
			if len(out) == cap(out) {
				break
			}
		}
	}
	plaintext = string(out)
	return plaintext, HashToken(plaintext), nil
}

// HashToken returns the hex SHA-256 of a token. Tokens carry enough entropy
// that a fast hash is safe, and a per-request check stays cheap.
func HashToken(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// LooksLikeToken reports whether s has the shape of a Packhub token.
func LooksLikeToken(s string) bool {
	if !strings.HasPrefix(s, TokenPrefix) || len(s) != len(TokenPrefix)+tokenRandomLen {
		return false
	}
	for _, c := range s[len(TokenPrefix):] {
		if !strings.ContainsRune(base62, c) {
			return false
		}
	}
	return true
}
