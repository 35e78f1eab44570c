// Package static embeds kith's stylesheet, icons and the little optional
// JavaScript, so the binary carries them.
package static

import "embed"

// FS holds the static files, served under /static/ with content-hashed names.
//
//go:embed *.css *.svg
var FS embed.FS
