package routing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/api/problem"
)

// SIPConfig pushes PJSIP objects into Asterisk (ari.DynamicConfig).
type SIPConfig interface {
	Put(ctx context.Context, class, typ, id string, fields []ari.Field) error
	Delete(ctx context.Context, class, typ, id string) error
}

// Softphones gives each agent who signs in on the desktop with the browser
// softphone a WebRTC SIP account named by their staff number — the endpoint
// the queue rings (PJSIP/<staff>) — with a password made for that sign-in
// only. The user record is the only source: there is no list of agents to keep
// in step with Asterisk. The account is removed at sign-out, and within one
// check interval when the agent's token stops working (user disabled, session
// ended), which also logs the agent out of the queue.
type Softphones struct {
	cfg      SIPConfig
	auth     TokenVerifier
	svc      *Service
	log      *zap.Logger
	interval time.Duration
	// Transport is the PJSIP WebSocket transport (pjsip.conf [transport-ws]).
	Transport string
	// ACL is the named ACL (acl.conf) the endpoints accept requests through:
	// the browsers' SIP comes only from casework's proxy on loopback
	// (issue 14; empty: none).
	ACL string

	mu     sync.Mutex
	active map[string]string // staff number -> token that provisioned it
}

// NewSoftphones returns the provisioner; Run checks the agents' tokens every
// interval.
func NewSoftphones(cfg SIPConfig, auth TokenVerifier, s *Service, interval time.Duration, log *zap.Logger) *Softphones {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return &Softphones{cfg: cfg, auth: auth, svc: s, log: log, interval: interval, Transport: "transport-ws",
		ACL: "agent-desk", active: map[string]string{}}
}

// browserAccount is what the page's SIP user agent registers with.
type browserAccount struct {
	Kind     string `json:"kind"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// SoftphoneRoutes mounts the softphone endpoints (routing/openapi.yaml):
//
//	POST   /api/v1/agent/softphone   {"kind": "browser"|"sip"}
//	DELETE /api/v1/agent/softphone
func (s *Service) SoftphoneRoutes(mux *http.ServeMux, auth TokenVerifier, sp *Softphones) {
	h := &api{s: s, auth: auth}
	mux.HandleFunc("POST /api/v1/agent/softphone", h.agent(func(w http.ResponseWriter, r *http.Request, id Identity, token string) {
		var body struct {
			Kind string `json:"kind"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&body); err != nil {
			problem.BadRequest(w, r, "malformed JSON: "+err.Error())
			return
		}
		switch body.Kind {
		case "browser":
			acc, err := sp.provision(r.Context(), id, token)
			if err != nil {
				sp.log.Warn("browser softphone not provisioned", zap.String("staff", id.StaffNumber), zap.Error(err))
				problem.Conflict(w, r, "no browser softphone for "+id.StaffNumber+": "+err.Error())
				return
			}
			writeJSON(w, http.StatusOK, acc)
		case "sip":
			// A SIP softphone uses the account of pjsip_agents.conf; a browser
			// account left from an earlier sign-in would shadow nothing but is
			// removed so that nothing answers with a stale password.
			if err := sp.remove(r.Context(), id.StaffNumber); err != nil {
				problem.Write(w, r, problem.Problem{Type: problem.TypeUnavailable, Status: http.StatusBadGateway, Detail: err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, browserAccount{Kind: "sip", Username: id.StaffNumber})
		default:
			problem.BadRequest(w, r, `kind: want "browser" or "sip"`, problem.Field("kind", `want "browser" or "sip"`))
		}
	}))
	mux.HandleFunc("DELETE /api/v1/agent/softphone", h.agent(func(w http.ResponseWriter, r *http.Request, id Identity, _ string) {
		if err := sp.remove(r.Context(), id.StaffNumber); err != nil {
			problem.Write(w, r, problem.Problem{Type: problem.TypeUnavailable, Status: http.StatusBadGateway, Detail: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
	}))
}

func (sp *Softphones) provision(ctx context.Context, id Identity, token string) (browserAccount, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return browserAccount{}, err
	}
	pw := base64.RawURLEncoding.EncodeToString(b)
	staff := id.StaffNumber
	const class = "res_pjsip"
	if err := sp.cfg.Put(ctx, class, "auth", staff, fields(
		"auth_type", "userpass", "username", staff, "password", pw,
	)); err != nil {
		return browserAccount{}, fmt.Errorf("SIP account (a pjsip.conf agent of that number uses a SIP softphone): %w", err)
	}
	if err := sp.cfg.Put(ctx, class, "aor", staff, fields(
		// One registered page per agent; a second sign-in takes the calls.
		"max_contacts", "1", "remove_existing", "yes",
	)); err != nil {
		return browserAccount{}, err
	}
	name := id.Name
	if name == "" {
		name = staff
	}
	ep := fields(
		"transport", sp.Transport, "context", "agents", "auth", staff, "aors", staff,
		"disallow", "all", "allow", "alaw,ulaw",
		// webrtc=yes: AVPF, DTLS-SRTP with a generated certificate, rtcp-mux and
		// ICE for this endpoint only (rtp.conf keeps ICE off for the trunks).
		"webrtc", "yes", "dtls_auto_generate_cert", "yes", "ice_support", "yes",
		"direct_media", "no", "force_rport", "yes", "rewrite_contact", "yes",
		"device_state_busy_at", "1", "send_pai", "yes", "trust_id_outbound", "yes",
		"allow_transfer", "no", "dtmf_mode", "rfc4733",
		"callerid", fmt.Sprintf("%q <%s>", name, staff),
	)
	if sp.ACL != "" {
		ep = append(ep, ari.Field{Attribute: "acl", Value: sp.ACL})
		// A PUT onto an existing endpoint adds to its list options: the named
		// ACL would occur twice and Asterisk refuses the endpoint (400, "Named
		// ACL occurs multiple times"). An agent signing in again, or after this
		// service restarted, meets the endpoint of the earlier sign-in: start
		// from none. Calls in progress keep their channels; the registration
		// lives on the AOR.
		if err := sp.cfg.Delete(ctx, class, "endpoint", staff); err != nil { // none there: no error
			return browserAccount{}, fmt.Errorf("replace the earlier endpoint: %w", err)
		}
	}
	if err := sp.cfg.Put(ctx, class, "endpoint", staff, ep); err != nil {
		return browserAccount{}, err
	}
	sp.mu.Lock()
	sp.active[staff] = token
	sp.mu.Unlock()
	sp.log.Info("browser softphone provisioned", zap.String("staff", staff))
	return browserAccount{Kind: "browser", Username: staff, Password: pw}, nil
}

func (sp *Softphones) remove(ctx context.Context, staff string) error {
	sp.mu.Lock()
	_, had := sp.active[staff]
	delete(sp.active, staff)
	sp.mu.Unlock()
	if !had {
		return nil // never pushed by this service: a pjsip.conf account is not ours to delete
	}
	var errs []error
	for _, typ := range []string{"endpoint", "aor", "auth"} {
		if err := sp.cfg.Delete(ctx, "res_pjsip", typ, staff); err != nil {
			errs = append(errs, err)
		}
	}
	sp.log.Info("browser softphone removed", zap.String("staff", staff), zap.Errors("errors", errs))
	return errors.Join(errs...)
}

// Run drops the accounts of agents whose token no longer works, until ctx ends.
func (sp *Softphones) Run(ctx context.Context) error {
	t := time.NewTicker(sp.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		sp.mu.Lock()
		check := make(map[string]string, len(sp.active))
		for k, v := range sp.active {
			check[k] = v
		}
		sp.mu.Unlock()
		for staff, token := range check {
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := sp.auth.Verify(vctx, token)
			if errors.Is(err, ErrUnauthorized) {
				if _, lerr := sp.svc.pool.Apply(staff, ActLogout, "signed_out"); lerr != nil {
					sp.log.Debug("logout of a signed-out agent", zap.String("staff", staff), zap.Error(lerr))
				}
				if rerr := sp.remove(vctx, staff); rerr != nil {
					sp.log.Warn("removing the softphone of a signed-out agent", zap.String("staff", staff), zap.Error(rerr))
				}
			}
			cancel()
		}
	}
}

// fields pairs attribute names and values in order.
func fields(kv ...string) []ari.Field {
	out := make([]ari.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ari.Field{Attribute: kv[i], Value: kv[i+1]})
	}
	return out
}
