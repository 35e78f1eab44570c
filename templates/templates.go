// Package templates embeds kith's HTML templates so the binary carries them.
package templates

import "embed"

// FS holds every *.html template.
//
//go:embed *.html
var FS embed.FS
