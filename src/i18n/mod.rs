//! The bot's own texts in Dutch, English and Danish: one TOML catalogue per language, compiled
//! into the binary. No learner-facing sentence lives in code.
//!
//! Templates are Telegram HTML with `{name}` placeholders; [`fill`] escapes the values it puts
//! in, so a learner's name with `<` in it cannot break a message.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDateTime};

use serde::{Deserialize, Serialize};

use crate::text::escape_html;

/// A language the bot speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Dutch.
    Nl,
    /// Danish.
    Da,
}

impl Lang {
    /// Every supported language.
    pub(crate) const ALL: [Lang; 3] = [Lang::Nl, Lang::En, Lang::Da];

    /// Parses `en`, `nl`, `da`, also with a region (`nl-BE`) or in capitals.
    pub fn parse(code: &str) -> Option<Self> {
        let primary = code.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "nl" => Some(Self::Nl),
            "da" => Some(Self::Da),
            _ => None,
        }
    }

    /// The two-letter code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Nl => "nl",
            Self::Da => "da",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("en.toml"),
            Self::Nl => include_str!("nl.toml"),
            Self::Da => include_str!("da.toml"),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

type Catalogue = HashMap<String, String>;

fn catalogues() -> &'static HashMap<Lang, Catalogue> {
    static CATALOGUES: OnceLock<HashMap<Lang, Catalogue>> = OnceLock::new();
    CATALOGUES.get_or_init(|| Lang::ALL.into_iter().map(|lang| (lang, flatten(lang.source()))).collect())
}

/// Flattens `[section] key = "text"` into `section.key`; a broken catalogue is a build-time
/// bug caught by the tests, so it yields an empty catalogue rather than a panic.
fn flatten(source: &str) -> Catalogue {
    let table: toml::Table = toml::from_str(source).unwrap_or_default();
    let mut out = Catalogue::new();
    for (section, value) in table {
        match value {
            toml::Value::Table(entries) => {
                for (key, value) in entries {
                    if let toml::Value::String(text) = value {
                        out.insert(format!("{section}.{key}"), text);
                    }
                }
            }
            toml::Value::String(text) => {
                out.insert(section, text);
            }
            _ => {}
        }
    }
    out
}

/// The template for `key` in `lang`; English if the language lacks it; the key itself if no
/// catalogue has it (the catalogue tests make that impossible for keys used in code).
pub fn tr(lang: Lang, key: &str) -> &'static str {
    let catalogues = catalogues();
    catalogues
        .get(&lang)
        .and_then(|catalogue| catalogue.get(key))
        .or_else(|| catalogues.get(&Lang::En).and_then(|catalogue| catalogue.get(key)))
        .map_or("", String::as_str)
}

/// `tr` with `{name}` placeholders filled by HTML-escaped `args`.
pub(crate) fn fill(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill_template(tr(lang, key), args, true)
}

/// `tr` with placeholders filled by `args` that are already HTML (not escaped again).
pub(crate) fn fill_html(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill_template(tr(lang, key), args, false)
}

/// Fills `{name}` placeholders in one pass over `template`: each placeholder is looked up once
/// and its value is copied out without being scanned again, so a value such as a learner named
/// `{when}` comes back literally instead of being expanded. A `{` that opens no known
/// placeholder is kept as it is.
fn fill_template(template: &str, args: &[(&str, &str)], escape: bool) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| args.iter().find(|(name, _)| *name == &after[..close]).map(|(_, value)| (close, value)));
        match value {
            Some((close, value)) => {
                if escape {
                    out.push_str(&escape_html(value));
                } else {
                    out.push_str(value);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name of weekday `idx` (0 = Monday) in `lang`.
pub(crate) fn weekday_name(lang: Lang, idx: usize) -> String {
    tr(lang, "time.weekdays").split(',').nth(idx).unwrap_or_default().trim().to_owned()
}

/// "today at 09:00", "tomorrow at 09:00", "on Monday at 09:00" or "on 01-12 at 09:00": when
/// `next` comes, seen from `now` (both wall-clock times in the same zone).
pub(crate) fn describe_when(lang: Lang, next: Option<NaiveDateTime>, now: NaiveDateTime) -> String {
    let Some(next) = next else {
        return tr(lang, "time.unknown").to_owned();
    };
    let time = next.format("%H:%M").to_string();
    let days = (next.date() - now.date()).num_days();
    match days {
        0 => fill(lang, "time.today", &[("time", &time)]),
        1 => fill(lang, "time.tomorrow", &[("time", &time)]),
        2..=6 => {
            let day = weekday_name(lang, next.weekday().num_days_from_monday() as usize);
            fill(lang, "time.at", &[("day", &day), ("time", &time)])
        }
        _ => fill(lang, "time.at", &[("day", &next.format("%d-%m").to_string()), ("time", &time)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect()
    }

    #[test]
    fn every_catalogue_parses_and_has_the_same_keys() {
        let english: BTreeSet<&String> = catalogues()[&Lang::En].keys().collect();
        assert!(english.len() > 20, "the English catalogue did not parse");
        for lang in Lang::ALL {
            let keys: BTreeSet<&String> = catalogues()[&lang].keys().collect();
            assert_eq!(keys, english, "keys of {lang} differ from English");
        }
    }

    #[test]
    fn translations_use_the_same_placeholders() {
        for (key, english) in &catalogues()[&Lang::En] {
            for lang in Lang::ALL {
                let text = &catalogues()[&lang][key];
                assert_eq!(placeholders(text), placeholders(english), "{lang}: {key}");
            }
        }
    }

    #[test]
    fn every_key_used_in_the_code_exists() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut used = BTreeSet::new();
        collect_keys(&src, &mut used);
        assert!(!used.is_empty());
        for key in used {
            assert!(catalogues()[&Lang::En].contains_key(&key), "`{key}` is used in code but not in en.toml");
        }
    }

    fn collect_keys(dir: &std::path::Path, used: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_keys(&path, used);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for call in [
                    "tr(lang, \"",
                    "fill(lang, \"",
                    "fill_html(lang, \"",
                    "tr(self.lang, \"",
                    "fill(self.lang, \"",
                    "fill_html(self.lang, \"",
                ] {
                    for rest in text.split(call).skip(1) {
                        if let Some((key, _)) = rest.split_once('"') {
                            used.insert(key.to_owned());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn fill_escapes_values() {
        let text = fill_template("Hi {name}!", &[("name", "<Ann & Bob>")], true);
        assert_eq!(text, "Hi &lt;Ann &amp; Bob&gt;!");
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_is_not_expanded() {
        let args = [("name", "{when}"), ("when", "today at 09:00"), ("programme", "{name}")];
        let text = fill_template("Hi {name}, next {when} in {programme}.", &args, true);
        assert_eq!(text, "Hi {when}, next today at 09:00 in {name}.");
    }

    #[test]
    fn unknown_and_unclosed_braces_stay_as_written() {
        let text = fill_template("{a} {name} {unclosed", &[("name", "Ann")], false);
        assert_eq!(text, "{a} Ann {unclosed");
    }

    #[test]
    fn when_reads_naturally() {
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        let now = at("2026-11-24 10:00");
        assert_eq!(describe_when(Lang::En, Some(at("2026-11-24 17:00")), now), "today at 17:00");
        assert_eq!(describe_when(Lang::Nl, Some(at("2026-11-25 09:00")), now), "morgen om 09:00");
        assert_eq!(describe_when(Lang::Da, Some(at("2026-11-27 09:00")), now), "på fredag kl. 09:00");
        assert_eq!(describe_when(Lang::En, None, now), "as soon as your team's schedule allows");
    }

    #[test]
    fn languages_parse_from_telegram_codes() {
        assert_eq!(Lang::parse("nl-BE"), Some(Lang::Nl));
        assert_eq!(Lang::parse("DA"), Some(Lang::Da));
        assert_eq!(Lang::parse("fr"), None);
    }
}
