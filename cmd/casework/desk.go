package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/desk"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/web"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// deskConfig is the agent desktop's part of the environment.
type deskConfig struct {
	Idle, Absolute time.Duration
	SecureCookie   bool
	CallService    *url.URL
	AsteriskWS     *url.URL
	PauseReasons   []string
}

func loadDeskConfig(e *svc.Env) deskConfig {
	var c deskConfig
	// HOTLINE_SESSION_IDLE [30m], HOTLINE_SESSION_MAX [12h]: a shift, then sign in again.
	c.Idle = e.Duration("HOTLINE_SESSION_IDLE", 30*time.Minute)
	c.Absolute = e.Duration("HOTLINE_SESSION_MAX", 12*time.Hour)
	e.Check(c.Idle <= 0 || c.Absolute < c.Idle, "HOTLINE_SESSION_IDLE must be positive and at most HOTLINE_SESSION_MAX")
	// HOTLINE_SESSION_SECURE_COOKIE [false]: set when the desktop is served over HTTPS.
	c.SecureCookie = e.Bool("HOTLINE_SESSION_SECURE_COOKIE", false)
	// HOTLINE_CALLSVC_URL [http://$HOTLINE_CALLSVC_HTTP_ADDR]: the agent API behind the desktop.
	call := e.Str("HOTLINE_CALLSVC_URL", "http://"+e.Str("HOTLINE_CALLSVC_HTTP_ADDR", "127.0.0.1:9101"))
	u, err := url.Parse(call)
	e.Check(err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "", fmt.Sprintf("HOTLINE_CALLSVC_URL=%q: want http(s)://host:port", call))
	c.CallService = u
	// HOTLINE_ASTERISK_WS_URL [ws://<host of HOTLINE_ARI_URL>/ws]: Asterisk's
	// SIP WebSocket, which the page's softphone reaches through /desk/sip.
	ws := e.Str("HOTLINE_ASTERISK_WS_URL", "")
	if ws == "" {
		ari, err := url.Parse(e.Str("HOTLINE_ARI_URL", "http://127.0.0.1:8088/ari"))
		if err == nil {
			ws = "ws://" + ari.Host + "/ws"
		}
	}
	w, err := url.Parse(ws)
	e.Check(err != nil || (w.Scheme != "ws" && w.Scheme != "wss") || w.Host == "", fmt.Sprintf("HOTLINE_ASTERISK_WS_URL=%q: want ws(s)://host:port/ws", ws))
	c.AsteriskWS = w
	// HOTLINE_PAUSE_REASONS [休息,就餐,会议,培训,其他]: the list an agent pauses with.
	for _, r := range strings.Split(e.Str("HOTLINE_PAUSE_REASONS", "休息,就餐,会议,培训,其他"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			e.Check(len(r) > 64 || !utf8.ValidString(r), fmt.Sprintf("HOTLINE_PAUSE_REASONS: %q longer than 64 bytes", r))
			c.PauseReasons = append(c.PauseReasons, r)
		}
	}
	e.Check(len(c.PauseReasons) == 0, "HOTLINE_PAUSE_REASONS must name at least one reason")
	return c
}

// mountDesk serves the agent desktop on mux and lets the API take its sessions.
func mountDesk(cfg deskConfig, pool *pgxpool.Pool, apiSrv *api.Server, mux *http.ServeMux, log *zap.Logger) error {
	d, err := desk.New(desk.Config{Store: store.NewSessions(pool), Tokens: store.NewUsers(pool),
		Idle: cfg.Idle, Absolute: cfg.Absolute, SecureCookie: cfg.SecureCookie,
		CallService: cfg.CallService, AsteriskWS: cfg.AsteriskWS, PauseReasons: cfg.PauseReasons,
		Assets: web.Assets(), Log: log})
	if err != nil {
		return err
	}
	apiSrv.UseSessions(d.Sessions())
	d.Register(mux)
	log.Info("agent desktop", zap.String("path", "/desk/"), zap.String("call_service", cfg.CallService.String()),
		zap.String("sip_websocket", cfg.AsteriskWS.String()), zap.Duration("idle", cfg.Idle), zap.Duration("max", cfg.Absolute))
	return nil
}
