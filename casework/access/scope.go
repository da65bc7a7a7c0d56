package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// SeesAllUnits reports whether p's role sees every unit's cases: everyone at the
// hotline center. A unit user sees only its own subtree.
func SeesAllUnits(p Principal) bool {
	switch p.Role {
	case domain.RoleAgent, domain.RoleSupervisor, domain.RoleAdmin, domain.RoleSystem:
		return true
	}
	return false
}

// CanSeeUnit reports whether p may see what belongs to unitID: center roles see
// all units; a unit user sees its own unit and its descendants (a level-2 unit
// its level-3 sub-units), never a sibling or an ancestor (C14). Unknown units
// and unknown roles see nothing.
func CanSeeUnit(h domain.Hierarchy, p Principal, unitID string) bool {
	if SeesAllUnits(p) {
		return true
	}
	if p.Role != domain.RoleUnit || p.UnitID == "" || unitID == "" {
		return false
	}
	return h.IsSelfOrAncestor(p.UnitID, unitID)
}

// UnitSource lists the whole unit directory (store.Units).
type UnitSource interface {
	All(ctx context.Context) ([]store.Unit, error)
}

// Directory is a cached view of the unit tree for scoping decisions. Scoping runs
// on every case read, the directory changes a few times a year, so the tree is
// reloaded at most every ttl and at once after Invalidate (called by this
// instance's unit endpoints). Another instance's change is seen within ttl.
type Directory struct {
	src UnitSource
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	tree   *domain.UnitTree
	loaded time.Time
}

// DefaultDirectoryTTL bounds how long another instance's directory change takes
// to reach scoping decisions here.
const DefaultDirectoryTTL = 10 * time.Second

// NewDirectory returns a directory over src; ttl <= 0 means DefaultDirectoryTTL.
func NewDirectory(src UnitSource, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = DefaultDirectoryTTL
	}
	return &Directory{src: src, ttl: ttl, now: time.Now}
}

// Invalidate makes the next lookup reload the tree.
func (d *Directory) Invalidate() {
	d.mu.Lock()
	d.tree = nil
	d.mu.Unlock()
}

// Tree returns the unit tree, reloading it when stale.
func (d *Directory) Tree(ctx context.Context) (*domain.UnitTree, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tree != nil && d.now().Sub(d.loaded) < d.ttl {
		return d.tree, nil
	}
	units, err := d.src.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load unit directory: %w", err)
	}
	du := make([]domain.Unit, len(units))
	for i, u := range units {
		du[i] = u.Unit
	}
	tree, err := domain.NewUnitTree(du...)
	if err != nil {
		// The schema keeps the directory consistent; this is a bug or manual SQL.
		return nil, fmt.Errorf("unit directory is inconsistent: %w", err)
	}
	d.tree, d.loaded = tree, d.now()
	return tree, nil
}

// CanSeeUnit is CanSeeUnit against the current directory. Center roles are
// answered without loading it.
func (d *Directory) CanSeeUnit(ctx context.Context, p Principal, unitID string) (bool, error) {
	if SeesAllUnits(p) {
		return true, nil
	}
	tree, err := d.Tree(ctx)
	if err != nil {
		return false, err
	}
	return CanSeeUnit(tree, p, unitID), nil
}
