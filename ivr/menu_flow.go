package ivr

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// MainMenu names the main menu in events and metrics.
const MainMenu = "main"

// sounds maps prompt IDs to media URIs.
func (s *Service) sounds(ids ...prompts.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.Sound(string(id))
	}
	return out
}

// menu runs the main voice menu until a service ends the call or the caller
// hangs up. intro ("closed hours" or "all agents busy") is said once, before
// the first menu prompt; both prompts give way to a key.
func (s *Service) menu(ctx context.Context, call *Call, intro prompts.ID) error {
	ch := call.ChannelID()
	call.SetOutcome(event.OutcomeMenu)
	call.SetPhase(ari.PhaseMenu)
	m := newMenuMachine(s.cfg.Menu)
	pre := []prompts.ID{intro}
	for {
		started := time.Now()
		if _, err := call.S.PlayAll(ctx, ch, s.sounds(append(pre, prompts.MenuMain)...), true); err != nil {
			return err
		}
		key, err := call.S.ReadDigits(ctx, ch, ari.ReadOptions{Max: 1, FirstTimeout: s.cfg.Menu.FirstTimeout})
		switch {
		case errors.Is(err, ari.ErrNoInput):
			key = ""
		case err != nil:
			return err
		default:
			s.metrics.menuLatency.Observe(time.Since(started).Seconds())
		}
		st := m.inputAt(key, time.Now())
		if st.Burst {
			// The rest of a mashed burst: no new error, the re-prompt again.
			call.Log.Debug("menu key in a burst, not counted", zap.String("key", st.Key))
			call.S.FlushDigits(ch)
			pre = []prompts.ID{st.Prompt}
			continue
		}
		s.menuEvent(call, MainMenu, st.Key, st.Choice, st.Attempt)
		if st.Default {
			s.menuEvent(call, MainMenu, "", ChoiceDefault, st.Attempt)
		}
		call.Log.Info("menu input", zap.String("key", st.Key), zap.String("choice", st.Choice),
			zap.Int("attempt", st.Attempt), zap.String("route", string(st.Route)))
		pre = nil
		if st.Route == RouteNone {
			if st.Prompt != "" {
				// A wrong key's leftovers ("55") must not answer the menu
				// again; the caller starts over after the re-prompt.
				call.S.FlushDigits(ch)
				pre = []prompts.ID{st.Prompt}
			}
			continue
		}
		if st.Prompt != "" {
			call.S.FlushDigits(ch)
			if _, err := call.S.Play(ctx, ch, s.Sound(string(st.Prompt)), false); err != nil {
				return err
			}
		}
		back, err := s.route(ctx, call, st.Route)
		if err != nil || !back {
			return err
		}
		m.back()
	}
}

func (s *Service) menuEvent(call *Call, menu, key, choice string, attempt int) {
	s.metrics.menuChoices.WithLabelValues(menu, choice).Inc()
	call.Emit(event.MenuChoice, event.MenuChoicePayload{Menu: menu, Key: key, Choice: choice, Attempt: attempt})
}

// route runs one service; back is true when the caller should get the menu again.
func (s *Service) route(ctx context.Context, call *Call, r Route) (back bool, err error) {
	switch r {
	case RouteVoicemail:
		return false, s.voicemail(ctx, call)
	case RouteSelfService:
		call.SetPhase(ari.PhaseSelfService)
		back, err = s.selfService(ctx, call)
	case RouteFax:
		call.SetPhase(ari.PhaseFax)
		back, err = s.faxService(ctx, call)
	default:
		return true, nil
	}
	if back && err == nil {
		call.SetPhase(ari.PhaseMenu)
	}
	return back, err
}

// goodbye thanks the caller and ends the call (the caller may already be gone).
func (s *Service) goodbye(ctx context.Context, call *Call) error {
	_, err := call.S.Play(ctx, call.ChannelID(), s.Sound(string(prompts.Goodbye)), false)
	return err
}
