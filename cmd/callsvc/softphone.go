package main

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/routing"
)

// softphoneCheck is how often the browser softphones' tokens are checked: a
// disabled user or an ended session loses its SIP account within this.
const softphoneCheck = 15 * time.Second

// attachSoftphones mounts the agents' softphone endpoints (browser softphones
// provisioned through ARI push configuration); nil without a queue.
func attachSoftphones(h ivr.HumanService, mux *http.ServeMux, cfg config, log *zap.Logger) *routing.Softphones {
	hs, ok := h.(*humanService)
	if !ok || hs == nil {
		return nil
	}
	dyn := &ari.DynamicConfig{URL: cfg.ARI.URL, Username: cfg.ARI.Username, Password: cfg.ARI.Password}
	sp := routing.NewSoftphones(dyn, hs.auth, hs.Service, softphoneCheck, log.Named("softphones"))
	sp.ACL = cfg.SoftphoneACL
	hs.SoftphoneRoutes(mux, hs.auth, sp)
	return sp
}
