//! Strict parser for Telegram's HTML `parse_mode`: plain text, entities (UTF-16 offsets) and errors.

use serde_json::{Value, json};

/// Length of `s` in UTF-16 code units, the unit Telegram counts limits and offsets in.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Text with entities, as Telegram renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The text after entity parsing.
    pub text: String,
    /// `MessageEntity` objects, sorted by offset (then longest first).
    pub entities: Vec<Value>,
}

/// Renders `text` under `parse_mode` (`None` = plain). Errors are Telegram descriptions
/// without the "Bad Request: " prefix.
pub fn render(text: &str, parse_mode: Option<&str>) -> Result<Rendered, String> {
    match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(Rendered { text: text.to_owned(), entities: Vec::new() }),
        Some("html") => parse_html(text),
        // Markdown is not parsed: nudge uses HTML. The text is kept as is.
        Some("markdown") | Some("markdownv2") => Ok(Rendered { text: text.to_owned(), entities: Vec::new() }),
        Some(_) => Err("unsupported parse_mode".to_owned()),
    }
}

struct Open {
    tag: String,
    start: usize,
    entity: Option<Value>,
}

/// Parses Telegram HTML strictly: only Telegram's tags, properly nested and closed, and every
/// `<`, `>` and `&` that is not markup must be escaped.
pub fn parse_html(src: &str) -> Result<Rendered, String> {
    let err = |msg: String| Err(format!("can't parse entities: {msg}"));
    let mut text = String::with_capacity(src.len());
    let mut pos16 = 0;
    let mut stack: Vec<Open> = Vec::new();
    let mut entities = Vec::new();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        match c {
            '&' => {
                let Some((decoded, used)) = decode_entity(&src[i..]) else {
                    return err(format!("Unsupported HTML entity at byte offset {i}"));
                };
                text.push(decoded);
                pos16 += decoded.len_utf16();
                i += used;
            }
            '>' => return err(format!("Unexpected \">\" at byte offset {i}")),
            '<' if src[i + 1..].starts_with('/') => {
                let rest = &src[i + 2..];
                let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                let name = rest[..name_len].to_ascii_lowercase();
                let after = rest[name_len..].trim_start();
                if !after.starts_with('>') {
                    return err(format!("Unclosed end tag at byte offset {i}"));
                }
                let Some(open) = stack.pop() else {
                    return err(format!("Unexpected end tag at byte offset {i}"));
                };
                if open.tag != name {
                    return err(format!(
                        "Unmatched end tag at byte offset {i}, expected \"</{}>\", found \"</{name}>\"",
                        open.tag
                    ));
                }
                if let Some(mut entity) = open.entity
                    && pos16 > open.start
                {
                    entity["offset"] = json!(open.start);
                    entity["length"] = json!(pos16 - open.start);
                    entities.push(entity);
                }
                i = src.len() - after.len() + 1;
            }
            '<' => {
                let (name, attrs, used) = parse_start_tag(&src[i..])
                    .ok_or_else(|| format!("can't parse entities: Unclosed or invalid tag at byte offset {i}"))?;
                let entity = tag_entity(&name, &attrs, stack.last_mut())
                    .map_err(|m| format!("can't parse entities: {m} at byte offset {i}"))?;
                stack.push(Open { tag: name, start: pos16, entity });
                i += used;
            }
            _ => {
                text.push(c);
                pos16 += c.len_utf16();
                i += c.len_utf8();
            }
        }
    }
    if let Some(open) = stack.last() {
        return err(format!("Can't find end tag corresponding to start tag \"{}\"", open.tag));
    }
    entities.sort_by_key(|e| (e["offset"].as_u64(), std::cmp::Reverse(e["length"].as_u64())));
    Ok(Rendered { text, entities })
}

/// Tag attributes: (lowercase name, decoded value).
type Attrs = Vec<(String, String)>;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The entity a start tag opens (`None` for tags that add none), or the error.
fn tag_entity(name: &str, attrs: &[(String, String)], parent: Option<&mut Open>) -> Result<Option<Value>, String> {
    let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let kind = |t: &str| Ok(Some(json!({ "type": t })));
    match name {
        "b" | "strong" => kind("bold"),
        "i" | "em" => kind("italic"),
        "u" | "ins" => kind("underline"),
        "s" | "strike" | "del" => kind("strikethrough"),
        "tg-spoiler" => kind("spoiler"),
        "span" if attr("class") == Some("tg-spoiler") => kind("spoiler"),
        "span" => Err("Tag \"span\" must have class \"tg-spoiler\"".to_owned()),
        "blockquote" if attr("expandable").is_some() => kind("expandable_blockquote"),
        "blockquote" => kind("blockquote"),
        "pre" => kind("pre"),
        "code" if parent.as_ref().is_some_and(|p| p.tag == "pre") => {
            // <pre><code class="language-x"> is one pre entity with a language.
            let language = attr("class").and_then(|c| c.strip_prefix("language-"));
            if let (Some(lang), Some(pre)) = (language, parent)
                && let Some(entity) = pre.entity.as_mut()
            {
                entity["language"] = json!(lang);
            }
            Ok(None)
        }
        "code" => kind("code"),
        "a" => Ok(attr("href").and_then(link_url).map(|url| json!({ "type": "text_link", "url": url }))),
        "tg-emoji" => match attr("emoji-id") {
            Some(id) if !id.is_empty() => Ok(Some(json!({ "type": "custom_emoji", "custom_emoji_id": id }))),
            _ => Err("Custom emoji entity must contain a tg-emoji identifier".to_owned()),
        },
        _ => Err(format!("Unsupported start tag \"{name}\"")),
    }
}

/// The URL of an `<a href>`: scheme-less links get `http://`; unparsable ones make no entity.
fn link_url(href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let full = if href.contains(':') { href.to_owned() } else { format!("http://{href}") };
    url::Url::parse(&full).ok().map(|u| u.to_string())
}

/// Parses `<name attr="v" flag>` at the start of `s`: (lowercase name, attributes, bytes used).
fn parse_start_tag(s: &str) -> Option<(String, Attrs, usize)> {
    let body = &s[1..];
    let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    if name_len == 0 {
        return None;
    }
    let name = body[..name_len].to_ascii_lowercase();
    let mut rest = &body[name_len..];
    let mut attrs = Vec::new();
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix('>') {
            return Some((name, attrs, s.len() - after.len()));
        }
        if trimmed.len() == rest.len() {
            return None; // attributes must be separated by whitespace
        }
        let key_len = trimmed.find(|c: char| !is_name_char(c)).unwrap_or(trimmed.len());
        if key_len == 0 {
            return None;
        }
        let key = trimmed[..key_len].to_ascii_lowercase();
        rest = &trimmed[key_len..];
        let mut value = String::new();
        if let Some(after_eq) = rest.trim_start().strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let quote = after_eq.chars().next()?;
            let (raw, after) = if quote == '"' || quote == '\'' {
                let end = after_eq[1..].find(quote)? + 1;
                (&after_eq[1..end], &after_eq[end + 1..])
            } else {
                let end = after_eq.find(|c: char| c.is_whitespace() || c == '>')?;
                (&after_eq[..end], &after_eq[end..])
            };
            value = decode_all(raw)?;
            rest = after;
        }
        attrs.push((key, value));
    }
}

fn decode_all(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while let Some(c) = raw[i..].chars().next() {
        if c == '&' {
            let (d, used) = decode_entity(&raw[i..])?;
            out.push(d);
            i += used;
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

/// Decodes the entity at the start of `s` (`&lt;`, `&gt;`, `&amp;`, `&quot;`, `&#N;`, `&#xH;`).
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let end = s.find(';')?;
    let body = &s[1..end];
    let c = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let num = body.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0')?
        }
    };
    Some((c, end + 1))
}

/// The `bot_command` entity of a user's text that starts with `/command`, if any.
pub fn command_entity(text: &str) -> Option<Value> {
    let rest = text.strip_prefix('/')?;
    let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@')).unwrap_or(rest.len());
    (len > 0).then(|| json!({ "type": "bot_command", "offset": 0, "length": len + 1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Rendered {
        parse_html(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn entities_and_offsets_are_utf16() {
        let r = ok("😀 <b>bold <i>both</i></b> &lt;x&gt; &amp; &quot;&#33;&#x21;");
        assert_eq!(r.text, "😀 bold both <x> & \"!!");
        assert_eq!(r.entities[0], json!({"type":"bold","offset":3,"length":9}));
        assert_eq!(r.entities[1], json!({"type":"italic","offset":8,"length":4}));
    }

    #[test]
    fn links_pre_spoiler_quote() {
        let r = ok(
            r#"<a href="https://x.org/?a=1&amp;b=2">l</a><pre><code class="language-rust">fn</code></pre><span class="tg-spoiler">s</span><blockquote expandable>q</blockquote>"#,
        );
        assert_eq!(r.text, "lfnsq");
        assert_eq!(r.entities[0]["url"], "https://x.org/?a=1&b=2");
        assert_eq!(r.entities[1], json!({"type":"pre","offset":1,"length":2,"language":"rust"}));
        assert_eq!(r.entities[2]["type"], "spoiler");
        assert_eq!(r.entities[3]["type"], "expandable_blockquote");
        assert_eq!(ok("<B>x</B>").entities.len(), 1);
    }

    #[test]
    fn rejects_bad_html() {
        for bad in [
            "<b>x",
            "x</b>",
            "<b><i>x</b></i>",
            "<div>x</div>",
            "<br>",
            "a < b",
            "a > b",
            "a & b",
            "&nbsp;",
            "&#xZZ;",
            "<span>x</span>",
            "<b",
            "<a href=\"x>y</a>",
        ] {
            let e = parse_html(bad).expect_err(bad);
            assert!(e.starts_with("can't parse entities: "), "{bad}: {e}");
        }
    }

    #[test]
    fn commands() {
        assert_eq!(command_entity("/start abc").unwrap()["length"], 6);
        assert_eq!(command_entity("hi /start"), None);
        assert_eq!(command_entity("/"), None);
    }
}
