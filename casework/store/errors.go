package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hotline12345/hotline/casework/domain"
)

// The store's sentinels are the domain's, so that a repository implementing a
// domain interface and a directory lookup answer the same errors.Is question and
// the HTTP layer maps both to one status.
var (
	// ErrNotFound: no row with that ID.
	ErrNotFound = domain.ErrNotFound
	// ErrConflict: the change collides with what is stored (duplicate ID or staff
	// number, a unit with sub-units changing level, a disabled user).
	ErrConflict = domain.ErrConflict
)

// PostgreSQL error codes the store translates.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgUndefinedTable      = "42P01"
)

func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// IsSchemaMissing reports an error caused by a table that does not exist yet,
// which almost always means the migrations have not been applied.
func IsSchemaMissing(err error) bool {
	code, _ := pgCode(err)
	return code == pgUndefinedTable
}
