// Package desk is the agent desktop's server side on the casework service: people
// sign in with a password (argon2id) and get a server-side session (HttpOnly,
// SameSite=Strict cookie, CSRF token, idle and absolute timeouts); the page, its
// API calls, the screen-pop stream and the softphone's SIP WebSocket all go to
// this one origin, which reaches the call service and Asterisk on the session's
// behalf (one origin, one credential for the browser).
package desk

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: RFC 9106's second recommendation scaled to OWASP's
// minimum (19 MiB, 2 passes): about 40 ms on one core, so that sign-in bursts at
// shift change do not starve the telephony sharing the machine.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLen is the shortest password accepted (characters).
const MinPasswordLen = 10

// ErrWeakPassword: the password breaks the rules (the message says which).
var ErrWeakPassword = errors.New("weak password")

// CheckPassword says why pw is unacceptable, or nil.
func CheckPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	case n < MinPasswordLen:
		return fmt.Errorf("%w: at least %d characters, got %d", ErrWeakPassword, MinPasswordLen, n)
	case len(pw) > 256:
		return fmt.Errorf("%w: at most 256 bytes", ErrWeakPassword)
	}
	return nil
}

// HashPassword returns the argon2id PHC string of pw
// ($argon2id$v=19$m=19456,t=2,p=1$salt$key).
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword tells whether pw matches the PHC string, with the parameters
// stored in it (so that stronger parameters later do not lock anyone out).
func VerifyPassword(phc, pw string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 16 {
		return false, fmt.Errorf("password hash: bad parameters %q", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash: salt: %w", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("password hash: key: %v", err)
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified when the sign-in name is unknown, so that the answer
// takes as long as for a known one (no user enumeration by timing).
var dummyHash = func() string {
	h, err := HashPassword("no-such-user-password")
	if err != nil {
		panic(err)
	}
	return h
}()
