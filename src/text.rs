//! Small text helpers shared by the parsers and renderers: positions, lengths, HTML escaping,
//! and the shape of ids (cohorts, packs, lessons, items).

/// True for lowercase ids made of letters, digits and dashes.
pub(crate) fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = text.floor_char_boundary(offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |idx| idx + 1);
    // A position at the end of a CRLF line is after its last character, not after the `\r`.
    let col = before[line_start..].trim_end_matches('\r').chars().count() + 1;
    (line, col)
}

/// Length as Telegram counts it: UTF-16 code units.
pub(crate) fn telegram_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Escapes `&`, `<`, `>` and `"` for Telegram's HTML parse mode.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Shortens `text` to at most `max` characters, ending in `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "ab\nçé x";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, text.find('x').unwrap()), (2, 4));
    }

    #[test]
    fn line_col_survives_offsets_past_the_end_or_inside_a_character() {
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn telegram_length_counts_utf16_units() {
        assert_eq!(telegram_len("a😀"), 3);
    }

    #[test]
    fn escaping_covers_the_html_specials() {
        assert_eq!(escape_html("Q&A <b> \"x\""), "Q&amp;A &lt;b&gt; &quot;x&quot;");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abc", 4), "abc");
    }
}
