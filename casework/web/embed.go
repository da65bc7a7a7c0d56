// Package web holds the agent desktop's page (plain ES modules, no build step
// of its own) and embeds it into the casework binary. static/vendor/ is made by
// `make web` (npm ci + esbuild bundle of the pinned JsSIP) and never committed.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Assets are the page's files, rooted at static/.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is embedded above: cannot fail
	}
	return sub
}
