//! The leads' weekly digest as one Telegram message in the lead's language: what the team did,
//! where it stumbles, what it shared and asked for, and the question for this week's stand-up.
//! Every count covers at least `min_group` learners or says "fewer than N"; texts carry no
//! names. Quoted content (the stand-up question, quiz questions and options) stays in the
//! pack's words, as in the report.

use crate::i18n::{Lang, fill, fill_html, tr};
use crate::report::format::percent;
use crate::report::{CohortFigures, LessonRow, PracticeCheckIns};
use crate::text::escape_html;

/// How many of the hardest quiz items the digest names.
pub const HARD_ITEMS: usize = 2;

/// Longest shared text or idea the digest quotes, in characters; longer ones are cut with `…`.
pub const MAX_QUOTE_CHARS: usize = 400;

/// Everything the digest says, already aggregated or unnamed.
#[derive(Debug, Clone, Default)]
pub struct DigestFacts<'a> {
    /// The cohort's id.
    pub cohort: &'a str,
    /// The title of the cohort's pack.
    pub programme: &'a str,
    /// The cohort's "what for?", if set.
    pub goal: Option<&'a str>,
    /// The smallest group a count may describe.
    pub min_group: usize,
    /// Learners active in the last 7 days.
    pub active: u64,
    /// Learners active in the 7 days before those.
    pub active_before: u64,
    /// The cohort's figures; `None` when the cohort has fewer than `min_group` learners.
    pub figures: Option<&'a CohortFigures>,
    /// Learners who answered a practice check-in, for the practice line's threshold.
    pub practice_learners: u64,
    /// The furthest lesson reached by at least `min_group` learners: its title, its number in
    /// the pack and the pack's number of lessons.
    pub furthest: Option<(&'a str, usize, usize)>,
    /// Answers to the team question and reflections that learners chose to share since the
    /// last digest, without names, in an order that says nothing about who.
    pub shared: &'a [String],
    /// Ideas sent with `/idea` since the last digest, without names.
    pub ideas: &'a [String],
    /// This week's stand-up question: the lesson's title and the question as Telegram HTML.
    pub standup: Option<(&'a str, &'a str)>,
}

/// The digest as Telegram HTML in `lang` (the caller splits it if it is over 4096 characters).
pub fn compose(lang: Lang, facts: &DigestFacts<'_>) -> String {
    let mut parts = vec![fill(lang, "digest.title", &[("cohort", facts.cohort), ("programme", facts.programme)])];
    if let Some(goal) = facts.goal {
        parts.push(fill(lang, "digest.goal", &[("goal", goal)]));
    }
    parts.push(activity(lang, facts));
    match facts.figures {
        Some(figures) => parts.extend(coaching(lang, facts, figures)),
        None => parts.push(fill(lang, "digest.too_few", &[("min", &facts.min_group.to_string())])),
    }
    parts.push(standup(lang, facts));
    parts.push(quotes(lang, "digest.ideas", "digest.no_ideas", facts.ideas));
    parts.push(quotes(lang, "digest.shared", "digest.none_shared", facts.shared));
    parts.push(fill(lang, "digest.footer", &[("min", &facts.min_group.to_string())]));
    parts.join("\n\n")
}

/// How far the team has come: the furthest lesson still in the pack that at least `min_group`
/// learners got, as its title, its number and the pack's number of lessons. `lessons` are the
/// report's rows, the pack's in order first.
pub fn furthest(lessons: &[LessonRow], min_group: usize) -> Option<(&str, usize, usize)> {
    let in_pack: Vec<&LessonRow> = lessons.iter().filter(|row| !row.retired).collect();
    let reached =
        |row: &LessonRow| row.figures.shown().is_some_and(|lesson| lesson.learners_reached >= min_group as u64);
    let (idx, row) = in_pack.iter().enumerate().rev().find(|(_, row)| reached(row))?;
    Some((row.title.as_str(), idx + 1, in_pack.len()))
}

/// A count, or "fewer than N" when it covers fewer than `min_group` learners.
pub fn count(lang: Lang, n: u64, min_group: usize) -> String {
    if n < min_group as u64 {
        fill(lang, "digest.fewer_than", &[("min", &min_group.to_string())])
    } else {
        n.to_string()
    }
}

fn activity(lang: Lang, facts: &DigestFacts<'_>) -> String {
    let active = count(lang, facts.active, facts.min_group);
    let before = count(lang, facts.active_before, facts.min_group);
    let mut text = fill(lang, "digest.active", &[("active", &active), ("before", &before)]);
    if facts.figures.is_some() {
        let progress = match facts.furthest {
            Some((title, number, total)) => fill(
                lang,
                "digest.furthest",
                &[
                    ("title", title),
                    ("number", &number.to_string()),
                    ("total", &total.to_string()),
                    ("min", &facts.min_group.to_string()),
                ],
            ),
            None => fill(lang, "digest.no_furthest", &[("min", &facts.min_group.to_string())]),
        };
        text.push('\n');
        text.push_str(&progress);
    }
    text
}

fn coaching(lang: Lang, facts: &DigestFacts<'_>, figures: &CohortFigures) -> Vec<String> {
    let hard: Vec<String> = figures
        .hardest_items
        .iter()
        .take(HARD_ITEMS)
        .map(|item| {
            let wrong = item
                .common_wrong_answer
                .as_deref()
                .map_or_else(String::new, |wrong| fill(lang, "digest.hard_wrong", &[("wrong", wrong)]));
            let right = percent(&item.quiz_first_try);
            let line = fill(lang, "digest.hard_item", &[("question", &item.question), ("right", &right)]);
            let sure = match item.confidently_wrong.out_of {
                0 => String::new(),
                _ => fill(lang, "digest.hard_sure_wrong", &[("share", &percent(&item.confidently_wrong))]),
            };
            format!("• {line}{sure}{wrong}")
        })
        .collect();
    let hard = match hard.is_empty() {
        true => fill(lang, "digest.no_hard", &[("min", &facts.min_group.to_string())]),
        false => format!("{}\n{}", tr(lang, "digest.hard_heading"), hard.join("\n")),
    };
    vec![hard, practice(lang, &figures.totals.practice, facts)]
}

fn practice(lang: Lang, practice: &PracticeCheckIns, facts: &DigestFacts<'_>) -> String {
    if facts.practice_learners < facts.min_group as u64 {
        return fill(lang, "digest.practice_hidden", &[("min", &facts.min_group.to_string())]);
    }
    fill(
        lang,
        "digest.practice",
        &[
            ("done", &practice.done.to_string()),
            ("partly", &practice.partly.to_string()),
            ("not_yet", &practice.not_yet.to_string()),
        ],
    )
}

fn standup(lang: Lang, facts: &DigestFacts<'_>) -> String {
    match facts.standup {
        Some((lesson, question)) => {
            let heading = fill(lang, "digest.standup", &[("lesson", lesson)]);
            format!("{heading}\n<blockquote>{question}</blockquote>")
        }
        None => tr(lang, "digest.no_standup").to_owned(),
    }
}

fn quotes(lang: Lang, heading: &str, empty: &str, texts: &[String]) -> String {
    if texts.is_empty() {
        return tr(lang, empty).to_owned();
    }
    let lines: Vec<String> = texts.iter().map(|text| format!("• {}", escape_html(&shorten(text)))).collect();
    fill_html(lang, heading, &[("n", &texts.len().to_string())]) + "\n" + &lines.join("\n")
}

/// `text` on one line, cut at [`MAX_QUOTE_CHARS`].
fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_team() -> DigestFacts<'static> {
        DigestFacts {
            cohort: "desk",
            programme: "Customer focus",
            goal: Some("Fewer repeat calls"),
            min_group: 5,
            active: 4,
            active_before: 3,
            shared: &[],
            ideas: &[],
            ..DigestFacts::default()
        }
    }

    #[test]
    fn a_small_team_gets_no_figures_but_the_stand_up_question_and_its_ideas() {
        let ideas = ["A shared FAQ  for\nreturns".to_owned()];
        let facts =
            DigestFacts { ideas: &ideas, standup: Some(("Third call", "What do we <b>promise</b>?")), ..small_team() };
        let text = compose(Lang::En, &facts);
        assert!(text.contains("Fewer repeat calls"), "{text}");
        assert!(text.contains("fewer than 5 (the 7 days before: fewer than 5)"), "{text}");
        assert!(text.contains("figures appear once at least 5 learners"), "{text}");
        assert!(text.contains("<blockquote>What do we <b>promise</b>?</blockquote>"), "{text}");
        assert!(text.contains("• A shared FAQ for returns"), "one line, escaped: {text}");
        assert!(!text.contains("4") && !text.contains("3 "), "no count under 5 shows: {text}");
    }

    #[test]
    fn counts_under_the_threshold_say_so_in_every_language() {
        for lang in Lang::ALL {
            assert_eq!(count(lang, 5, 5), "5");
            assert!(!count(lang, 4, 5).contains('4'), "{lang}");
            assert!(count(lang, 0, 5).contains('5'), "{lang}: 'fewer than 5'");
        }
    }

    fn lesson(title: &str, reached: Option<u64>, retired: bool) -> LessonRow {
        let figures = match reached {
            Some(learners_reached) => crate::report::Guarded::Shown(crate::report::LessonFigures {
                learners_reached,
                quiz_first_try: crate::report::Rate::new(0, 0),
                reflections_answered: 0,
                stopped_here: 0,
            }),
            None => crate::report::Guarded::Hidden(crate::report::Suppressed::fewer_than(5)),
        };
        LessonRow { lesson_id: title.to_lowercase(), title: title.to_owned(), retired, figures }
    }

    #[test]
    fn the_team_has_come_as_far_as_the_last_lesson_five_learners_reached() {
        let rows = [
            lesson("One", Some(9), false),
            lesson("Two", Some(5), false),
            lesson("Three", None, false),
            lesson("Four", Some(4), false),
            lesson("Old", Some(12), true),
        ];
        assert_eq!(
            furthest(&rows, 5),
            Some(("Two", 2, 4)),
            "hidden and smaller groups do not count, retired ones neither"
        );
        assert_eq!(furthest(&rows[2..4], 5), None);
        assert_eq!(furthest(&rows, 10), None, "the retired lesson is no progress in the pack");
    }

    #[test]
    fn quotes_are_escaped_and_cut() {
        let long = "x".repeat(MAX_QUOTE_CHARS + 50);
        let shared = [long, "<script>".to_owned()];
        let text = quotes(Lang::En, "digest.shared", "digest.none_shared", &shared);
        assert!(text.contains(&format!("{}…", "x".repeat(MAX_QUOTE_CHARS))));
        assert!(text.contains("&lt;script&gt;") && !text.contains("<script>"));
    }
}
