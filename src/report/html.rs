//! The report as one self-contained HTML5 page: inline CSS, inline SVG charts, no scripts and no
//! external fonts, images or links, so it opens offline, prints well and can be mailed as a file.
//!
//! Every text that comes from content or learners is escaped. Cohorts with hidden figures show
//! the privacy note instead of charts.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use super::finish::option_words;
use super::format::{NO_DATA, duration, hidden_mark, percent, period_range, share};
use super::svg::{Bar, Chart, Series, escape, grouped_bars, horizontal_bars, line_chart};
use super::{CohortFigures, CohortReport, Guarded, Report};
use crate::i18n::{Lang, fill, fill_html, tr};

/// Fewest weeks with figures for the weekly charts: fewer points show no trend, so the page says
/// the figures in words instead.
pub(crate) const MIN_WEEKS_FOR_CHART: usize = 3;
/// Fewest lessons with figures for the drop-off chart.
pub(crate) const MIN_LESSONS_FOR_CHART: usize = 3;

/// The page's stylesheet (inlined): system fonts, muted colours, print rules.
const STYLE: &str = include_str!("style.css");

/// The whole report as one HTML page, in English with times in UTC.
pub fn html(report: &Report) -> String {
    html_in(report, Lang::En, chrono_tz::UTC)
}

/// The whole report as one HTML page, its own texts in `lang` (the reader's) and its times in
/// zone `tz` (the cohort's).
pub fn html_in(report: &Report, lang: Lang, tz: Tz) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(page, "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n", lang.code());
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let date = report.generated_at.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let _ = write!(page, "<title>{}</title>\n<style>{STYLE}</style>\n", fill(lang, "report.title", &[("date", &date)]));
    page.push_str("</head>\n<body>\n<main>\n");
    page.push_str(&header(report, lang, tz));
    page.push_str(&overview(report, lang));
    for (idx, cohort) in report.cohorts.iter().enumerate() {
        page.push_str(&cohort_section(idx, cohort, report.min_group, lang));
    }
    let footer = fill(lang, "report.footer", &[("min", &report.min_group.to_string())]);
    let _ = writeln!(page, "<footer>{footer}</footer>");
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn header(report: &Report, lang: Lang, tz: Tz) -> String {
    let period = period_range(report, lang).map_or_else(
        || tr(lang, "report.period_all").to_owned(),
        |range| fill(lang, "report.period_from", &[("range", &range)]),
    );
    let generated = long_date(lang, report.generated_at, tz);
    let active_as_of = long_date(lang, report.active_as_of, tz);
    let meta = fill(lang, "report.meta", &[("generated", &generated), ("period", &period), ("active", &active_as_of)]);
    format!("<header>\n<h1>{}</h1>\n<p class=\"meta\">{meta}</p>\n</header>\n", tr(lang, "report.heading"))
}

/// "1 March 2026, 09:00 Europe/Amsterdam", with the month named in `lang`.
fn long_date(lang: Lang, at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    let month = tr(lang, "time.months").split(',').nth(local.month0() as usize).unwrap_or_default().trim().to_owned();
    let time = local.format("%H:%M").to_string();
    let (day, year) = (local.day().to_string(), local.year().to_string());
    let args = [("day", day.as_str()), ("month", &month), ("year", &year), ("time", &time), ("zone", tz.name())];
    fill(lang, "report.long_date", &args)
}

fn overview(report: &Report, lang: Lang) -> String {
    let header = [
        "report.col_cohort",
        "report.col_learners",
        "report.col_active",
        "report.col_prompts",
        "report.col_response",
        "report.col_first_try",
        "report.col_retention",
    ]
    .map(|key| tr(lang, key));
    let rows: Vec<String> = report
        .cohorts
        .iter()
        .map(|cohort| match &cohort.figures {
            Guarded::Shown(figures) => {
                let t = &figures.totals;
                let cells = [
                    t.learners_enrolled.to_string(),
                    t.learners_active.to_string(),
                    t.prompts_sent.to_string(),
                    percent(&t.response_rate),
                    percent(&t.quiz_first_try),
                    percent(&t.quiz_retention),
                ];
                row(&cohort.cohort, &cells, "")
            }
            Guarded::Hidden(_) => format!(
                "<tr class=\"hidden\"><td>{}</td><td colspan=\"6\">{}</td></tr>\n",
                escape(&cohort.cohort),
                hidden_reason(lang, report.min_group)
            ),
        })
        .collect();
    format!(
        "<section class=\"overview\">\n<h2>{}</h2>\n{}</section>\n",
        tr(lang, "report.all_cohorts"),
        table("figures", tr(lang, "report.totals_caption"), &header, &rows)
    )
}

fn cohort_section(idx: usize, cohort: &CohortReport, min_group: usize, lang: Lang) -> String {
    let pack = cohort
        .pack_title
        .as_ref()
        .map_or(String::new(), |title| format!(" <span class=\"pack\">· {}</span>", escape(title)));
    let mut out =
        format!("<section class=\"cohort\" id=\"cohort-{idx}\">\n<h2>{}{pack}</h2>\n", escape(&cohort.cohort));
    match &cohort.figures {
        Guarded::Shown(figures) => {
            out.push_str(&cards(figures, lang));
            out.push_str(&charts(idx, figures, min_group, lang));
            out.push_str(&breakdowns(figures, min_group, lang));
        }
        Guarded::Hidden(_) => {
            let _ = writeln!(out, "<p class=\"privacy\">{}</p>", hidden_reason(lang, min_group));
        }
    }
    out.push_str("</section>\n");
    out
}

/// Why a hidden cohort shows no figures, in `lang`; the only reason a group is hidden is its size.
fn hidden_reason(lang: Lang, min_group: usize) -> String {
    fill(lang, "report.hidden", &[("min", &min_group.to_string())])
}

fn cards(figures: &CohortFigures, lang: Lang) -> String {
    let t = &figures.totals;
    let practice = &t.practice;
    let count = |n: u64| n.to_string();
    let cards = [
        (
            tr(lang, "report.card_learners"),
            count(t.learners_enrolled),
            fill(lang, "report.card_learners_sub", &[("active", &count(t.learners_active))]),
        ),
        (tr(lang, "report.card_prompts"), count(t.prompts_sent), tr(lang, "report.card_prompts_sub").to_owned()),
        (
            tr(lang, "report.card_response"),
            percent(&t.response_rate),
            fill(
                lang,
                "report.card_response_sub",
                &[("count", &count(t.response_rate.count)), ("total", &count(t.response_rate.out_of))],
            ),
        ),
        (
            tr(lang, "report.card_time"),
            duration(t.median_seconds_to_answer),
            tr(lang, "report.card_time_sub").to_owned(),
        ),
        (
            tr(lang, "report.col_first_try"),
            percent(&t.quiz_first_try),
            fill(lang, "report.card_first_try_sub", &[("count", &count(t.quiz_first_try.out_of))]),
        ),
        (
            tr(lang, "report.col_retention"),
            percent(&t.quiz_retention),
            match t.predicted_recall {
                Some(predicted) => fill(
                    lang,
                    "report.card_predicted_sub",
                    &[
                        ("count", &count(t.quiz_retention.out_of)),
                        ("predicted", &share(Some(predicted))),
                        ("target", &share(Some(t.target_retention))),
                    ],
                ),
                None => fill(lang, "report.card_retention_sub", &[("count", &count(t.quiz_retention.out_of))]),
            },
        ),
        (
            tr(lang, "report.card_reflections"),
            count(t.reflections_answered),
            tr(lang, "report.card_reflections_sub").to_owned(),
        ),
        (
            tr(lang, "report.card_practice"),
            count(practice.done + practice.partly + practice.not_yet),
            fill(
                lang,
                "report.card_practice_sub",
                &[
                    ("done", &count(practice.done)),
                    ("partly", &count(practice.partly)),
                    ("not_yet", &count(practice.not_yet)),
                ],
            ),
        ),
    ];
    let mut out = String::from("<div class=\"cards\">\n");
    for (label, value, sub) in cards {
        let _ = writeln!(
            out,
            "<div class=\"card\"><span class=\"label\">{label}</span><span class=\"value\">{}</span><span class=\"sub\">{}</span></div>",
            escape(&value),
            escape(&sub)
        );
    }
    out.push_str("</div>\n");
    out
}

fn charts(idx: usize, figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let mut out = String::from("<div class=\"charts\">\n");
    let shown_weeks = figures.weeks.iter().filter(|week| week.figures.shown().is_some()).count();
    if figures.weeks.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", tr(lang, "report_charts.no_activity"));
    } else if shown_weeks >= MIN_WEEKS_FOR_CHART {
        out.push_str(&activity_chart(idx, figures, lang));
        out.push_str(&accuracy_chart(idx, figures, lang));
    } else {
        out.push_str(&weeks_in_words(figures, lang));
    }
    out.push_str(&drop_off_chart(idx, figures, min_group, lang));
    out.push_str("</div>\n");
    if shown_weeks >= MIN_WEEKS_FOR_CHART && shown_weeks < figures.weeks.len() {
        let note = fill(lang, "report_charts.weeks_left_out", &[("min", &min_group.to_string())]);
        let _ = writeln!(out, "<p class=\"note\">{note}</p>");
    }
    out
}

/// With too few weeks for a trend, the weeks' figures as sentences instead of charts.
fn weeks_in_words(figures: &CohortFigures, lang: Lang) -> String {
    let min = MIN_WEEKS_FOR_CHART.to_string();
    let mut out = format!(
        "<div class=\"in-words\">\n<p class=\"note\">{}</p>\n",
        fill(lang, "report_charts.few_weeks", &[("min", &min)])
    );
    for week in &figures.weeks {
        let Some(f) = week.figures.shown() else { continue };
        let rate = &f.response_rate;
        let args = [
            ("week", week.week.as_str()),
            ("active", &f.learners_active.to_string()),
            ("rate", &percent(rate)),
            ("count", &rate.count.to_string()),
            ("out_of", &rate.out_of.to_string()),
        ];
        let _ = writeln!(out, "<p class=\"figure\">{}</p>", fill(lang, "report_charts.week", &args));
    }
    let t = &figures.totals;
    let args = [
        ("first", percent(&t.quiz_first_try)),
        ("first_count", t.quiz_first_try.count.to_string()),
        ("first_out_of", t.quiz_first_try.out_of.to_string()),
        ("review", percent(&t.quiz_retention)),
        ("review_count", t.quiz_retention.count.to_string()),
        ("review_out_of", t.quiz_retention.out_of.to_string()),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let _ = writeln!(out, "<p class=\"figure\">{}</p>\n</div>", fill(lang, "report_charts.quiz", &args));
    out
}

fn activity_chart(idx: usize, figures: &CohortFigures, lang: Lang) -> String {
    let labels: Vec<String> = figures.weeks.iter().map(|week| short_week(&week.week)).collect();
    let shown = figures.weeks.iter().map(|week| week.figures.shown());
    let active_name = tr(lang, "report_charts.series_active");
    let active =
        Series { name: active_name, values: shown.clone().map(|f| f.map(|f| f.learners_active as f64)).collect() };
    let response = Series {
        name: tr(lang, "report_charts.series_response"),
        values: shown.map(|f| f.and_then(|f| f.response_rate.ratio)).collect(),
    };
    let id = format!("activity-{idx}");
    let description = fill_html(lang, "report_charts.activity_description", &[("span", &week_span(figures, lang))]);
    let chart = Chart { id: &id, title: tr(lang, "report_charts.activity_title"), description: &description };
    let axes = (active_name, tr(lang, "report_charts.axis_response"));
    let svg = line_chart(&chart, &labels, axes, &active, &response);
    format!("<figure><figcaption>{}</figcaption>{svg}</figure>\n", tr(lang, "report_charts.activity_caption"))
}

fn accuracy_chart(idx: usize, figures: &CohortFigures, lang: Lang) -> String {
    let shown: Vec<_> =
        figures.weeks.iter().filter_map(|week| Some((short_week(&week.week), week.figures.shown()?))).collect();
    let groups: Vec<String> = shown.iter().map(|(label, _)| label.clone()).collect();
    let first_try = shown.iter().map(|(_, f)| f.quiz_first_try.ratio).collect();
    let review = shown.iter().map(|(_, f)| f.quiz_retention.ratio).collect();
    let predicted = shown.iter().map(|(_, f)| f.predicted_recall).collect();
    let series = [
        Series { name: tr(lang, "report_charts.series_first_try"), values: first_try },
        Series { name: tr(lang, "report_charts.series_review"), values: review },
        Series { name: tr(lang, "report_charts.series_predicted"), values: predicted },
    ];
    let id = format!("accuracy-{idx}");
    let (first, review) = (percent(&figures.totals.quiz_first_try), percent(&figures.totals.quiz_retention));
    let description = fill_html(lang, "report_charts.accuracy_description", &[("first", &first), ("review", &review)]);
    let chart = Chart { id: &id, title: tr(lang, "report_charts.accuracy_title"), description: &description };
    let svg = grouped_bars(&chart, &groups, tr(lang, "report_charts.axis_right"), &series);
    format!("<figure><figcaption>{}</figcaption>{svg}</figure>\n", tr(lang, "report_charts.accuracy_caption"))
}

/// Learners quiet for 7 days by furthest lesson: a chart from [`MIN_LESSONS_FOR_CHART`] lessons
/// on and when anyone stopped, else a sentence.
fn drop_off_chart(idx: usize, figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    if figures.lessons.is_empty() {
        return String::new();
    }
    let total: u64 = figures.lessons.iter().filter_map(|lesson| lesson.figures.shown()).map(|f| f.stopped_here).sum();
    let enrolled = figures.totals.learners_enrolled;
    let shown_lessons = figures.lessons.iter().filter(|lesson| lesson.figures.shown().is_some()).count();
    let counts = [("total", total.to_string()), ("enrolled", enrolled.to_string())];
    let counts: Vec<(&str, &str)> = counts.iter().map(|(name, value)| (*name, value.as_str())).collect();
    if total == 0 || shown_lessons < MIN_LESSONS_FOR_CHART {
        let key = if total == 0 { "report_charts.nobody_stopped" } else { "report_charts.stopped" };
        return format!("<p class=\"figure wide\">{}</p>\n", fill(lang, key, &counts));
    }
    let hidden = fill_html(lang, "report_charts.drop_hidden", &[("min", &min_group.to_string())]);
    let bars: Vec<Bar> = figures
        .lessons
        .iter()
        .map(|lesson| {
            let value = lesson.figures.shown().map(|f| f.stopped_here);
            Bar {
                label: lesson_name(&lesson.title, lesson.retired, lang),
                value: value.map(|count| count as f64),
                text: value.map_or_else(|| hidden.clone(), |count| learners_text(count, lang)),
            }
        })
        .collect();
    let id = format!("drop-off-{idx}");
    let description = fill_html(lang, "report_charts.drop_description", &counts);
    let chart = Chart { id: &id, title: tr(lang, "report_charts.drop_title"), description: &description };
    let svg = horizontal_bars(&chart, &bars, enrolled as f64);
    let caption = fill(lang, "report_charts.drop_caption", &counts);
    format!("<figure class=\"wide\"><figcaption>{caption}</figcaption>{svg}</figure>\n")
}

/// `1 learner`, `3 learners`: the unit next to a bar (not yet escaped: the chart escapes it).
fn learners_text(count: u64, lang: Lang) -> String {
    let key = if count == 1 { "report_charts.learner" } else { "report_charts.learners" };
    fill_html(lang, key, &[("count", &count.to_string())])
}

/// Column headers from `[report_charts]`, by the keys' last part.
fn headers<const N: usize>(lang: Lang, keys: [&str; N]) -> [&'static str; N] {
    keys.map(|key| tr(lang, &format!("report_charts.{key}")))
}

fn breakdowns(figures: &CohortFigures, min_group: usize, lang: Lang) -> String {
    let hidden = hidden_mark(min_group);
    let mut out = String::new();
    let lessons: Vec<String> = figures
        .lessons
        .iter()
        .map(|lesson| {
            let cells = lesson.figures.shown().map(|f| {
                [
                    f.learners_reached.to_string(),
                    percent(&f.quiz_first_try),
                    f.reflections_answered.to_string(),
                    f.stopped_here.to_string(),
                ]
            });
            guarded_row(&lesson_name(&lesson.title, lesson.retired, lang), cells, &hidden)
        })
        .collect();
    let _ = writeln!(out, "<h3>{}</h3>", tr(lang, "report_charts.lessons_heading"));
    out.push_str(&table(
        "figures",
        tr(lang, "report_charts.lessons_caption"),
        &headers(lang, ["col_lesson", "col_learners", "col_first_try", "col_reflections", "col_stopped"]),
        &lessons,
    ));
    let weeks: Vec<String> = figures
        .weeks
        .iter()
        .map(|week| {
            let cells = week.figures.shown().map(|f| {
                [
                    f.learners_active.to_string(),
                    f.prompts_sent.to_string(),
                    percent(&f.response_rate),
                    percent(&f.quiz_first_try),
                    percent(&f.quiz_retention),
                    share(f.predicted_recall),
                ]
            });
            guarded_row(&week.week, cells, &hidden)
        })
        .collect();
    let _ = writeln!(out, "<h3>{}</h3>", tr(lang, "report_charts.weeks_heading"));
    out.push_str(&table(
        "figures",
        tr(lang, "report_charts.weeks_caption"),
        &headers(
            lang,
            [
                "col_week",
                "col_active",
                "col_prompts",
                "col_response",
                "col_first_try",
                "col_retention",
                "col_predicted",
            ],
        ),
        &weeks,
    ));
    let target = share(Some(figures.totals.target_retention));
    let _ =
        writeln!(out, "<p class=\"note\">{}</p>", fill_html(lang, "report_charts.recall_note", &[("target", &target)]));
    out.push_str(&hardest_items(figures, lang));
    out.push_str(&days_active(figures, &hidden, lang));
    out.push_str(&shared_reflections(figures, lang));
    out.push_str(&learners(figures, lang));
    out
}

fn hardest_items(figures: &CohortFigures, lang: Lang) -> String {
    let mut out = format!("<h3>{}</h3>\n", tr(lang, "report_charts.hardest_heading"));
    if figures.hardest_items.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", tr(lang, "report_charts.hardest_none"));
        return out;
    }
    out.push_str("<ol class=\"items\">\n");
    for item in &figures.hardest_items {
        let learners = item.learners.to_string();
        let mut note = vec![fill(
            lang,
            "report_charts.hardest_item",
            &[("rate", &percent(&item.quiz_first_try)), ("learners", &learners)],
        )];
        if item.confidently_wrong.out_of > 0 {
            let (count, rated) = (item.confidently_wrong.count.to_string(), item.confidently_wrong.out_of.to_string());
            note.push(fill(lang, "report_charts.hardest_sure_wrong", &[("count", &count), ("rated", &rated)]));
        }
        let unnamed = item.unnamed_wrong_option.map(|number| option_words(lang, number));
        if let Some(wrong) = unnamed.as_ref().or(item.common_wrong_answer.as_ref()) {
            note.push(fill(lang, "report_charts.hardest_wrong", &[("answer", wrong)]));
        }
        if item.retired {
            note.push(tr(lang, "report_charts.hardest_retired").to_owned());
        }
        let _ = writeln!(
            out,
            "<li><strong>{}</strong><br><span class=\"note\">{}</span></li>",
            escape(&item.question),
            note.join(" · ")
        );
    }
    out.push_str("</ol>\n");
    out
}

fn days_active(figures: &CohortFigures, hidden: &str, lang: Lang) -> String {
    let max =
        figures.days_active.iter().filter_map(|bucket| bucket.learners.shown().copied()).max().unwrap_or(0).max(1);
    let rows: Vec<String> = figures
        .days_active
        .iter()
        .map(|bucket| {
            let cell = bucket.learners.shown().map_or_else(
                || hidden.to_owned(),
                |&count| format!("<span class=\"bar\" style=\"width:{}%\"></span>{count}", count * 60 / max),
            );
            format!("<tr><th scope=\"row\">{}</th><td>{cell}</td></tr>\n", escape(&bucket.label))
        })
        .collect();
    let caption = tr(lang, "report_charts.days_caption");
    format!(
        "<h3>{}</h3>\n{}",
        tr(lang, "report_charts.days_heading"),
        table("distribution", caption, &headers(lang, ["col_days", "col_learners"]), &rows)
    )
}

fn shared_reflections(figures: &CohortFigures, lang: Lang) -> String {
    if figures.shared_reflections.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h3>{}</h3>\n<p class=\"note\">{}</p>\n",
        tr(lang, "report_charts.shared_heading"),
        tr(lang, "report_charts.shared_note")
    );
    for question in &figures.shared_reflections {
        let _ = writeln!(
            out,
            "<h4>{} <span class=\"pack\">· {}</span></h4>",
            escape(&question.question),
            escape(&question.lesson)
        );
        for answer in &question.answers {
            let _ = writeln!(out, "<blockquote>{}</blockquote>", escape(answer));
        }
    }
    out
}

fn learners(figures: &CohortFigures, lang: Lang) -> String {
    let Some(learners) = &figures.learners else { return String::new() };
    let rows: Vec<String> = learners
        .iter()
        .map(|learner| {
            let cells = [
                learner.lessons_reached.to_string(),
                learner.answers.to_string(),
                percent(&learner.quiz_first_try),
                learner.days_active.to_string(),
            ];
            row(&learner.learner, &cells, "")
        })
        .collect();
    let header = headers(lang, ["col_learner", "col_lessons", "col_answers", "col_first_try", "col_days_active"]);
    format!(
        "<h3>{}</h3>\n{}",
        tr(lang, "report_charts.learners_heading"),
        table("figures", tr(lang, "report_charts.learners_caption"), &header, &rows)
    )
}

/// A table with a caption and column headers, in a box that scrolls sideways on its own when the
/// table is wider than a phone; `class` styles it (e.g. `distribution`).
fn table(class: &str, caption: &str, header: &[&str], rows: &[String]) -> String {
    let head: String = header.iter().map(|cell| format!("<th scope=\"col\">{}</th>", escape(cell))).collect();
    let body = if rows.is_empty() {
        format!("<tr><td colspan=\"{}\">{NO_DATA}</td></tr>\n", header.len())
    } else {
        rows.concat()
    };
    format!(
        "<div class=\"scroll\"><table class=\"{class}\">\n<caption>{}</caption>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table></div>\n",
        escape(caption)
    )
}

fn row(first: &str, cells: &[String], class: &str) -> String {
    let cells: String = cells.iter().map(|cell| format!("<td>{}</td>", escape(cell))).collect();
    let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
    format!("<tr{class}><th scope=\"row\">{}</th>{cells}</tr>\n", escape(first))
}

/// A row of figures, or the row with `<5` when its group is too small.
fn guarded_row<const N: usize>(first: &str, cells: Option<[String; N]>, hidden: &str) -> String {
    match cells {
        Some(cells) => row(first, &cells, ""),
        None => {
            let mut blanks = vec![String::new(); N];
            blanks[0] = hidden.to_owned();
            row(first, &blanks, "hidden")
        }
    }
}

/// The lesson's title, marked when it left the pack (not yet escaped).
fn lesson_name(title: &str, retired: bool, lang: Lang) -> String {
    if retired { fill_html(lang, "report_charts.retired_lesson", &[("title", title)]) } else { title.to_owned() }
}

/// `2026-W48` → `W48`: the year is in the tables and the chart's description.
fn short_week(label: &str) -> String {
    label.split_once('-').map_or(label, |(_, week)| week).to_owned()
}

/// `2026-W45 to 2026-W48` (not yet escaped).
fn week_span(figures: &CohortFigures, lang: Lang) -> String {
    match (figures.weeks.first(), figures.weeks.last()) {
        (Some(first), Some(last)) if first.week != last.week => {
            fill_html(lang, "report_charts.week_span", &[("first", &first.week), ("last", &last.week)])
        }
        (Some(only), _) => only.week.clone(),
        _ => tr(lang, "report_charts.no_weeks").to_owned(),
    }
}
