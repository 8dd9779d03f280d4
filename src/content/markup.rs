//! The markdown subset authors write, rendered to Telegram HTML and to the plain text Telegram
//! shows (whose length Telegram limits).
//!
//! Bold, italic, strike-through, inline code, links, lists, quotes and code blocks are kept;
//! raw HTML is shown as the literal text the author typed, so `<` and `&` never break a message.
//! A line break in the file is a line break in the chat: authors see what learners get.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::text::escape_html;

/// Text ready for Telegram: `html` for the HTML parse mode, `plain` as the learner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rich {
    /// Telegram HTML (only tags Telegram accepts, everything else escaped).
    pub html: String,
    /// The visible text, as Telegram counts and shows it.
    pub plain: String,
}

impl Rich {
    /// Renders author markdown.
    pub(crate) fn from_markdown(markdown: &str) -> Self {
        let mut renderer = Renderer::default();
        let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH);
        for event in parser {
            renderer.event(event);
        }
        renderer.finish()
    }

    /// Plain text taken literally (escaped for HTML).
    pub(crate) fn plain(text: &str) -> Self {
        Self { html: escape_html(text), plain: text.to_owned() }
    }

    /// Text that is already Telegram HTML together with its visible text.
    pub(crate) fn from_parts(html: String, plain: String) -> Self {
        Self { html, plain }
    }

    /// True when there is no visible text.
    pub(crate) fn is_empty(&self) -> bool {
        self.plain.trim().is_empty()
    }

    /// Appends `other`, separated by `separator` (plain text, e.g. a blank line).
    pub(crate) fn push(&mut self, separator: &str, other: &Rich) {
        if !self.plain.is_empty() && !other.plain.is_empty() {
            self.html.push_str(&escape_html(separator));
            self.plain.push_str(separator);
        }
        self.html.push_str(&other.html);
        self.plain.push_str(&other.plain);
    }
}

/// Walks pulldown-cmark events, writing HTML and plain text side by side.
#[derive(Default)]
struct Renderer {
    html: String,
    plain: String,
    /// Numbers of the open ordered lists (`None` for bullet lists), innermost last.
    lists: Vec<Option<u64>>,
    /// Inside a list item, where blocks are separated by one newline, not two.
    in_item: usize,
    /// Open links, innermost last: true when the link was kept (its `<a>` is open).
    links: Vec<bool>,
}

impl Renderer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.wrap("<code>", &code, "</code>"),
            Event::Html(raw) | Event::InlineHtml(raw) => self.text(&raw),
            Event::SoftBreak | Event::HardBreak => self.text("\n"),
            Event::Rule => {
                self.block_break();
                self.text("———");
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_break(),
            Tag::Heading { .. } => {
                self.block_break();
                self.html.push_str("<b>");
            }
            Tag::BlockQuote(_) => {
                self.block_break();
                self.html.push_str("<blockquote>");
            }
            Tag::CodeBlock(_) => {
                self.block_break();
                self.html.push_str("<pre>");
            }
            Tag::List(start) => {
                if self.in_item == 0 {
                    self.block_break();
                }
                self.lists.push(start);
            }
            Tag::Item => self.item_start(),
            Tag::Emphasis => self.html.push_str("<i>"),
            Tag::Strong => self.html.push_str("<b>"),
            Tag::Strikethrough => self.html.push_str("<s>"),
            Tag::Link { dest_url, .. } => {
                let safe = is_safe_url(&dest_url);
                if safe {
                    self.html.push_str(&format!("<a href=\"{}\">", escape_html(&dest_url)));
                }
                self.links.push(safe);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => self.html.push_str("</b>"),
            TagEnd::BlockQuote(_) => {
                self.trim_trailing_newlines();
                self.html.push_str("</blockquote>");
            }
            TagEnd::CodeBlock => {
                self.trim_trailing_newlines();
                self.html.push_str("</pre>");
            }
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::Item => self.in_item -= 1,
            TagEnd::Emphasis => self.html.push_str("</i>"),
            TagEnd::Strong => self.html.push_str("</b>"),
            TagEnd::Strikethrough => self.html.push_str("</s>"),
            TagEnd::Link if self.links.pop() == Some(true) => self.html.push_str("</a>"),
            _ => {}
        }
    }

    fn item_start(&mut self) {
        if !self.plain.is_empty() && !self.plain.ends_with('\n') {
            self.text("\n");
        }
        let depth = self.lists.len().saturating_sub(1);
        let indent = "   ".repeat(depth);
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                let marker = format!("{number}. ");
                *number += 1;
                marker
            }
            _ => "• ".to_owned(),
        };
        self.text(&format!("{indent}{marker}"));
        self.in_item += 1;
    }

    fn block_break(&mut self) {
        if self.in_item > 0 {
            return;
        }
        if !self.plain.is_empty() {
            self.trim_trailing_newlines();
            self.text("\n\n");
        }
    }

    fn trim_trailing_newlines(&mut self) {
        while self.plain.ends_with('\n') && self.html.ends_with('\n') {
            self.plain.pop();
            self.html.pop();
        }
    }

    fn text(&mut self, text: &str) {
        self.html.push_str(&escape_html(text));
        self.plain.push_str(text);
    }

    fn wrap(&mut self, open: &str, text: &str, close: &str) {
        self.html.push_str(open);
        self.text(text);
        self.html.push_str(close);
    }

    fn finish(mut self) -> Rich {
        self.trim_trailing_newlines();
        let leading = self.plain.len() - self.plain.trim_start().len();
        if leading > 0 && self.html.starts_with(&self.plain[..leading]) {
            self.html.drain(..leading);
            self.plain.drain(..leading);
        }
        Rich { html: self.html, plain: self.plain }
    }
}

/// Links Telegram accepts and learners can open.
pub(crate) fn is_safe_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tg://"].iter().any(|scheme| lower.starts_with(scheme))
        && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(markdown: &str, html: &str, plain: &str) {
        let rich = Rich::from_markdown(markdown);
        assert_eq!(rich.html, html, "html of {markdown:?}");
        assert_eq!(rich.plain, plain, "plain of {markdown:?}");
    }

    #[test]
    fn renders_inline_formatting() {
        check("**bold** and _it_", "<b>bold</b> and <i>it</i>", "bold and it");
        check("`a<b`", "<code>a&lt;b</code>", "a<b");
        check("~~gone~~", "<s>gone</s>", "gone");
    }

    #[test]
    fn escapes_html_specials_and_raw_html() {
        check("Q&A in < 2 minutes > 1", "Q&amp;A in &lt; 2 minutes &gt; 1", "Q&A in < 2 minutes > 1");
        check("a <script>x</script>", "a &lt;script&gt;x&lt;/script&gt;", "a <script>x</script>");
    }

    #[test]
    fn keeps_safe_links_and_drops_others() {
        check("[site](https://example.org/?a=1&b=2)", "<a href=\"https://example.org/?a=1&amp;b=2\">site</a>", "site");
        check("[x](javascript:alert)", "x", "x");
    }

    #[test]
    fn separates_paragraphs_and_keeps_line_breaks() {
        check("one\ntwo\n\nthree", "one\ntwo\n\nthree", "one\ntwo\n\nthree");
    }

    #[test]
    fn renders_lists_with_markers() {
        check("Intro\n\n- a\n- b\n\nEnd", "Intro\n\n• a\n• b\n\nEnd", "Intro\n\n• a\n• b\n\nEnd");
        check("1. a\n2. b", "1. a\n2. b", "1. a\n2. b");
    }

    #[test]
    fn headings_in_the_body_become_bold_lines() {
        check("### Tip\nText", "<b>Tip</b>\n\nText", "Tip\n\nText");
    }
}
