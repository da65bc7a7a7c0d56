// Package access decides who is calling the casework API and what they may see
// (C14): bearer-token authentication, role checks, unit scoping through the unit
// directory, and the audit log of who read or changed what.
//
// HTTP handlers get the caller with PrincipalFrom(r.Context()) after the
// Authenticator's middleware ran, refuse roles with Check or Require, filter by
// unit with Directory.CanSeeUnit (or SeesAllUnits plus the store's Under filter
// for lists), and call Auditor.Audit on every read of a case file.
package access

import (
	"context"
	"slices"

	"github.com/hotline12345/hotline/casework/domain"
)

// Principal is the authenticated caller of one request.
type Principal struct {
	UserID  string
	Name    string
	Role    domain.Role
	UnitID  string // unit users only
	Staff   string // agents only: staff number (工号)
	TokenID string
}

// Actor is the principal as the domain records it in case histories. The domain
// identifies agents by staff number (the number callers hear and the PJSIP
// endpoint name), everyone else by user ID.
func (p Principal) Actor() domain.Actor {
	id := p.UserID
	if p.Role == domain.RoleAgent && p.Staff != "" {
		id = p.Staff
	}
	return domain.Actor{ID: id, Role: p.Role, UnitID: p.UnitID}
}

// Has reports whether the principal has one of roles.
func (p Principal) Has(roles ...domain.Role) bool { return slices.Contains(roles, p.Role) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The middleware does this for requests;
// jobs acting as the system do it themselves before calling code that audits.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller, if ctx carries one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
