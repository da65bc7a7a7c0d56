package domain

import "regexp"

// Role is what kind of user acts. Permissions depend on the role only, plus, for
// units, on being the unit the case is assigned to.
type Role string

const (
	RoleAgent      Role = "agent"      // 话务员, ID is the staff number (工号)
	RoleSupervisor Role = "supervisor" // 督查 / center head
	RoleUnit       Role = "unit"       // 承办单位 staff, UnitID says which unit
	RoleAdmin      Role = "admin"      // 管理员: directory and archive
	RoleSystem     Role = "system"     // automatic jobs: scheduler, call service, web intake
)

var roleEnum = enum[Role]{
	field:  "role",
	codes:  []Role{RoleAgent, RoleSupervisor, RoleUnit, RoleAdmin, RoleSystem},
	labels: []string{"话务员", "督查", "承办单位", "管理员", "系统"},
}

// ParseRole accepts a code or a label.
func ParseRole(s string) (Role, error) { return roleEnum.parse(s) }

// Roles lists every role.
func Roles() []Role { return roleEnum.all() }

// Valid reports whether r is one of the codes.
func (r Role) Valid() bool { return roleEnum.valid(r) }

// Label is the Chinese name.
func (r Role) Label() string { return roleEnum.label(r) }

// UnmarshalText refuses unknown roles at the JSON boundary.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	*r = v
	return err
}

// Actor is who performs an action; every history entry carries one (C9).
type Actor struct {
	ID     string `json:"id"`
	Role   Role   `json:"role"`
	UnitID string `json:"unit_id,omitempty"`
}

var actorIDPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.@:-]{0,63}$`)

// NewActor validates and builds an Actor.
func NewActor(id string, role Role, unitID string) (Actor, error) {
	a := Actor{ID: id, Role: role, UnitID: unitID}
	return a, a.Validate()
}

// Validate refuses an actor whose unit does not match its role: a unit user
// without a unit could otherwise match cases by the empty unit ID, and a center
// user with a unit would be ambiguous about which rules apply.
func (a Actor) Validate() error {
	if !actorIDPattern.MatchString(a.ID) {
		return invalid("actor.id", a.ID, "want 1-64 letters, digits or _ . @ : -")
	}
	if err := roleEnum.check(a.Role); err != nil {
		return err
	}
	if a.Role == RoleUnit {
		if !unitIDPattern.MatchString(a.UnitID) {
			return invalid("actor.unit_id", a.UnitID, "a unit user needs a valid unit ID")
		}
	} else if a.UnitID != "" {
		return invalid("actor.unit_id", a.UnitID, "only unit users belong to a unit")
	}
	return nil
}

// seesEverything reports the roles that see a caller's identity on every case
// (001 §四(六) keeps it inside the hotline center, and there with the people
// whose work needs it): agents, supervisors and the system. Administrators (IT)
// see every case but a protected case's caller only through an audited reveal
// (ViewRevealed).
func (a Actor) seesEverything() bool {
	switch a.Role {
	case RoleAgent, RoleSupervisor, RoleSystem:
		return true
	}
	return false
}

// seesAllCases reports the center roles, which see every case (identity aside).
func (a Actor) seesAllCases() bool { return a.seesEverything() || a.Role == RoleAdmin }

// MayReveal reports whether viewer may ask for a protected caller's identity
// with an audited reveal: administrators, who otherwise see it redacted.
func (a Actor) MayReveal() bool { return a.Role == RoleAdmin && a.Validate() == nil }
