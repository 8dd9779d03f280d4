//! TOML errors in plain words, for front matter, `pack.toml` and the config.
//!
//! The parser speaks of "basic strings" and "u32"; an author needs to hear that a text value
//! goes between double quotes. This module only rewords: the position stays the parser's.
//! Anything it does not recognise keeps the parser's first line, so nothing is hidden.

/// The first line of `error`'s message, said in plain words. `source` is the text that was
/// parsed (the error's span points into it), used to spot curly quotes from a word processor.
pub(crate) fn plain_message(error: &toml::de::Error, source: &str) -> String {
    let raw = error.message().trim().lines().next().unwrap_or("").trim().to_owned();
    let at = error.span().map_or(0, |span| span.start);
    let rest = source.get(at..).unwrap_or("");
    let line = rest.lines().next().unwrap_or("");
    if line.contains(['“', '”', '„', '‘', '’']) {
        return "curly quotes (“ ”) are not quotes here: type straight double quotes: `title = \"…\"`".to_owned();
    }
    plain(&raw).unwrap_or_else(|| format!("this line is not valid TOML ({raw}): write settings as `name = \"text\"`"))
}

/// The plain sentence for a parser message, if it is one people commonly run into.
fn plain(raw: &str) -> Option<String> {
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = expected.trim_start_matches("one of ").replace(" or ", ", ");
        return Some(format!("{key} is not a setting here (check the spelling): use {expected}"));
    }
    if let Some(key) = raw.strip_prefix("missing field ") {
        return Some(format!("{key} is missing: add a line such as {}", example(key.trim_matches('`'))));
    }
    if raw.starts_with("invalid type:") {
        return Some(if raw.ends_with("expected a string") {
            "a text value must be between double quotes: `title = \"…\"`".to_owned()
        } else if raw.contains("expected u") || raw.contains("expected i") {
            "a number must be a whole number without quotes: `follow_up_days = 3`".to_owned()
        } else if raw.ends_with("expected a boolean") {
            "write `true` or `false`, without quotes".to_owned()
        } else if raw.contains("expected a sequence") {
            "a list goes between square brackets: `admins = [42, 43]`".to_owned()
        } else {
            format!("this value has the wrong kind ({}): see the example in the docs", &raw["invalid type: ".len()..])
        });
    }
    let head = raw.split(", expected").next().unwrap_or(raw);
    let sentence = match head {
        "string values must be quoted" | "invalid string" | "missing opening quote" => {
            "a text value must be between double quotes: `title = \"…\"`"
        }
        "invalid basic string" | "invalid literal string" => {
            "the text is not closed: end it with a double quote `\"` on the same line"
        }
        "invalid multi-line basic string" | "invalid multi-line literal string" => {
            "the text that starts with `\"\"\"` is never closed: end it with `\"\"\"`"
        }
        "missing assignment between key-value pairs" | "key with no value" | "invalid key-value pair" => {
            "write `=` between the name and the value: `title = \"…\"`"
        }
        "missing value" | "missing value for key" => "there is no value after `=`: write one, e.g. `title = \"…\"`",
        "invalid key" | "invalid unquoted key" | "unquoted keys cannot be empty" => {
            "a setting's name may hold only letters, digits, `_` and `-`, followed by `=` and a value"
        }
        "unclosed table" | "unclosed array table" => "a section name in `[ ]` is not closed: end it with `]`",
        "unclosed array" | "missing comma between array elements" => {
            "a list goes between square brackets, with commas between its values: `[\"sat\", \"sun\"]`"
        }
        "invalid integer number" | "invalid float" | "unexpected leading zero" => {
            "a number is written with digits only, without quotes: `follow_up_days = 3`"
        }
        "invalid boolean" => "write `true` or `false`, without quotes",
        _ if raw.starts_with("duplicate key") => "this setting appears twice: keep only one",
        _ => return None,
    };
    Some(sentence.to_owned())
}

/// An example line for a missing key.
fn example(key: &str) -> String {
    match key {
        "language" => "`language = \"en\"`".to_owned(),
        "title" => "`title = \"…\"`".to_owned(),
        key => format!("`{key} = \"…\"`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Front {
        title: String,
        id: Option<String>,
        days: Option<u32>,
    }

    fn check(input: &str, expected: &str) {
        let error = toml::from_str::<Front>(input).expect_err(input);
        assert_eq!(plain_message(&error, input), expected, "{input}: {}", error.message());
    }

    #[test]
    fn parser_errors_come_out_in_plain_sentences() {
        let quotes = "a text value must be between double quotes: `title = \"…\"`";
        check("title = What for?\n", quotes);
        check("title = 3\n", quotes);
        check("title = \"What for?\n", "the text is not closed: end it with a double quote `\"` on the same line");
        check(
            "title = “What for?”\n",
            "curly quotes (“ ”) are not quotes here: type straight double quotes: `title = \"…\"`",
        );
        check("titel = \"x\"\n", "`titel` is not a setting here (check the spelling): use `title`, `id`, `days`");
        check("id = \"x\"\n", "`title` is missing: add a line such as `title = \"…\"`");
        check("title \"x\"\n", "write `=` between the name and the value: `title = \"…\"`");
        check("title = \"x\"\ndays = \"3\"\n", "a number must be a whole number without quotes: `follow_up_days = 3`");
        check("title = \"x\"\ntitle = \"y\"\n", "this setting appears twice: keep only one");
    }
}
