//! Telegram HTML to the plain text Telegram shows: for lengths, the terminal and tests.

/// Strips tags and decodes the entities Telegram knows.
pub(crate) fn to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(idx) = rest.find(['<', '&']) {
        out.push_str(&rest[..idx]);
        rest = &rest[idx..];
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => {
                    out.push_str(rest);
                    rest = "";
                }
            }
        } else {
            let (decoded, used) = decode_entity(rest);
            out.push_str(&decoded);
            rest = &rest[used..];
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the entity at the start of `text`; returns the text and the bytes it used.
fn decode_entity(text: &str) -> (String, usize) {
    let Some(end) = text.find(';').filter(|&end| end <= 10) else {
        return ("&".to_owned(), 1);
    };
    let name = &text[1..end];
    let decoded = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(ch) => (ch.to_string(), end + 1),
        None => ("&".to_owned(), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_decodes_entities() {
        assert_eq!(to_plain("<b>Q&amp;A</b> &lt;3 &#38; &#x41; &bogus"), "Q&A <3 & A &bogus");
    }
}
