package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/store"
)

// tokenPrefix marks hotline API tokens so secret scanners and people can tell
// them from other credentials in a leaked config or log.
const tokenPrefix = "hl_"

// tokenBytes of randomness: 256 bits, beyond guessing, so tokens are looked up by
// their hash without a constant-time comparison or a per-token salt.
const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding

// NewToken returns a fresh secret token and the SHA-256 hash to store.
func NewToken() (secret string, hash [32]byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", hash, fmt.Errorf("generate token: %w", err)
	}
	secret = tokenPrefix + tokenEncoding.EncodeToString(b)
	return secret, sha256.Sum256([]byte(secret)), nil
}

// HashToken returns the hash under which a presented token is stored, and false
// when the token is not even shaped like one (no need to ask the database).
func HashToken(secret string) ([32]byte, bool) {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok || tokenEncoding.DecodedLen(len(rest)) != tokenBytes {
		return [32]byte{}, false
	}
	if _, err := tokenEncoding.DecodeString(rest); err != nil {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(secret)), true
}

// DefaultTokenLifetime is how long a token lives unless its issuer says
// otherwise: a token copied into a script or a forgotten file stops working on
// its own. A token that must never expire is asked for explicitly.
const DefaultTokenLifetime = 90 * 24 * time.Hour

// TokenStore keeps token hashes (store.Users).
type TokenStore interface {
	CreateToken(ctx context.Context, userID string, hash []byte, expires *time.Time) (store.Token, error)
}

// IssueToken creates a token for the user and returns its metadata and the
// secret, which exists nowhere else from now on: show it once.
func IssueToken(ctx context.Context, ts TokenStore, userID string, expires *time.Time) (store.Token, string, error) {
	secret, hash, err := NewToken()
	if err != nil {
		return store.Token{}, "", err
	}
	t, err := ts.CreateToken(ctx, userID, hash[:], expires)
	if err != nil {
		return store.Token{}, "", err
	}
	return t, secret, nil
}
