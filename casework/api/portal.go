package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// PortalInbox is what the units' inbox needs from the case store.
type PortalInbox interface {
	Inbox(ctx context.Context, unitID string, all bool, limit int) ([]store.InboxRow, error)
}

// PortalNotifications is what the notification and webhook routes need
// (store.Notifications).
type PortalNotifications interface {
	List(ctx context.Context, unitID, userID string, unreadOnly bool, afterID int64, limit int) ([]store.Notification, int, error)
	MarkRead(ctx context.Context, unitID, userID string, ids []int64) (int, error)
	SetWebhook(ctx context.Context, unitID, url, secret string, enabled bool, by string) (store.Webhook, error)
	Webhook(ctx context.Context, unitID string) (store.Webhook, error)
	DeleteWebhook(ctx context.Context, unitID string) error
	Deliveries(ctx context.Context, unitID string, limit int) ([]store.Delivery, error)
}

// WorkingDays counts working days by the calendar in force (calendar.Source).
type WorkingDays interface {
	WorkingDaysBetween(a, b time.Time) (int, error)
}

// PortalRoutes wires the units' portal (issue 13, SPEC W4): the inbox by
// deadline, notifications, and the units' webhooks.
type PortalRoutes struct {
	Cases         PortalInbox
	Notifications PortalNotifications
	Calendar      WorkingDays
	Now           func() time.Time
}

// MountPortal registers the portal's routes.
func (s *Server) MountPortal(h PortalRoutes) {
	if h.Now == nil {
		h.Now = time.Now
	}
	s.Mount(func(mux *http.ServeMux) {
		mux.HandleFunc("GET "+Prefix+"/portal/inbox", s.portalInbox(h))
		mux.HandleFunc("GET "+Prefix+"/notifications", s.listNotifications(h))
		mux.HandleFunc("POST "+Prefix+"/notifications/read", s.readNotifications(h))
		mux.HandleFunc("GET "+Prefix+"/units/{id}/webhook", s.getWebhook(h))
		mux.HandleFunc("PUT "+Prefix+"/units/{id}/webhook", s.putWebhook(h))
		mux.HandleFunc("DELETE "+Prefix+"/units/{id}/webhook", s.deleteWebhook(h))
		mux.HandleFunc("GET "+Prefix+"/units/{id}/webhook/deliveries", s.webhookDeliveries(h))
	})
}

// InboxItem is a case in the units' inbox: the list's columns (never the
// caller) with the working days left by the calendar in force.
type InboxItem struct {
	store.InboxRow
	// WorkingDaysLeft counts the whole working days from now to the deadline
	// (negative: working days overdue); absent without a deadline.
	WorkingDaysLeft *int `json:"working_days_left,omitempty"`
	Overdue         bool `json:"overdue"`
}

func (s *Server) portalInbox(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleUnit)
		if !ok || !OnlyParams(w, r, "all") {
			return
		}
		all := r.URL.Query().Get("all") == "true"
		rows, err := h.Cases.Inbox(r.Context(), p.UnitID, all, 200)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		if !s.auditOrFail(w, r, access.ActionList, "portal_inbox", p.UnitID) {
			return
		}
		now := h.Now()
		items := make([]InboxItem, 0, len(rows))
		for _, row := range rows {
			it := InboxItem{InboxRow: row}
			if !row.Deadline.IsZero() {
				n, err := h.Calendar.WorkingDaysBetween(now, row.Deadline)
				if err != nil {
					// A deadline is always inside the calendar (1950-2099).
					reqctx.Logger(r.Context()).Warn("working days left", zap.String("case_id", row.ID), zap.Error(err))
				} else {
					it.WorkingDaysLeft = &n
				}
				it.Overdue = now.After(row.Deadline) && (row.State == domain.StateTransferred || row.State == domain.StateAccepted)
			}
			items = append(items, it)
		}
		WriteJSON(w, r, http.StatusOK, List[InboxItem]{Items: items})
	}
}

// notificationList is GET /notifications.
type notificationList struct {
	Items  []store.Notification `json:"items"`
	Unread int                  `json:"unread"`
}

func (s *Server) listNotifications(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleUnit)
		if !ok || !OnlyParams(w, r, "unread", "after", "limit") {
			return
		}
		q := r.URL.Query()
		var after int64
		if a := q.Get("after"); a != "" {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil || n < 0 {
				problem.BadRequest(w, r, "bad query parameter", problem.Param("after", "a notification ID"))
				return
			}
			after = n
		}
		limit := 50
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 200 {
				problem.BadRequest(w, r, "bad query parameter", problem.Param("limit", "1 to 200"))
				return
			}
			limit = n
		}
		items, unread, err := h.Notifications.List(r.Context(), p.UnitID, p.UserID, q.Get("unread") == "true", after, limit)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		if items == nil {
			items = []store.Notification{}
		}
		WriteJSON(w, r, http.StatusOK, notificationList{Items: items, Unread: unread})
	}
}

func (s *Server) readNotifications(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleUnit)
		if !ok {
			return
		}
		var in struct {
			IDs []int64 `json:"ids"`
			All bool    `json:"all"`
		}
		if !DecodeJSON(w, r, &in) {
			return
		}
		if !in.All && len(in.IDs) == 0 {
			problem.Unprocessable(w, r, "name the notifications read (ids) or all", problem.Field("ids", "required unless all is true"))
			return
		}
		ids := in.IDs
		if in.All {
			ids = nil
		}
		n, err := h.Notifications.MarkRead(r.Context(), p.UnitID, p.UserID, ids)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, map[string]int{"marked": n})
	}
}

func (s *Server) getWebhook(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
			return
		}
		wh, err := h.Notifications.Webhook(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Error(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, wh)
	}
}

// webhookRequest is PUT /units/{id}/webhook.
type webhookRequest struct {
	URL     string `json:"url"`
	Secret  string `json:"secret"`
	Enabled *bool  `json:"enabled,omitempty"`
}

// ValidateWebhook checks a webhook's URL and secret (also used by hotlinectl).
func ValidateWebhook(rawURL, secret string) []problem.FieldError {
	var bad []problem.FieldError
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(rawURL) > 2000 {
		bad = append(bad, problem.Field("url", "an http(s) URL with a host and no credentials, at most 2000 characters"))
	}
	if n := utf8.RuneCountInString(secret); n < 16 || n > 200 || strings.TrimSpace(secret) != secret {
		bad = append(bad, problem.Field("secret", "16 to 200 characters, no surrounding spaces"))
	}
	return bad
}

func (s *Server) putWebhook(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleAdmin)
		if !ok {
			return
		}
		var in webhookRequest
		if !DecodeJSON(w, r, &in) {
			return
		}
		if bad := ValidateWebhook(in.URL, in.Secret); len(bad) > 0 {
			problem.Unprocessable(w, r, "invalid webhook", bad...)
			return
		}
		enabled := in.Enabled == nil || *in.Enabled
		id := r.PathValue("id")
		wh, err := h.Notifications.SetWebhook(r.Context(), id, in.URL, in.Secret, enabled, p.UserID)
		if err != nil {
			problem.Error(w, r, err)
			return
		}
		if !s.auditOrFail(w, r, access.ActionUpdate, "unit_webhook", id) {
			return
		}
		WriteJSON(w, r, http.StatusOK, wh)
	}
}

func (s *Server) deleteWebhook(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
			return
		}
		id := r.PathValue("id")
		if err := h.Notifications.DeleteWebhook(r.Context(), id); err != nil {
			problem.Error(w, r, err)
			return
		}
		if !s.auditOrFail(w, r, access.ActionRevoke, "unit_webhook", id) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// webhookDeliveries: an administrator sees any unit's deliveries, a unit user
// its own unit's (it runs the receiver and wants to know what it missed).
func (s *Server) webhookDeliveries(h PortalRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleAdmin, domain.RoleUnit)
		if !ok || !OnlyParams(w, r) {
			return
		}
		id := r.PathValue("id")
		if p.Role == domain.RoleUnit && p.UnitID != id {
			problem.Forbidden(w, r, "unit "+id+" is not your unit")
			return
		}
		ds, err := h.Notifications.Deliveries(r.Context(), id, 200)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		if ds == nil {
			ds = []store.Delivery{}
		}
		WriteJSON(w, r, http.StatusOK, List[store.Delivery]{Items: ds})
	}
}
