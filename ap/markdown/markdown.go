// Package markdown turns the owner's Markdown (posts, bio, profile fields) into
// HTML, linking @user@host mentions and #hashtags the way Mastodon marks them up,
// so that remote servers render them as mentions and tags.
//
// Raw HTML in the source is shown as text, never passed through: the output is
// stored and federated, and receivers should see what the owner typed.
package markdown

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Renderer renders Markdown; build one with New and reuse it (safe for
// concurrent use). Building goldmark is about half the cost of a render
// (perf.md 1c), hence one long-lived value.
type Renderer struct {
	post  goldmark.Markdown // CommonMark + GFM for posts and bios
	field goldmark.Markdown // one line of plain text for profile field values
}

// New builds a Renderer.
func New() *Renderer {
	return &Renderer{post: newPostMarkdown(), field: newFieldMarkdown()}
}

// newPostMarkdown is goldmark's default configuration without the raw HTML
// parsers (so "<b>" stays text and is escaped by the text renderer), plus GFM,
// hard wraps, mentions and hashtags.
func newPostMarkdown() goldmark.Markdown {
	p := parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(parser.NewSetextHeadingParser(), 100),
			util.Prioritized(parser.NewThematicBreakParser(), 200),
			util.Prioritized(parser.NewListParser(), 300),
			util.Prioritized(parser.NewListItemParser(), 400),
			util.Prioritized(parser.NewCodeBlockParser(), 500),
			util.Prioritized(parser.NewATXHeadingParser(), 600),
			util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
			util.Prioritized(parser.NewBlockquoteParser(), 800),
			util.Prioritized(parser.NewParagraphParser(), 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewLinkParser(), 200),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
			util.Prioritized(mentionParser{}, 600),
			util.Prioritized(hashtagParser{}, 600),
		),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
		parser.WithASTTransformers(util.Prioritized(tidyTree{}, 100)),
	)
	return goldmark.New(
		goldmark.WithParser(p),
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithRendererOptions(
			html.WithHardWraps(),
			renderer.WithNodeRenderers(util.Prioritized(newHTMLRenderer(postRel, false), 100)),
		),
	)
}

// newFieldMarkdown parses a profile field value: one paragraph of plain text
// in which only bare URLs, mentions and hashtags are recognised, because
// Mastodon and others show field values as text, not Markdown.
func newFieldMarkdown() goldmark.Markdown {
	p := parser.NewParser(
		parser.WithBlockParsers(util.Prioritized(parser.NewParagraphParser(), 1000)),
		parser.WithInlineParsers(
			util.Prioritized(extension.NewLinkifyParser(), 999),
			util.Prioritized(mentionParser{}, 600),
			util.Prioritized(hashtagParser{}, 600),
		),
	)
	return goldmark.New(
		goldmark.WithParser(p),
		goldmark.WithRendererOptions(
			renderer.WithNodeRenderers(util.Prioritized(newHTMLRenderer(fieldRel, true), 100)),
		),
	)
}

// Mention is an @user@host reference found in the source.
type Mention struct{ Username, Host string }

// String returns the mention as written in posts: "@user@host".
func (m Mention) String() string { return "@" + m.Username + "@" + m.Host }

// Links tells Render how to link mentions and hashtags. Either function may be
// nil, and then the mentions or hashtags stay plain text. Each is called once
// per occurrence; an href that is not an http(s) or relative URL is ignored.
type Links struct {
	// Mention returns the profile URL of m; ok false leaves the mention as
	// plain text (it could not be resolved).
	Mention func(m Mention) (href string, ok bool)
	// Tag returns the URL of the tag page, given the tag as written (case
	// kept, possibly non-ASCII: escape it for the path); "" leaves the
	// hashtag as plain text.
	Tag func(tag string) string
	// Base, when set, makes relative link and image destinations absolute:
	// the HTML goes to other servers and into feeds, where a relative URL
	// has nothing to be relative to (Mastodon drops such links).
	Base *url.URL
}

// Scan returns the distinct mentions (in order of first appearance, compared
// case-insensitively) and hashtags (lower-cased, without '#', distinct, in
// order) in src. It reads the same syntax tree Render renders, so code,
// link destinations, autolinks, raw URLs and link texts are ignored exactly
// as Render ignores them.
func (r *Renderer) Scan(src string) (mentions []Mention, tags []string) {
	source := []byte(clean(src))
	doc := r.post.Parser().Parse(text.NewReader(source))
	seen := make(map[string]bool)
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *mentionNode:
			key := "@" + strings.ToLower(n.mention.Username) + "@" + strings.ToLower(n.mention.Host)
			if !seen[key] {
				seen[key] = true
				mentions = append(mentions, n.mention)
			}
		case *hashtagNode:
			tag := strings.ToLower(n.tag)
			if !seen["#"+tag] {
				seen["#"+tag] = true
				tags = append(tags, tag)
			}
		}
		return ast.WalkContinue, nil
	})
	return mentions, tags
}

// Render renders a post or bio to HTML:
//   - CommonMark + GFM (tables, strikethrough, task lists, bare URLs and www.
//     links); a single newline inside a paragraph is a <br>, as in a social post.
//   - Raw HTML, inline or block, is escaped and shown as text.
//   - Links whose destination is not http(s), mailto, another scheme Mastodon
//     keeps, or a relative URL render as their text alone; images need http(s)
//     or a relative URL and otherwise render as their alt text.
//   - Every link gets rel="nofollow noopener noreferrer" target="_blank".
//   - Headings go one level down (# is <h2>): on a page the post's title,
//     or the page's own heading, is the level above.
//   - Mentions and hashtags are linked through links with Mastodon's markup,
//     except inside code, URLs and link or image texts: a mention inside
//     [text](url) stays text, because the author chose where that text points
//     and a link inside a link is invalid HTML.
func (r *Renderer) Render(src string, links Links) (string, error) {
	source := []byte(clean(src))
	doc := r.post.Parser().Parse(text.NewReader(source))
	resolve(doc, links)
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+1, 6)
		}
		return ast.WalkContinue, nil
	})
	var buf htmlBuffer
	buf.Grow(len(source) + len(source)/2 + 64)
	if err := r.post.Renderer().Render(&buf, source, doc); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// RenderInline renders one line of text for a profile field value: the text
// escaped, bare URLs as links with rel="me nofollow noopener noreferrer"
// target="_blank" (rel="me" is what profile verification looks for), and
// mentions and hashtags as in Render. Markdown syntax is not interpreted and
// no block markup is produced; line breaks become spaces.
func (r *Renderer) RenderInline(src string, links Links) string {
	src = strings.Map(func(c rune) rune {
		if c == '\n' || c == '\r' {
			return ' '
		}
		return c
	}, clean(src))
	source := []byte(src)
	doc := r.field.Parser().Parse(text.NewReader(source))
	resolve(doc, links)
	var buf htmlBuffer
	buf.Grow(len(source) + 64)
	// Rendering into memory cannot fail.
	_ = r.field.Renderer().Render(&buf, source, doc)
	return buf.String()
}

// clean makes src valid UTF-8 without NUL bytes, which goldmark passes through
// unchanged in code and plain text.
func clean(src string) string {
	src = strings.ToValidUTF8(src, "\uFFFD")
	if strings.IndexByte(src, 0) >= 0 {
		src = strings.ReplaceAll(src, "\x00", "\uFFFD")
	}
	return src
}

// resolve asks links for the href of every mention and hashtag in doc and
// stores it on the node, so that the shared goldmark renderer needs no
// per-call state.
func resolve(doc ast.Node, links Links) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *mentionNode:
			if links.Mention != nil {
				if href, ok := links.Mention(n.mention); ok && safeLink([]byte(href)) {
					n.href = href
				}
			}
		case *hashtagNode:
			if links.Tag != nil {
				if href := links.Tag(n.tag); href != "" && safeLink([]byte(href)) {
					n.href = href
				}
			}
		case *ast.Link:
			n.Destination = absolute(links.Base, n.Destination)
		case *ast.Image:
			n.Destination = absolute(links.Base, n.Destination)
		}
		return ast.WalkContinue, nil
	})
}

// absolute resolves a relative destination against base; absolute ones,
// and all of them when base is nil, are returned as they are.
func absolute(base *url.URL, dest []byte) []byte {
	if base == nil || len(dest) == 0 {
		return dest
	}
	u, err := url.Parse(string(dest))
	if err != nil || u.Scheme != "" {
		return dest
	}
	return []byte(base.ResolveReference(u).String())
}

// htmlBuffer lets goldmark write straight into memory; without Flush and
// Buffered it would wrap the buffer in a 4 KB bufio.Writer per call.
type htmlBuffer struct{ bytes.Buffer }

func (b *htmlBuffer) Buffered() int { return b.Len() }
func (b *htmlBuffer) Flush() error  { return nil }
