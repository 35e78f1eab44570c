package web

import (
	"html/template"
	"strconv"

	"kith/store"
)

// The parts of the postcard partial that every card has (its byline, its
// footer, the owner's buttons) are written here, from the card's fields,
// once when the card is made. As template actions they were about forty
// reflected evaluations and thirty reflected escaper calls a card: two
// thirds of a 200-post thread page's time. (They are fields rather than
// methods because text/template finds a method by reflection on every
// call, which costs more than writing the part.) The markup is the
// template's; values are escaped as html/template escapes them
// (escape.go), which TestCardPartsMatchTemplate checks against the
// template that used to make them.

// writeParts sets the card's Head, Foot and ActionBar, written one after
// the other into one string: one allocation a card rather than three.
func (c *cardView) writeParts() {
	var w htmlWriter
	w.Grow(1000 + 2*len(c.Author.Avatar) + len(c.Author.URL) + len(c.Author.Name) + len(c.Author.Handle) +
		2*len(c.InReplyTo) + 2*len(c.Thread) + len(c.Original) + 80*len(c.Tags) + 3*len(c.IRI))
	c.writeHead(&w)
	head := w.Len()
	c.writeFoot(&w)
	foot := w.Len()
	c.writeActionBar(&w)
	s := w.String()
	c.Head, c.Foot, c.ActionBar = template.HTML(s[:head]), template.HTML(s[head:foot]), template.HTML(s[foot:])
}

// writeHead writes the card's header: the author's avatar, name and handle, the
// visibility when the post is not public, and a link to the post it
// answers.
func (c *cardView) writeHead(w *htmlWriter) {
	w.WriteString("<header>\n<img class=\"avatar small\" src=\"")
	w.url(c.Author.Avatar)
	w.WriteString("\" alt=\"\" width=\"40\" height=\"40\" loading=\"lazy\">\n<span class=\"who\"><a class=\"author\" href=\"")
	w.url(c.Author.URL)
	w.WriteString("\"><bdi>")
	w.text(c.Author.Name)
	w.WriteString("</bdi></a>\n<span class=\"muted small handle\"><bdi>")
	w.text(c.Author.Handle)
	w.WriteString("</bdi></span></span>")
	if c.Visibility != store.Public {
		w.WriteString("\n<span class=\"badge\">")
		w.text(c.VisibilityLabel())
		w.WriteString("</span>")
	}
	w.WriteString("\n</header>")
	if c.InReplyTo != "" {
		w.WriteString("\n<p class=\"small muted in-reply\"><a href=\"")
		w.url(c.InReplyTo)
		w.WriteString("\">In reply to a post</a></p>")
	}
}

// writeFoot writes the card's footer: when it was posted, linking its page on
// kith, when it was edited, a link to the original, and its hashtags.
func (c *cardView) writeFoot(w *htmlWriter) {
	w.WriteString("<footer>\n<a href=\"")
	w.url(c.Thread)
	w.WriteString("\">")
	w.time(&c.Published)
	w.WriteString("</a>")
	if c.Edited != nil {
		w.WriteString("\n<span>edited ")
		w.time(c.Edited)
		w.WriteString("</span>")
	}
	if c.Original != "" {
		w.WriteString("\n<a href=\"")
		w.url(c.Original)
		w.WriteString("\" rel=\"nofollow noopener noreferrer\">original</a>")
	}
	if len(c.Tags) > 0 {
		w.WriteString("\n")
		for _, t := range c.Tags {
			w.WriteString("<a class=\"hashtag\" href=\"")
			w.url(t.URL)
			w.WriteString("\" rel=\"tag\">#")
			w.text(t.Name)
			w.WriteString("</a>")
		}
	}
	w.WriteString("\n</footer>")
}

// writeActionBar writes the owner's buttons under the card: reply, and like, boost
// and bookmark or their undo. Each button submits the page's "acts" form
// (layout.html) to its action with the card's sid: one form per page
// rather than three per card, and it works without JavaScript.
func (c *cardView) writeActionBar(w *htmlWriter) {
	if c.Actions == nil {
		return
	}
	w.WriteString("<div class=\"card-actions\" role=\"group\" aria-label=\"Act on this post\">\n<a class=\"button link\" href=\"/compose?in_reply_to=")
	w.queryValue(c.IRI)
	w.WriteString("\">Reply")
	w.count(c.Counts.Replies)
	w.WriteString("</a>")
	for _, b := range c.Actions.Buttons {
		action, label, pressed, class := b.Do, b.Label, "false", "link"
		if b.On {
			action, label, pressed, class = b.Undo, b.Done, "true", "link on"
		}
		w.WriteString("\n<button class=\"")
		w.WriteString(class)
		w.WriteString("\" type=\"submit\" form=\"acts\" formaction=\"/")
		w.urlPart(action, true)
		w.WriteString("\" name=\"sid\" value=\"")
		w.text(c.SID)
		w.WriteString("\" aria-pressed=\"")
		w.WriteString(pressed)
		w.WriteString("\">")
		w.text(label)
		w.count(b.Count)
		w.WriteString("</button>")
	}
	w.WriteString("\n</div>")
}

// time writes a moment as cards show it: relative, with the exact time in
// the element's attributes.
func (w *htmlWriter) time(t *timeView) {
	w.WriteString("<time datetime=\"")
	w.text(t.ISO)
	w.WriteString("\" title=\"")
	w.text(t.Title)
	w.WriteString("\">")
	w.text(t.Ago)
	w.WriteString("</time>")
}

// count writes a button's count after its label, when there is one.
func (w *htmlWriter) count(n int) {
	if n != 0 {
		w.WriteString(" <span class=\"count\">")
		w.WriteString(strconv.Itoa(n))
		w.WriteString("</span>")
	}
}
