package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
)

// errOutsideStore: a stored path (from an event or the database) that does not
// lie inside the directory it must be in. Events can be forged by anyone who
// can publish to NATS (a voicemail_left whose URI is /proc/self/environ), so a
// path is never opened on trust.
var errOutsideStore = errors.New("path outside its store directory")

// openInStore opens path only if it lies inside dir, through an os.Root so that
// neither ".." nor a symbolic link can lead out of it.
func openInStore(dir, path string) (*os.File, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: no store directory configured", errOutsideStore)
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	if err != nil || !filepath.IsLocal(rel) || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%w: %q is not inside %s", errOutsideStore, path, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// os.Root refuses a symbolic link out of the directory with an error of
		// its own; to the caller it is the same refusal.
		return nil, fmt.Errorf("%w: %q: %v", errOutsideStore, path, err)
	}
	return f, err
}

// openStored opens a stored file to serve and stats it; on failure it has
// answered the request (see serveStoredError) and ok is false.
func openStored(w http.ResponseWriter, r *http.Request, dir, path, kind string) (f *os.File, fi os.FileInfo, ok bool) {
	f, err := openInStore(dir, path)
	if err != nil {
		serveStoredError(w, r, kind, err)
		return nil, nil, false
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		problem.Internal(w, r, err)
		return nil, nil, false
	}
	return f, fi, true
}

// serveStoredError answers the errors of openInStore: gone for a file that was
// removed, 404 (and an error in the log) for a path outside its store.
func serveStoredError(w http.ResponseWriter, r *http.Request, kind string, err error) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		problem.Write(w, r, problem.Problem{Type: problem.TypeNotFound, Status: http.StatusGone,
			Detail: "the " + kind + " is no longer in the store"})
	case errors.Is(err, errOutsideStore):
		reqctx.Logger(r.Context()).Error("refused to serve a stored path outside its directory (forged event?)",
			zap.String("kind", kind), zap.Error(err))
		problem.NotFound(w, r, "the "+kind+" is not in the store")
	default:
		problem.Internal(w, r, err)
	}
}
