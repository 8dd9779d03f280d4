//! The report as a CSV table a spreadsheet user can filter, sort and chart: one row per cohort
//! and week ([`csv`]), per cohort and lesson ([`csv_by_lesson`]) or, when the config turns
//! per-learner rows on, per cohort and learner ([`csv_by_learner`]); one column per figure.
//!
//! RFC 4180 with CRLF line ends and a comma separator, after a UTF-8 byte order mark so that
//! Excel reads `ø` and `ë` as UTF-8 (without it, it guesses the Windows code page). Headers are
//! words from the `[report_csv]` catalogue, each naming its unit; cells are plain numbers (a
//! percentage as `83.3`, never `83 %`), ISO dates and texts. Hidden groups leave their figures
//! empty and say why in the last column. Per quiz item there is [`csv_by_item`] (the hardest
//! items are all of its rows, sorted); days active and shared reflections are in the other
//! formats only: they are not rows of a cohort's week, lesson or item. Texts from content and
//! learners are quoted when needed and defused when a spreadsheet would run them as a formula.

use super::{CohortFigures, CohortReport, Guarded, Rate, Report};
use crate::i18n::{Lang, fill_html, tr};

/// The byte order mark that starts the file: Excel's sign that the file is UTF-8.
pub(crate) const BOM: &str = "\u{feff}";

/// One row per cohort and ISO week, oldest week first; headers and words in `lang`.
pub fn csv(report: &Report, lang: Lang) -> String {
    let header = [
        "cohort",
        "pack",
        "week",
        "week_starts",
        "learners_active",
        "prompts_sent",
        "answered",
        "answerable",
        "response_rate",
        "first_try_right",
        "first_try_answers",
        "first_try_rate",
        "review_right",
        "review_answers",
        "review_rate",
        "predicted_recall",
        "note",
    ];
    table(report, lang, &header, |cohort, figures, rows| {
        if figures.weeks.is_empty() {
            rows.push(note_row(cohort, header.len(), tr(lang, "report_csv.no_activity")));
        }
        for week in &figures.weeks {
            let mut cells = vec![cohort.cohort.clone(), pack(cohort), week.week.clone(), week.starts.to_string()];
            match &week.figures {
                Guarded::Shown(f) => {
                    cells.extend([f.learners_active.to_string(), f.prompts_sent.to_string()]);
                    cells.extend(rate_cells(&f.response_rate));
                    cells.extend(rate_cells(&f.quiz_first_try));
                    cells.extend(rate_cells(&f.quiz_retention));
                    cells.push(f.predicted_recall.map_or_else(String::new, |recall| format!("{:.1}", recall * 100.0)));
                    cells.push(String::new());
                }
                Guarded::Hidden(_) => cells.extend(hidden_cells(header.len() - 4, &hidden_reason(report, lang))),
            }
            rows.push(cells);
        }
    })
}

/// One row per cohort and lesson, in pack order, then lessons that left the pack; headers and
/// words in `lang`.
pub fn csv_by_lesson(report: &Report, lang: Lang) -> String {
    let header = [
        "cohort",
        "pack",
        "lesson_number",
        "lesson_id",
        "lesson",
        "retired",
        "learners_reached",
        "first_try_right",
        "first_try_answers",
        "first_try_rate",
        "reflections_answered",
        "stopped_here",
        "note",
    ];
    table(report, lang, &header, |cohort, figures, rows| {
        for (idx, lesson) in figures.lessons.iter().enumerate() {
            let retired = tr(lang, if lesson.retired { "report_csv.yes" } else { "report_csv.no" }).to_owned();
            let mut cells = vec![
                cohort.cohort.clone(),
                pack(cohort),
                (idx + 1).to_string(),
                lesson.lesson_id.clone(),
                lesson.title.clone(),
                retired,
            ];
            match &lesson.figures {
                Guarded::Shown(f) => {
                    cells.push(f.learners_reached.to_string());
                    cells.extend(rate_cells(&f.quiz_first_try));
                    cells.extend([f.reflections_answered.to_string(), f.stopped_here.to_string(), String::new()]);
                }
                Guarded::Hidden(_) => cells.extend(hidden_cells(header.len() - 6, &hidden_reason(report, lang))),
            }
            rows.push(cells);
        }
    })
}

/// One row per cohort and quiz item, in pack order, then items that left the pack: first tries,
/// and how many of those rated were wrong while the learner was sure (the misconception
/// signal); headers and words in `lang`.
pub fn csv_by_item(report: &Report, lang: Lang) -> String {
    let header = [
        "cohort",
        "pack",
        "item_id",
        "lesson",
        "question",
        "retired",
        "learners_first_try",
        "first_try_right",
        "first_try_answers",
        "first_try_rate",
        "confidently_wrong",
        "confidence_given",
        "confidently_wrong_rate",
        "confidence_not_given",
        "note",
    ];
    table(report, lang, &header, |cohort, figures, rows| {
        for item in &figures.items {
            let retired = tr(lang, if item.retired { "report_csv.yes" } else { "report_csv.no" }).to_owned();
            let mut cells = vec![
                cohort.cohort.clone(),
                pack(cohort),
                item.item_id.to_string(),
                item.lesson.clone(),
                item.question.clone(),
                retired,
            ];
            match &item.figures {
                Guarded::Shown(f) => {
                    cells.push(f.learners.to_string());
                    cells.extend(rate_cells(&f.quiz_first_try));
                    cells.extend(rate_cells(&f.confidently_wrong));
                    cells.extend([f.confidence_not_given.to_string(), String::new()]);
                }
                Guarded::Hidden(_) => cells.extend(hidden_cells(header.len() - 6, &hidden_reason(report, lang))),
            }
            rows.push(cells);
        }
    })
}

/// One row per cohort and learner (pseudonym or first name), alphabetical, never ranked; only
/// the header when the config has per-learner rows off; headers in `lang`.
pub fn csv_by_learner(report: &Report, lang: Lang) -> String {
    let header = [
        "cohort",
        "learner",
        "lessons_reached",
        "answers",
        "first_try_right",
        "first_try_answers",
        "first_try_rate",
        "days_active",
    ];
    let mut out = header_line(&header, lang);
    for cohort in &report.cohorts {
        let Guarded::Shown(figures) = &cohort.figures else { continue };
        for learner in figures.learners.iter().flatten() {
            let mut cells = vec![
                cohort.cohort.clone(),
                learner.learner.clone(),
                learner.lessons_reached.to_string(),
                learner.answers.to_string(),
            ];
            cells.extend(rate_cells(&learner.quiz_first_try));
            cells.push(learner.days_active.to_string());
            push_row(&mut out, &cells);
        }
    }
    out
}

/// The BOM, the header, then each cohort's rows from `rows_of`; a hidden cohort gets one row
/// that says why.
fn table(
    report: &Report,
    lang: Lang,
    header: &[&str],
    rows_of: impl Fn(&CohortReport, &CohortFigures, &mut Vec<Vec<String>>),
) -> String {
    let mut out = header_line(header, lang);
    for cohort in &report.cohorts {
        let mut rows = Vec::new();
        match &cohort.figures {
            Guarded::Shown(figures) => rows_of(cohort, figures, &mut rows),
            Guarded::Hidden(_) => rows.push(note_row(cohort, header.len(), &hidden_reason(report, lang))),
        }
        rows.iter().for_each(|cells| push_row(&mut out, cells));
    }
    out
}

fn header_line(header: &[&str], lang: Lang) -> String {
    let words: Vec<String> = header.iter().map(|key| tr(lang, &format!("report_csv.{key}")).to_owned()).collect();
    let mut out = BOM.to_owned();
    push_row(&mut out, &words);
    out
}

/// Why a group shows no figures, in `lang`: the only reason a group is hidden is its size.
fn hidden_reason(report: &Report, lang: Lang) -> String {
    fill_html(lang, "report.hidden", &[("min", &report.min_group.to_string())])
}

/// Cohort and pack, empty figures, and `note` in the last column.
fn note_row(cohort: &CohortReport, columns: usize, note: &str) -> Vec<String> {
    let mut cells = vec![cohort.cohort.clone(), pack(cohort)];
    cells.extend(hidden_cells(columns - 2, note));
    cells
}

/// `columns` cells, empty but the last, which says why.
fn hidden_cells(columns: usize, reason: &str) -> Vec<String> {
    let mut cells = vec![String::new(); columns];
    if let Some(last) = cells.last_mut() {
        reason.clone_into(last);
    }
    cells
}

fn pack(cohort: &CohortReport) -> String {
    cohort.pack_title.clone().unwrap_or_default()
}

/// The count, what it is out of, and the share as a percentage with one decimal (empty
/// without anything to divide).
fn rate_cells(rate: &Rate) -> [String; 3] {
    let percent = rate.ratio.map_or(String::new(), |ratio| format!("{:.1}", ratio * 100.0));
    [rate.count.to_string(), rate.out_of.to_string(), percent]
}

fn push_row(out: &mut String, cells: &[String]) {
    let quoted: Vec<String> = cells.iter().map(|cell| field_text(cell)).collect();
    out.push_str(&quoted.join(","));
    out.push_str("\r\n");
}

/// A field as RFC 4180 wants it, with a leading `'` on text a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`), since reflection answers are typed by learners.
fn field_text(field: &str) -> String {
    let formula_like = field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.parse::<f64>().is_err();
    let field = if formula_like { format!("'{field}") } else { field.to_owned() };
    if field.contains([',', '"', '\n', '\r']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
}

#[cfg(test)]
mod tests {
    use super::field_text;

    fn check(field: &str, expected: &str) {
        assert_eq!(field_text(field), expected, "{field:?}");
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_wants_and_formulas_are_defused() {
        check("plain", "plain");
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("two\nlines", "\"two\nlines\"");
        check("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
        check("@SUM(A1)", "'@SUM(A1)");
        check("-0.5", "-0.5");
        check("", "");
    }
}
