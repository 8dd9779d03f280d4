//! The report as text: a table for the terminal, CSV tables for spreadsheets, pretty JSON.
//!
//! All three show the same figures; hidden groups show `<5` (or the privacy sentence) in place
//! of numbers. The HTML page lives in `html.rs`.

use std::fmt::Write as _;

use super::finish::option_words;
use super::{CohortFigures, Guarded, Rate, Report};
use crate::i18n::{Lang, fill_html, tr};

pub use super::csv::{csv, csv_by_item, csv_by_learner, csv_by_lesson};

/// Shown where there is nothing to divide or no data.
pub(crate) const NO_DATA: &str = "–";

/// The figures as plain-text tables in English: totals per cohort, then each cohort's breakdowns.
pub fn table(report: &Report) -> String {
    table_in(report, Lang::En)
}

/// [`table`] with its words in `lang` (the reader's).
pub fn table_in(report: &Report, lang: Lang) -> String {
    let mut out = heading(report, lang);
    out.push_str(&totals_table(report, lang));
    for cohort in &report.cohorts {
        let Guarded::Shown(figures) = &cohort.figures else { continue };
        let title = cohort.pack_title.as_ref().map_or(String::new(), |title| format!(" ({title})"));
        let _ = write!(out, "\n== {}{title} ==\n", cohort.cohort);
        out.push_str(&cohort_tables(figures, report.min_group, lang));
    }
    out
}

/// The whole report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}

/// `83 %`, or `–` without data.
pub(crate) fn percent(rate: &Rate) -> String {
    share(rate.ratio)
}

/// `83 %`, or `–` without a figure.
pub(crate) fn share(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| NO_DATA.to_owned(), |ratio| format!("{:.0} %", ratio * 100.0))
}

/// `42 s`, `12 min`, `3.5 h`, `2.1 d`, or `–`.
pub(crate) fn duration(seconds: Option<u64>) -> String {
    let Some(seconds) = seconds else { return NO_DATA.to_owned() };
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", (seconds + 30) / 60),
        7_200..172_800 => format!("{:.1} h", seconds as f64 / 3600.0),
        _ => format!("{:.1} d", seconds as f64 / 86_400.0),
    }
}

/// `<5` for a group too small to show.
pub(crate) fn hidden_mark(min_group: usize) -> String {
    format!("<{min_group}")
}

/// `2026-11-01 to 2026-11-30`, `the start to …`, `… to now` in `lang` (not yet escaped); `None`
/// for the whole history.
pub(crate) fn period_range(report: &Report, lang: Lang) -> Option<String> {
    if report.since.is_none() && report.until.is_none() {
        return None;
    }
    let since = report.since.map_or_else(|| tr(lang, "report.range_start").to_owned(), |date| date.to_string());
    let until = report.until.map_or_else(|| tr(lang, "report.range_now").to_owned(), |date| date.to_string());
    Some(fill_html(lang, "report.range", &[("since", &since), ("until", &until)]))
}

fn heading(report: &Report, lang: Lang) -> String {
    let period = period_range(report, lang).unwrap_or_else(|| tr(lang, "report_table.all_time").to_owned());
    let generated = report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let active = report.active_as_of.format("%Y-%m-%d %H:%M UTC").to_string();
    let min = report.min_group.to_string();
    let args = [("generated", generated.as_str()), ("period", &period), ("active", &active), ("min", &min)];
    format!("{}\n\n", fill_html(lang, "report_table.heading", &args))
}

/// Column headers from `[report_table]`, by the keys' last part.
fn columns<const N: usize>(lang: Lang, keys: [&str; N]) -> [&'static str; N] {
    keys.map(|key| tr(lang, &format!("report_table.{key}")))
}

fn totals_table(report: &Report, lang: Lang) -> String {
    let header = columns(
        lang,
        [
            "col_cohort",
            "col_learners",
            "col_active_7d",
            "col_prompts",
            "col_response",
            "col_median",
            "col_first_try",
            "col_retention",
            "col_reflections",
            "col_practice",
        ],
    );
    let hidden = fill_html(lang, "report.hidden", &[("min", &report.min_group.to_string())]);
    let rows = report
        .cohorts
        .iter()
        .map(|cohort| match &cohort.figures {
            Guarded::Shown(figures) => {
                let totals = &figures.totals;
                let practice = &totals.practice;
                Row::Cells(vec![
                    cohort.cohort.clone(),
                    totals.learners_enrolled.to_string(),
                    totals.learners_active.to_string(),
                    totals.prompts_sent.to_string(),
                    percent(&totals.response_rate),
                    duration(totals.median_seconds_to_answer),
                    percent(&totals.quiz_first_try),
                    percent(&totals.quiz_retention),
                    totals.reflections_answered.to_string(),
                    format!("{}/{}/{}", practice.done, practice.partly, practice.not_yet),
                ])
            }
            Guarded::Hidden(_) => Row::Note(cohort.cohort.clone(), hidden.clone()),
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        return format!("{}\n", tr(lang, "report_table.no_cohorts"));
    }
    render(&header, &rows)
}

fn cohort_tables(figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let mut out = String::new();
    let title = |key: &str| tr(lang, &format!("report_table.{key}"));
    section(&mut out, title("section_lessons"), &lesson_table(figures, min_group, lang));
    section(&mut out, title("section_weeks"), &week_table(figures, min_group, lang));
    section(&mut out, title("section_hardest"), &hardest_table(figures, lang));
    section(&mut out, title("section_days"), &days_table(figures, min_group, lang));
    if !figures.shared_reflections.is_empty() {
        let mut shared = String::new();
        for question in &figures.shared_reflections {
            let _ = writeln!(shared, "{}: {}", question.lesson, question.question);
            question.answers.iter().for_each(|answer| {
                let _ = writeln!(shared, "  - {}", answer.replace('\n', "\n    "));
            });
        }
        section(&mut out, title("section_shared"), &shared);
    }
    if let Some(learners) = &figures.learners {
        section(&mut out, title("section_learners"), &learner_table(learners, lang));
    }
    out
}

fn section(out: &mut String, title: &str, body: &str) {
    let _ = write!(out, "\n{title}\n{body}");
}

fn lesson_table(figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let rows: Vec<Row> = figures
        .lessons
        .iter()
        .map(|lesson| {
            let name = if lesson.retired {
                fill_html(lang, "report_table.retired_lesson", &[("title", &lesson.title)])
            } else {
                lesson.title.clone()
            };
            match &lesson.figures {
                Guarded::Shown(f) => Row::Cells(vec![
                    name,
                    f.learners_reached.to_string(),
                    percent(&f.quiz_first_try),
                    f.reflections_answered.to_string(),
                    f.stopped_here.to_string(),
                ]),
                Guarded::Hidden(_) => {
                    Row::Cells(vec![name, hidden_mark(min_group), String::new(), String::new(), String::new()])
                }
            }
        })
        .collect();
    let header = columns(lang, ["col_lesson", "col_learners", "col_first_try", "col_reflections", "col_stopped"]);
    or_none(render(&header, &rows), rows.is_empty(), lang)
}

fn week_table(figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let rows: Vec<Row> = figures
        .weeks
        .iter()
        .map(|week| match &week.figures {
            Guarded::Shown(f) => Row::Cells(vec![
                week.week.clone(),
                f.learners_active.to_string(),
                f.prompts_sent.to_string(),
                percent(&f.response_rate),
                percent(&f.quiz_first_try),
                percent(&f.quiz_retention),
                share(f.predicted_recall),
            ]),
            Guarded::Hidden(_) => {
                let mut cells = vec![week.week.clone(), hidden_mark(min_group)];
                cells.resize(7, String::new());
                Row::Cells(cells)
            }
        })
        .collect();
    let header = columns(
        lang,
        ["col_week", "col_active", "col_prompts", "col_response", "col_first_try", "col_retention", "col_predicted"],
    );
    or_none(render(&header, &rows), rows.is_empty(), lang)
}

fn hardest_table(figures: &CohortFigures, lang: Lang) -> String {
    let rows: Vec<Row> = figures
        .hardest_items
        .iter()
        .map(|item| {
            Row::Cells(vec![
                one_line(&item.question, 60),
                item.learners.to_string(),
                percent(&item.quiz_first_try),
                confident_cell(&item.confidently_wrong),
                item.unnamed_wrong_option
                    .map(|number| option_words(lang, number))
                    .or_else(|| item.common_wrong_answer.clone())
                    .unwrap_or_else(|| NO_DATA.to_owned()),
            ])
        })
        .collect();
    let header = columns(lang, ["col_question", "col_learners", "col_first_try", "col_sure_wrong", "col_wrong"]);
    or_none(render(&header, &rows), rows.is_empty(), lang)
}

/// `3/12`: answers wrong that learners were sure of, of those rated; a dash when none was.
fn confident_cell(rate: &super::Rate) -> String {
    if rate.out_of == 0 { NO_DATA.to_owned() } else { format!("{}/{}", rate.count, rate.out_of) }
}

fn days_table(figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let rows: Vec<Row> = figures
        .days_active
        .iter()
        .map(|bucket| {
            let count = bucket.learners.shown().map_or_else(|| hidden_mark(min_group), u64::to_string);
            Row::Cells(vec![bucket.label.clone(), count])
        })
        .collect();
    render(&columns(lang, ["col_days", "col_learners"]), &rows)
}

fn learner_table(learners: &[super::LearnerRow], lang: Lang) -> String {
    let rows: Vec<Row> = learners
        .iter()
        .map(|row| {
            Row::Cells(vec![
                row.learner.clone(),
                row.lessons_reached.to_string(),
                row.answers.to_string(),
                percent(&row.quiz_first_try),
                row.days_active.to_string(),
            ])
        })
        .collect();
    let header = columns(lang, ["col_learner", "col_lessons", "col_answers", "col_first_try", "col_days_active"]);
    or_none(render(&header, &rows), rows.is_empty(), lang)
}

/// `text` on one line, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    crate::text::truncate_chars(&text.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

fn or_none(table: String, empty: bool, lang: Lang) -> String {
    if empty { format!("{}\n", tr(lang, "report_table.none_yet")) } else { table }
}

/// A table row: cells, or a first cell followed by a sentence across the other columns.
enum Row {
    /// One cell per column.
    Cells(Vec<String>),
    /// The first cell, then a sentence in place of the figures (a hidden cohort).
    Note(String, String),
}

/// Columns padded to their widest cell: figures right-aligned, texts left-aligned.
fn render(header: &[&str], rows: &[Row]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    let mut right: Vec<bool> = (0..header.len()).map(|idx| idx > 0).collect();
    for row in rows {
        let cells = match row {
            Row::Cells(cells) => cells.as_slice(),
            Row::Note(first, _) => std::slice::from_ref(first),
        };
        for (idx, cell) in cells.iter().enumerate().take(header.len()) {
            widths[idx] = widths[idx].max(cell.chars().count());
            right[idx] &= cell.is_empty() || cell.starts_with(|ch: char| ch.is_ascii_digit() || ch == '<' || ch == '–');
        }
    }
    let layout = Layout { widths, right };
    let header: Vec<String> = header.iter().map(|&cell| cell.to_owned()).collect();
    let rule: Vec<String> = layout.widths.iter().map(|&width| "-".repeat(width)).collect();
    let mut out = String::new();
    for cells in [&header, &rule] {
        out.push_str(&layout.line(cells));
    }
    for row in rows {
        match row {
            Row::Cells(cells) => out.push_str(&layout.line(cells)),
            Row::Note(first, note) => {
                let first_column = Layout { widths: layout.widths[..1].to_vec(), right: vec![false] };
                out.push_str(&first_column.line(&[first.clone(), note.clone()]));
            }
        }
    }
    out
}

/// Width and alignment per column.
struct Layout {
    /// Characters per column.
    widths: Vec<usize>,
    /// True for columns of figures, which align right.
    right: Vec<bool>,
}

impl Layout {
    fn line(&self, cells: &[String]) -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(idx, cell)| {
                let width = self.widths.get(idx).copied().unwrap_or(0);
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                if self.right.get(idx).copied().unwrap_or(false) {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    }
}
