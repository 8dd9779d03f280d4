//! Keeping every message within Telegram's 4096 visible characters.
//!
//! What a learner would expect: the whole text. So a text message that is too long is
//! **split** into several messages, at a paragraph boundary where one fits, else at a line
//! boundary, never inside an HTML tag; only a single line longer than a message is cut by
//! characters (its markup dropped, its text kept). A message that cannot become several (one
//! with buttons, whose presses refer to it, or an edit of a sent message) is **cut** with a
//! visible `…` and a note saying that it was shortened. Pack content never gets here: `nudge
//! check` refuses lessons and items that would not fit; bot texts that carry names, titles,
//! descriptions or report lines can.

use super::plain::to_plain;
use crate::text::{escape_html, telegram_len};

/// The visible length of `html`, as Telegram counts it.
fn visible(html: &str) -> usize {
    telegram_len(&to_plain(html))
}

/// `html` in parts of at most `limit` visible characters each (one part if it fits).
pub(crate) fn split_html(html: &str, limit: usize) -> Vec<String> {
    if visible(html) <= limit {
        return vec![html.to_owned()];
    }
    let mut units: Vec<(&str, String)> = Vec::new();
    for (idx, paragraph) in outside_tags(html, "\n\n").into_iter().enumerate() {
        let sep = if idx == 0 { "" } else { "\n\n" };
        if visible(paragraph) <= limit {
            units.push((sep, paragraph.to_owned()));
            continue;
        }
        for (line_idx, line) in outside_tags(paragraph, "\n").into_iter().enumerate() {
            let sep = if line_idx == 0 { sep } else { "\n" };
            if visible(line) <= limit {
                units.push((sep, line.to_owned()));
                continue;
            }
            for (chunk_idx, chunk) in chunks(&to_plain(line), limit).into_iter().enumerate() {
                units.push((if chunk_idx == 0 { sep } else { "" }, escape_html(&chunk)));
            }
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for (sep, unit) in units {
        let joined = format!("{current}{sep}{unit}");
        if current.is_empty() || visible(&joined) <= limit {
            current = if current.is_empty() { unit } else { joined };
        } else {
            parts.push(std::mem::replace(&mut current, unit));
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// `html` cut to fit one message of at most `limit` visible characters: `…`, then `note`.
pub(crate) fn cut_html(html: &str, limit: usize, note: &str) -> String {
    let room = limit.saturating_sub(visible(note) + 3);
    let mut parts = split_html(html, room).into_iter();
    let first = parts.next().unwrap_or_default();
    match parts.next() {
        None => first,
        Some(_) => format!("{first} …\n\n{note}"),
    }
}

/// The pieces of `html` between occurrences of `sep` that are not inside a tag (`<b>…</b>`
/// stays whole, so every piece is valid Telegram HTML).
fn outside_tags<'a>(html: &'a str, sep: &str) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let (mut depth, mut start, mut idx) = (0usize, 0usize, 0usize);
    let bytes = html.as_bytes();
    while idx < html.len() {
        if bytes[idx] == b'<' {
            let closing = bytes.get(idx + 1) == Some(&b'/');
            depth = if closing { depth.saturating_sub(1) } else { depth + 1 };
            idx = html[idx..].find('>').map_or(html.len(), |end| idx + end + 1);
            continue;
        }
        if depth == 0 && bytes[idx..].starts_with(sep.as_bytes()) {
            pieces.push(&html[start..idx]);
            idx += sep.len();
            start = idx;
            continue;
        }
        idx += 1;
    }
    pieces.push(&html[start..]);
    pieces
}

/// `text` in chunks of at most `limit` UTF-16 units, at character boundaries.
fn chunks(text: &str, limit: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut len = 0;
    for ch in text.chars() {
        if len + ch.len_utf16() > limit {
            out.push(String::new());
            len = 0;
        }
        len += ch.len_utf16();
        if let Some(chunk) = out.last_mut() {
            chunk.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::MAX_MESSAGE_CHARS;

    #[test]
    fn a_short_text_stays_whole() {
        assert_eq!(split_html("Hi <b>Ann</b>", 20), ["Hi <b>Ann</b>"]);
    }

    #[test]
    fn a_long_text_splits_at_paragraphs_then_lines_never_inside_tags() {
        let html = "<b>one\n\ntwo</b>\n\nthree three\n\nfour\nfive";
        assert_eq!(split_html(html, 12), ["<b>one\n\ntwo</b>", "three three", "four\nfive"]);
        assert_eq!(split_html("aaaa\nbbbb\ncccc", 9), ["aaaa\nbbbb", "cccc"]);
    }

    #[test]
    fn a_line_longer_than_a_message_is_cut_by_characters_keeping_its_text() {
        assert_eq!(split_html("<i>abcdefg</i> &amp;", 4), ["abcd", "efg ", "&amp;"]);
    }

    #[test]
    fn every_part_fits_whatever_the_text() {
        let html = format!("{}\n\n<b>{}</b>\n{}", "word ".repeat(1500), "😀".repeat(3000), "x".repeat(9000));
        let parts = split_html(&html, MAX_MESSAGE_CHARS);
        assert!(parts.len() >= 5);
        assert!(parts.iter().all(|part| visible(part) <= MAX_MESSAGE_CHARS && !part.is_empty()));
        let total: usize = parts.iter().map(|part| visible(part)).sum();
        assert!(total + 3 >= visible(&html), "no text is lost");
    }

    #[test]
    fn a_cut_says_so() {
        let cut = cut_html(&"line\n".repeat(2000), MAX_MESSAGE_CHARS, "(shortened)");
        assert!(visible(&cut) <= MAX_MESSAGE_CHARS);
        assert!(cut.ends_with(" …\n\n(shortened)"), "{cut}");
    }
}
