package markdown

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Link attributes. Mastodon adds rel="nofollow noopener" and target="_blank"
// to every link it keeps; noreferrer also hides our page URL from the target.
const (
	postRel  = `rel="nofollow noopener noreferrer" target="_blank"`
	fieldRel = `rel="me nofollow noopener noreferrer" target="_blank"`
)

// linkSchemes are the schemes a link may use: the ones Mastodon keeps
// (protocol.md §7) plus mailto. Relative URLs are allowed as well; anything
// else (javascript:, vbscript:, data:, file:, ...) is not linked.
var linkSchemes = []string{
	"http", "https", "mailto", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
}

// imageSchemes are the schemes an image may load from. data: is refused:
// receivers do not keep inline images, and the owner's images are attachments.
var imageSchemes = []string{"http", "https"}

// htmlRenderer overrides goldmark's HTML for links, autolinks, images,
// mentions and hashtags; plain mode also renders paragraphs as nothing and text
// without Markdown escapes, for profile field values.
type htmlRenderer struct {
	rel    string // attributes of every <a> except mentions and hashtags
	plain  bool
	writer html.Writer
}

func newHTMLRenderer(rel string, plain bool) *htmlRenderer {
	return &htmlRenderer{rel: rel, plain: plain, writer: html.NewWriter()}
}

// RegisterFuncs implements renderer.NodeRenderer.
func (r *htmlRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindMention, r.renderMention)
	reg.Register(kindHashtag, r.renderHashtag)
	reg.Register(ast.KindAutoLink, r.renderAutoLink)
	if r.plain {
		reg.Register(ast.KindParagraph, r.renderNothing)
		reg.Register(ast.KindText, r.renderPlainText)
		return
	}
	reg.Register(ast.KindLink, r.renderLink)
	reg.Register(ast.KindImage, r.renderImage)
}

func (r *htmlRenderer) renderMention(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mentionNode)
	if n.href == "" {
		r.writer.RawWrite(w, n.segment.Value(source))
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<span class="h-card" translate="no"><a href="`)
	r.writer.RawWrite(w, util.StringToReadOnlyBytes(n.href))
	_, _ = w.WriteString(`" class="u-url mention">@<span>`)
	r.writer.RawWrite(w, util.StringToReadOnlyBytes(n.mention.Username))
	_, _ = w.WriteString(`</span></a></span>`)
	return ast.WalkSkipChildren, nil
}

func (r *htmlRenderer) renderHashtag(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*hashtagNode)
	if n.href == "" {
		r.writer.RawWrite(w, n.segment.Value(source))
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<a href="`)
	r.writer.RawWrite(w, util.StringToReadOnlyBytes(n.href))
	_, _ = w.WriteString(`" class="mention hashtag" rel="tag">#<span>`)
	r.writer.RawWrite(w, util.StringToReadOnlyBytes(n.tag))
	_, _ = w.WriteString(`</span></a>`)
	return ast.WalkSkipChildren, nil
}

// renderLink writes [text](dest); with an unsafe destination only the text.
func (r *htmlRenderer) renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	dest := util.URLEscape(n.Destination, true)
	if !safeLink(dest) {
		return ast.WalkContinue, nil
	}
	if !entering {
		_, _ = w.WriteString("</a>")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(dest))
	_ = w.WriteByte('"')
	if n.Title != nil {
		_, _ = w.WriteString(` title="`)
		r.writer.Write(w, n.Title)
		_ = w.WriteByte('"')
	}
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(r.rel)
	_ = w.WriteByte('>')
	return ast.WalkContinue, nil
}

// renderAutoLink writes <scheme:...>, bare URLs and e-mail addresses.
func (r *htmlRenderer) renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	url := util.URLEscape(n.URL(source), false)
	if n.AutoLinkType == ast.AutoLinkEmail && !hasSchemePrefix(url, "mailto:") {
		url = append([]byte("mailto:"), url...)
	}
	label := n.Label(source)
	if !safeLink(url) {
		r.writer.RawWrite(w, label)
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(url))
	_, _ = w.WriteString(`" `)
	_, _ = w.WriteString(r.rel)
	_ = w.WriteByte('>')
	r.writer.RawWrite(w, label)
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

// renderImage writes an <img>, loaded lazily because a timeline holds many;
// with an unsafe source only the alt text, as inline content.
func (r *htmlRenderer) renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Image)
	src := util.URLEscape(n.Destination, true)
	if !safeImage(src) || !entering {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<img src="`)
	_, _ = w.Write(util.EscapeHTML(src))
	_, _ = w.WriteString(`" alt="`)
	r.writeAlt(w, source, n)
	_ = w.WriteByte('"')
	if n.Title != nil {
		_, _ = w.WriteString(` title="`)
		r.writer.Write(w, n.Title)
		_ = w.WriteByte('"')
	}
	_, _ = w.WriteString(` loading="lazy">`)
	return ast.WalkSkipChildren, nil
}

// writeAlt writes the text of n's children for an alt attribute: escaped,
// without markup, line breaks as spaces.
func (r *htmlRenderer) writeAlt(w util.BufWriter, source []byte, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			if c.IsRaw() {
				r.writer.RawWrite(w, c.Segment.Value(source))
			} else {
				r.writer.Write(w, c.Segment.Value(source))
			}
			if c.SoftLineBreak() || c.HardLineBreak() {
				_ = w.WriteByte(' ')
			}
		case *ast.String:
			r.writer.RawWrite(w, c.Value)
		case *ast.AutoLink:
			r.writer.RawWrite(w, c.Label(source))
		default:
			r.writeAlt(w, source, c)
		}
	}
}

func (r *htmlRenderer) renderNothing(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
	return ast.WalkContinue, nil
}

// renderPlainText writes text as typed: backslashes and character references
// are not Markdown syntax in a profile field.
func (r *htmlRenderer) renderPlainText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		r.writer.RawWrite(w, node.(*ast.Text).Segment.Value(source))
	}
	return ast.WalkContinue, nil
}

func safeLink(url []byte) bool  { return allowedScheme(url, linkSchemes) }
func safeImage(url []byte) bool { return allowedScheme(url, imageSchemes) }

// allowedScheme reports whether url is non-empty and either relative (no ':'
// before the first '/', '?' or '#', as RFC 3986 §4.2 requires of a relative
// reference) or has one of the schemes, compared case-insensitively. It is
// checked after goldmark's URL escaping has resolved character references
// and percent-encoded control characters, so "javascript&colon;" and
// "java\tscript:" both fail.
func allowedScheme(url []byte, schemes []string) bool {
	if len(url) == 0 {
		return false
	}
	for i, c := range url {
		switch c {
		case '/', '?', '#':
			return true
		case ':':
			scheme := util.BytesToReadOnlyString(url[:i])
			for _, s := range schemes {
				if strings.EqualFold(scheme, s) {
					return true
				}
			}
			return false
		}
	}
	return true
}

func hasSchemePrefix(url []byte, prefix string) bool {
	return len(url) >= len(prefix) && strings.EqualFold(util.BytesToReadOnlyString(url[:len(prefix)]), prefix)
}
