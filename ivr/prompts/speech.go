package prompts

import (
	"strings"
	"unicode"
)

// Digits spells a string of digits one by one, the way numbers are read out
// on the phone in China: "12345" -> "幺二三四五", "1001" -> "幺零零幺".
// Use it for staff numbers, case numbers and phone numbers; characters other
// than digits are kept as they are.
func Digits(s string) string { return spell(s, '幺') }

var digitNames = [10]rune{'零', '一', '二', '三', '四', '五', '六', '七', '八', '九'}

func spell(s string, one rune) string {
	var b strings.Builder
	for _, r := range s {
		d, ok := digitValue(r)
		switch {
		case !ok:
			b.WriteRune(r)
		case d == 1:
			b.WriteRune(one)
		default:
			b.WriteRune(digitNames[d])
		}
	}
	return b.String()
}

// digitValue accepts ASCII and full-width digits (０-９, common in Chinese text).
func digitValue(r rune) (int, bool) {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0'), true
	case r >= '０' && r <= '９':
		return int(r - '０'), true
	}
	return 0, false
}

// SpeechText rewrites a display text into what the synthesizer should read:
//
//   - a run of 5 or more digits is an identifier (hotline, phone or case
//     number) and is read digit by digit: "12345" -> "幺二三四五";
//   - a 4-digit year before 年 is read digit by digit: "2024年" -> "二零二四年";
//   - shorter numbers stay numbers ("3个工作日", "第2位"), which espeak-ng
//     reads as quantities.
func SpeechText(text string) string {
	var (
		b   strings.Builder
		run []rune
	)
	flush := func(next rune) {
		if len(run) == 0 {
			return
		}
		s := string(run)
		switch {
		case len(run) >= 5:
			b.WriteString(spell(s, '幺'))
		case len(run) == 4 && next == '年':
			b.WriteString(spell(s, '一'))
		default:
			b.WriteString(s)
		}
		run = run[:0]
	}
	for _, r := range text {
		if _, ok := digitValue(r); ok {
			run = append(run, r)
			continue
		}
		flush(r)
		b.WriteRune(r)
	}
	flush(0)
	return strings.TrimFunc(b.String(), unicode.IsSpace)
}
