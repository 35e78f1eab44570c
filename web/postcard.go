package web

import (
	"html/template"
	"strconv"

	"kith/store"
)

// A post card is written here, in Go, once when the card is made, rather
// than by a template partial: html/template evaluates each {{…}} by
// reflection and runs each escaper as a reflected call, and a 200-post
// thread had about twenty thousand of them, most of the page's time.
// The markup is what the postcard partial made; values are escaped as
// html/template escapes them (escape.go). TestCardMatchesTemplate and
// FuzzCardMatchesTemplate hold the Go to the partial it replaced
// (testdata/postcard.tmpl), byte for byte, for cards of every shape and
// hostile values.

// finish writes the card's markup into v.HTML from its fields. Whoever
// makes a card calls it once the card is complete (its boost and
// moderation controls set); a card not finished shows nothing.
func (c *cardView) finish() { c.HTML = written(c.sizeHint(), c.write) }

// written returns what write writes, into one allocation when size is
// about its length.
func written(size int, write func(w *htmlWriter)) template.HTML {
	var w htmlWriter
	w.Grow(size)
	write(&w)
	return template.HTML(w.String())
}

// sizeHint is about how long the card's markup is, so that it is
// written into one allocation.
func (c *cardView) sizeHint() int {
	n := 1000 + 2*len(c.Author.Avatar) + len(c.Author.URL) + len(c.Author.Name) + len(c.Author.Handle) +
		2*len(c.InReplyTo) + 3*len(c.Thread) + len(c.Original) + 80*len(c.Tags) + 3*len(c.IRI) +
		len(c.Content) + len(c.Excerpt) + len(c.Summary) + len(c.Title) + 200*len(c.Media)
	if c.Boost != nil {
		n += 600
	}
	if c.Poll != nil {
		n += 600 + 150*len(c.Poll.Options)
	}
	if c.Moderate != nil {
		n += 1200 + 3*len(c.IRI)
	}
	if c.Quote != nil {
		n += c.Quote.sizeHint()
	}
	return n
}

// write writes the whole card: the boost line, the byline, the title,
// the content behind its warning, the poll, the media, the quoted post,
// the footer, the owner's buttons and the moderation controls.
func (c *cardView) write(w *htmlWriter) {
	w.WriteString("<article class=\"post card\"")
	if c.SID != "" {
		w.WriteString(" id=\"p-")
		w.text(c.SID)
		w.WriteString("\"")
	}
	if c.Lang != "" {
		w.WriteString(" lang=\"")
		w.text(c.Lang)
		w.WriteString("\"")
	}
	w.WriteString(">\n")
	if b := c.Boost; b != nil {
		w.WriteString("<p class=\"boosted small muted\"><svg class=\"icon\" viewBox=\"0 0 16 16\" width=\"14\" height=\"14\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"currentColor\" d=\"M4 3 1 6h2v5a2 2 0 0 0 2 2h5v-2H5V6h2L4 3Zm8 10 3-3h-2V5a2 2 0 0 0-2-2H6v2h5v5H9l3 3Z\"/></svg> <a href=\"")
		w.url(b.By.URL)
		w.WriteString("\"><bdi>")
		w.text(b.By.Name)
		w.WriteString("</bdi></a> boosted · ")
		w.time(&b.When)
		w.WriteString("</p>\n")
	}
	c.writeHead(w)
	w.WriteString("\n")
	if c.Title != "" {
		w.WriteString("<h2><a href=\"")
		w.url(c.Thread)
		w.WriteString("\">")
		w.text(c.Title)
		w.WriteString("</a></h2>")
	}
	w.WriteString("\n")
	c.writeWarned(w)
	w.WriteString("\n")
	if q := c.Quote; q != nil {
		w.WriteString("<blockquote class=\"quote\">\n<p class=\"small\"><a class=\"author\" href=\"")
		w.url(q.Author.URL)
		w.WriteString("\"><bdi>")
		w.text(q.Author.Name)
		w.WriteString("</bdi></a> <span class=\"muted\"><bdi>")
		w.text(q.Author.Handle)
		w.WriteString("</bdi></span></p>\n")
		q.writeWarned(w)
		w.WriteString("\n<p class=\"small\"><a href=\"")
		w.url(q.Thread)
		w.WriteString("\">")
		w.time(&q.Published)
		w.WriteString("</a></p>\n</blockquote>\n")
	}
	c.writeFoot(w)
	w.WriteString("\n")
	c.writeActionBar(w)
	w.WriteString("\n")
	if c.Moderate != nil {
		c.writeModerate(w)
	}
	w.WriteString("\n</article>\n")
}

// writeWarned writes the card's body, folded under its content warning
// when it has one.
func (c *cardView) writeWarned(w *htmlWriter) {
	if c.Summary == "" {
		c.writeBody(w)
		return
	}
	w.WriteString("<details class=\"cw\"><summary>")
	w.text(c.Summary)
	w.WriteString("</summary>")
	c.writeBody(w)
	w.WriteString("</details>\n")
}

// writeBody writes the content (or an article's excerpt with a link to
// the rest), the poll and the media, sensitive media folded.
func (c *cardView) writeBody(w *htmlWriter) {
	if c.Excerpt != "" {
		w.WriteString("<p class=\"excerpt\">")
		w.text(c.Excerpt)
		w.WriteString("</p>\n<p class=\"read-more\"><a href=\"")
		w.url(c.Thread)
		w.WriteString("\">Read more<span class=\"visually-hidden\"> of “")
		w.text(c.Title)
		w.WriteString("”</span></a></p>\n")
	} else {
		w.WriteString("<div class=\"content\">")
		w.WriteString(string(c.Content)) // sanitised or rendered when stored
		w.WriteString("</div>")
	}
	w.WriteString("\n")
	if c.Poll != nil {
		c.writePoll(w)
	}
	w.WriteString("\n")
	if len(c.Media) > 0 {
		if c.Sensitive && c.Summary == "" {
			w.WriteString("<details class=\"sensitive\"><summary>Sensitive media: show ")
			w.WriteString(strconv.Itoa(len(c.Media)))
			if len(c.Media) == 1 {
				w.WriteString(" attachment</summary>")
			} else {
				w.WriteString(" attachments</summary>")
			}
			writeMedia(w, c.Media)
			w.WriteString("</details>\n")
		} else {
			writeMedia(w, c.Media)
		}
	}
	w.WriteString("\n")
}

// writeMedia writes a card's gallery: images through kith with their
// alt text, anything else as a link.
func writeMedia(w *htmlWriter, media []mediaView) {
	w.WriteString("<div class=\"gallery\">")
	for i := range media {
		m := &media[i]
		if m.Kind == "image" {
			w.WriteString("<a href=\"")
			w.url(m.PreviewURL)
			w.WriteString("\"")
			if m.Description == "" {
				w.WriteString(" aria-label=\"Image without a description\"")
			}
			w.WriteString("><img src=\"")
			w.url(m.PreviewURL)
			w.WriteString("\" alt=\"")
			w.text(m.Description)
			w.WriteString("\"")
			if m.Width != 0 && m.Height != 0 {
				w.WriteString(" width=\"")
				w.WriteString(strconv.Itoa(m.Width))
				w.WriteString("\" height=\"")
				w.WriteString(strconv.Itoa(m.Height))
				w.WriteString("\"")
			}
			w.WriteString(" loading=\"lazy\"></a>\n")
			continue
		}
		w.WriteString("<a class=\"attachment\" href=\"")
		w.url(m.URL)
		w.WriteString("\" rel=\"nofollow noopener noreferrer\">")
		switch m.Kind {
		case "video":
			w.WriteString("Video")
		case "audio":
			w.WriteString("Audio")
		default:
			w.WriteString("Attachment")
		}
		if m.Description != "" {
			w.WriteString(": ")
			w.text(m.Description)
		}
		w.WriteString("</a>\n")
	}
	w.WriteString("</div>\n")
}

// writePoll writes the poll: a vote form while the owner may vote, the
// results otherwise, and a line of totals.
func (c *cardView) writePoll(w *htmlWriter) {
	p := c.Poll
	w.WriteString("<div class=\"poll\">\n")
	if p.CanVote {
		var csrf, back string
		if c.Actions != nil {
			csrf, back = c.Actions.CSRF, c.Actions.Back
		}
		w.WriteString("<form method=\"post\" action=\"/poll\">\n<input type=\"hidden\" name=\"csrf\" value=\"")
		w.text(csrf)
		w.WriteString("\">\n<input type=\"hidden\" name=\"sid\" value=\"")
		w.text(c.SID)
		w.WriteString("\">\n<input type=\"hidden\" name=\"back\" value=\"")
		w.text(back)
		w.WriteString("\">\n<fieldset><legend class=\"visually-hidden\">Vote</legend>\n")
		kind := "radio"
		if p.Multiple {
			kind = "checkbox"
		}
		for i := range p.Options {
			o := &p.Options[i]
			w.WriteString("<label class=\"check choice\"><input type=\"")
			w.WriteString(kind)
			w.WriteString("\" name=\"choice\" value=\"")
			w.WriteString(strconv.Itoa(o.N))
			w.WriteString("\"> <span>")
			w.text(o.Title)
			w.WriteString("</span></label>\n")
		}
		w.WriteString("</fieldset>\n<button class=\"secondary\" type=\"submit\">Vote</button>\n</form>\n")
	} else {
		w.WriteString("<ul class=\"poll-results\">\n")
		for i := range p.Options {
			o := &p.Options[i]
			pct := strconv.Itoa(o.Percent)
			w.WriteString("<li>")
			if !p.Hidden {
				w.WriteString("<span class=\"pct\">")
				w.WriteString(pct)
				w.WriteString("%</span> ")
			}
			w.text(o.Title)
			if o.OwnVote {
				w.WriteString(" <span class=\"badge\">your vote</span>")
			}
			w.WriteString("\n")
			if !p.Hidden {
				w.WriteString("<progress max=\"100\" value=\"")
				w.WriteString(pct)
				w.WriteString("\" aria-hidden=\"true\"></progress>")
			}
			w.WriteString("</li>\n")
		}
		w.WriteString("</ul>\n")
	}
	w.WriteString("<p class=\"small muted\">")
	w.WriteString(plural(p.Total, "vote", "votes"))
	if p.Voters >= 0 {
		w.WriteString(" · ")
		w.WriteString(plural(p.Voters, "person", "people"))
	}
	if p.Closed {
		w.WriteString(" · closed")
	} else if p.Ends != nil {
		w.WriteString(" · ends ")
		w.time(p.Ends)
	}
	if p.Voted {
		w.WriteString(" · you voted")
	}
	if p.Hidden {
		w.WriteString(" · results when it ends")
	}
	w.WriteString("</p>\n</div>\n")
}

// writeModerate writes the owner's controls for a reply under one of
// their posts: its state, and show, hide and remove.
func (c *cardView) writeModerate(w *htmlWriter) {
	m := c.Moderate
	w.WriteString("<div class=\"card-actions moderate\" role=\"group\" aria-label=\"This reply under your post\">\n")
	switch m.Approval {
	case store.Pending:
		w.WriteString("<span class=\"badge\">waiting for your approval</span>")
	case store.Hidden:
		w.WriteString("<span class=\"badge\">hidden from visitors</span>")
	}
	w.WriteString("\n")
	fields := func(action string) {
		w.WriteString("<form method=\"post\" action=\"/replies/")
		w.WriteString(action)
		w.WriteString("\"><input type=\"hidden\" name=\"csrf\" value=\"")
		w.text(m.CSRF)
		w.WriteString("\"><input type=\"hidden\" name=\"iri\" value=\"")
		w.text(c.IRI)
		w.WriteString("\"><input type=\"hidden\" name=\"back\" value=\"")
		w.text(m.Back)
		w.WriteString("\">")
	}
	if m.Approval != store.Shown {
		fields("approval")
		w.WriteString("<input type=\"hidden\" name=\"approval\" value=\"shown\"><button class=\"link\" type=\"submit\">Show under the post</button></form>")
	}
	w.WriteString("\n")
	if m.Approval != store.Hidden {
		fields("approval")
		w.WriteString("<input type=\"hidden\" name=\"approval\" value=\"hidden\"><button class=\"link\" type=\"submit\">Hide</button></form>")
	}
	w.WriteString("\n")
	fields("remove")
	w.WriteString("<button class=\"link danger\" type=\"submit\">Remove</button></form>\n</div>\n")
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
