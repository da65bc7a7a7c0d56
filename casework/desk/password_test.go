package desk

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordHashVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not the expected PHC string", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
	} {
		ok, err := VerifyPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		weak bool
	}{
		{"short", true},
		{"123456789", true},
		{"1234567890", false},
		{"十个汉字的密码十个汉字", false},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", true},
		{strings.Repeat("x", 257), true},
	} {
		err := CheckPassword(tc.pw)
		if got := errors.Is(err, ErrWeakPassword); got != tc.weak {
			t.Errorf("CheckPassword(%q) = %v, want weak=%v", tc.pw, err, tc.weak)
		}
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	for _, phc := range []string{
		"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5",
	} {
		if ok, err := VerifyPassword(phc, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", phc, ok, err)
		}
	}
}
