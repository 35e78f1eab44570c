package sanitize

// flags describe how an element is treated. The table is the allowlist of
// protocol.md §7 plus the few facts of the HTML tree builder the sanitiser
// imitates (which start tags close a paragraph, which elements are
// "special"), so that hostile or sloppy markup is read roughly the way a
// browser reads it.
type flags uint16

const (
	// kept elements survive (with filtered attributes).
	kept flags = 1 << iota
	// block elements start and end a line of their own. Kept ones do that
	// themselves; unwrapped ones leave a line break behind (see boundary).
	block
	// closesP marks start tags before which a browser closes an open <p>.
	closesP
	// special is the HTML parser's "special" category: an end tag of an
	// ordinary element never closes past one of these.
	special
	// formatting elements are closed by their end tag wherever they are
	// (the adoption agency, simplified).
	formatting
	// void elements have no content and no end tag.
	void
	// dropped elements vanish with their whole content: code, styling,
	// forms' hidden parts and embedded documents, and the foreign
	// namespaces (everything inside <svg> and <math>).
	dropped
	// cell marks table cells, whose words a space keeps apart.
	cell
)

// elementFlags returns the flags of the element with the (lower-case) tag
// name. Unknown and custom elements get none: they are unwrapped inline.
func elementFlags(name string) flags {
	switch name {
	// The allowlist.
	case "p":
		return kept | block | closesP | special
	case "br":
		return kept | void | special
	case "span", "del", "ruby", "rt", "rp":
		return kept
	case "a", "b", "strong", "i", "em", "u", "s", "code":
		return kept | formatting
	case "pre", "blockquote", "ul", "ol", "li":
		return kept | block | closesP | special
	case "h1", "h2", "h3", "h4", "h5", "h6":
		// Kept, but rewritten as <p><strong>.
		return kept | block | closesP | special

	// Removed with their content. Mastodon (through the Sanitize gem)
	// also drops noembed, noframes, plaintext and xmp.
	case "script", "style", "template", "iframe", "object", "noscript", "textarea",
		"select", "title", "head", "svg", "math", "noembed", "noframes":
		return dropped | special
	case "embed":
		return dropped | special | void
	case "plaintext", "xmp":
		return dropped | special | block | closesP

	// Unwrapped blocks.
	case "address", "article", "aside", "center", "details", "dialog", "dir", "div", "dl",
		"fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main", "menu",
		"nav", "search", "section", "summary", "listing", "form", "dd", "dt", "table":
		return block | closesP | special
	case "hr":
		return block | closesP | special | void
	case "caption", "tbody", "tfoot", "thead", "tr", "legend", "frameset":
		return block | special
	case "td", "th":
		return cell | special
	case "applet", "button", "marquee", "html", "body", "colgroup":
		return special
	case "big", "font", "nobr", "small", "strike", "tt":
		return formatting

	// Void elements that go without a trace.
	case "img", "image", "input", "keygen", "wbr", "area", "col", "param", "source",
		"track", "link", "meta", "base", "basefont", "bgsound", "frame":
		return void | special
	}
	return 0
}

// isHeading reports h1 to h6, which become bold paragraphs.
func isHeading(name string) bool {
	return len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6'
}

// allowedScheme reports the link schemes Mastodon keeps; s is lower case.
func allowedScheme(s string) bool {
	switch s {
	case "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini":
		return true
	}
	return false
}

// allowedClass reports class tokens that carry meaning: microformats
// (h-card, u-url…), mentions and hashtags, Mastodon's shortening of long
// links (invisible, ellipsis) and the fallback text of quote posts.
func allowedClass(c string) bool {
	switch c {
	case "mention", "hashtag", "ellipsis", "invisible", "quote-inline":
		return true
	}
	for _, prefix := range [...]string{"h-", "p-", "u-", "dt-", "e-"} {
		if len(c) > len(prefix) && c[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
