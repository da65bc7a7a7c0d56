package ivr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// CaseStatus is what voice self-service may say about a case.
type CaseStatus struct {
	Number string
	// Status is the spoken status text (e.g. 办理中).
	Status string
	// Detailed is true when the caller keyed the case's query code: only then
	// unit and deadline (the calling number proves nothing; T13).
	Detailed bool
	Unit     string
	Deadline time.Time
	// CodeLocked: casework checks no more codes today for this case or from
	// this number (too many wrong ones).
	CodeLocked bool
}

// maxCodeTries bounds wrong query codes within one call; casework bounds them
// per case and per number a day as well.
const maxCodeTries = 3

// CaseLookup reads a case's status from casework. The call service implements
// it with the casework API's self-service endpoint.
type CaseLookup interface {
	// LookupCase returns ErrCaseNotFound for unknown numbers.
	LookupCase(ctx context.Context, number, callerNumber, queryCode string) (CaseStatus, error)
}

// ErrCaseNotFound means no case has that number.
var ErrCaseNotFound = errors.New("case not found")

// Speaker renders dynamic text to a sound file (path without extension, same
// path for Asterisk), cached: prompts.Renderer.RenderText implements it.
type Speaker interface {
	RenderText(ctx context.Context, text string) (string, error)
}

// selfService is 自动语音服务 (SPEC T10): the caller keys a case number ending
// with #; the status is spoken, then unit and deadline if the caller keys the
// case's query code when asked — the same for every calling number, so the
// answer never tells whether this number filed the case. Wrong codes are
// bounded per call (maxCodeTries) and by casework per case and number a day.
// Unknown numbers get a clear prompt and another try; * goes back to the menu.
func (s *Service) selfService(ctx context.Context, call *Call) (back bool, err error) {
	ch := call.ChannelID()
	if s.cfg.Lookup == nil || s.cfg.Speech == nil {
		_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.ServiceUnavailable)), false)
		return true, err
	}
	call.SetOutcome(event.OutcomeSelfService)
	caller := call.S.Caller().CallerNumber
	misses, codeTries := 0, 0
	for misses < s.cfg.Menu.MaxErrors {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.SelfServiceEnterCase)), true); err != nil {
			return false, err
		}
		number, err := s.readNumber(ctx, call)
		switch {
		case errors.Is(err, errBackToMenu):
			return true, nil
		case errors.Is(err, ari.ErrNoInput):
			misses++
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.NoInput)), false); err != nil {
				return false, err
			}
			continue
		case err != nil:
			return false, err
		}
		st, err := s.lookup(ctx, call, number, caller, "")
		if errors.Is(err, ErrCaseNotFound) {
			misses++
			call.S.FlushDigits(ch)
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.SelfServiceNotFound)), false); err != nil {
				return false, err
			}
			continue
		}
		if err != nil {
			call.Log.Error("self-service lookup failed", zap.String("case_number", number), zap.Error(err))
			_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.ServiceUnavailable)), false)
			return true, err
		}
		misses = 0
		if err := s.speakStatus(ctx, call, st); err != nil {
			return false, err
		}
		if !st.Detailed && (st.CodeLocked || codeTries >= maxCodeTries) {
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.SelfServiceCodeLocked)), false); err != nil {
				return false, err
			}
		} else if !st.Detailed {
			// Unit and deadline only with the query code.
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.SelfServiceCode)), true); err != nil {
				return false, err
			}
			code, err := s.readNumber(ctx, call)
			switch {
			case errors.Is(err, errBackToMenu):
				return true, nil
			case errors.Is(err, ari.ErrHangup):
				return false, err
			case err == nil:
				st2, err := s.lookup(ctx, call, number, caller, code)
				switch {
				case err == nil && st2.Detailed:
					if err := s.speakStatus(ctx, call, st2); err != nil {
						return false, err
					}
				case err == nil:
					codeTries++
					wrong := []string{s.Sound(string(prompts.SelfServiceCodeWrong))}
					if st2.CodeLocked || codeTries >= maxCodeTries {
						wrong = append(wrong, s.Sound(string(prompts.SelfServiceCodeLocked)))
					}
					if _, err := call.S.PlayAll(ctx, ch, wrong, false); err != nil {
						return false, err
					}
				}
			}
		}
		// Another case, or * for the menu.
		call.S.FlushDigits(ch)
	}
	_, err = call.S.Play(ctx, ch, s.Sound(string(prompts.TooManyErrors)), false)
	return true, err
}

var errBackToMenu = errors.New("caller asked for the menu")

// readNumber reads digits up to #. A * anywhere means back to the menu (it is
// not a terminator, because ReadDigits does not say which terminator ended the
// input; a lone * returns after the inter-digit timeout). A bare # is no input.
func (s *Service) readNumber(ctx context.Context, call *Call) (string, error) {
	d, err := call.S.ReadDigits(ctx, call.ChannelID(), ari.ReadOptions{Terminators: "#", Max: 24,
		FirstTimeout: s.cfg.Menu.FirstTimeout, InterTimeout: s.cfg.Menu.InterTimeout})
	switch {
	case strings.Contains(d, "*"):
		return "", errBackToMenu
	case err != nil:
		return d, err
	case d == "":
		return "", ari.ErrNoInput
	}
	return d, nil
}

func (s *Service) lookup(ctx context.Context, call *Call, number, caller, code string) (CaseStatus, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := s.cfg.Lookup.LookupCase(lctx, number, caller, code)
	result := "detailed"
	switch {
	case errors.Is(err, ErrCaseNotFound):
		result = "not_found"
	case err != nil:
		result = "error"
	case !st.Detailed:
		result = "status_only"
	}
	s.metrics.lookups.WithLabelValues(result).Inc()
	if result != "error" {
		call.Emit(event.SelfServiceLookup, event.SelfServiceLookupPayload{
			CaseNumber: number, Found: err == nil, Detailed: err == nil && st.Detailed})
	}
	return st, err
}

// statusText is the spoken status of a case: what anyone may hear, plus unit and
// deadline for the entitled.
func statusText(st CaseStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "案件编号%s，目前状态：%s。", st.Number, st.Status)
	if st.Detailed {
		if st.Unit != "" {
			fmt.Fprintf(&b, "承办单位：%s。", st.Unit)
		}
		if !st.Deadline.IsZero() {
			d := st.Deadline.In(shanghai)
			fmt.Fprintf(&b, "办理期限：%d月%d日%d时。", int(d.Month()), d.Day(), d.Hour())
		}
	}
	return b.String()
}

func (s *Service) speakStatus(ctx context.Context, call *Call, st CaseStatus) error {
	ch := call.ChannelID()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	path, err := s.cfg.Speech.RenderText(rctx, statusText(st))
	cancel()
	if err != nil {
		call.Log.Error("status not rendered", zap.Error(err))
		_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.ServiceUnavailable)), false)
		return err
	}
	_, err = call.S.PlayAll(ctx, ch, []string{s.Sound(string(prompts.SelfServiceStatusIntro)), prompts.SoundURI(path)}, false)
	return err
}
