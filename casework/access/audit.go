package access

import (
	"context"
	"errors"

	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/store"
)

// Audit actions. Object types are the API's resource names: "case", "unit",
// "user", "token".
const (
	// ActionList: a list view or a search; the object ID is the query, so the
	// log shows who looked for which caller's number (T13).
	ActionList   = "list"
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionRevoke = "revoke"
	// ActionReveal: an administrator asked to see a protected caller.
	ActionReveal = "reveal"
)

// ErrNoPrincipal: an audited operation ran without a principal in its context.
var ErrNoPrincipal = errors.New("audit: no principal in context")

// AuditSink appends audit entries (store.AuditLog).
type AuditSink interface {
	Append(ctx context.Context, e store.AuditEntry) error
}

// Auditor records who read or changed what.
type Auditor struct {
	sink AuditSink
}

// NewAuditor returns an auditor writing to sink.
func NewAuditor(sink AuditSink) *Auditor { return &Auditor{sink: sink} }

// Audit records that the principal in ctx did action on the object, with the
// request ID. Case endpoints call it on every read of a case file and must not
// answer with the file when it fails: an unrecorded read is what the log exists
// to prevent.
func (a *Auditor) Audit(ctx context.Context, action, objectType, objectID string) error {
	e, err := Entry(ctx, action, objectType, objectID)
	if err != nil {
		return err
	}
	return a.sink.Append(ctx, e)
}

// Entry builds the audit entry Audit would write, for callers that append it in
// their own transaction with store.AppendAudit.
func Entry(ctx context.Context, action, objectType, objectID string) (store.AuditEntry, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return store.AuditEntry{}, ErrNoPrincipal
	}
	return store.AuditEntry{
		UserID: p.UserID, Role: p.Role, UnitID: p.UnitID,
		Action: action, ObjectType: objectType, ObjectID: objectID,
		RequestID: reqctx.ID(ctx),
	}, nil
}
