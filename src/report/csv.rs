//! The report as one tidy CSV table (`cohort,section,key,metric,value`), RFC 4180 with CRLF line
//! ends, ready for a spreadsheet's pivot table.
//!
//! Ratios are written as decimals (0.8333) next to their counts; hidden groups as `<5`. Texts
//! from content and learners are quoted when needed and defused when a spreadsheet would run
//! them as a formula.

use super::format::hidden_mark;
use super::{CohortFigures, Guarded, Rate, Report};

/// The first three fields shared by the rows of one cohort's section entry.
struct Line<'a> {
    /// Cohort id.
    cohort: &'a str,
    /// `totals`, `lesson`, `week`, …
    section: &'a str,
    /// The row within the section: lesson id, week label, item id, bucket, pseudonym.
    key: String,
}

/// The figures as `cohort,section,key,metric,value` rows.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("cohort,section,key,metric,value\r\n");
    for cohort in &report.cohorts {
        let totals = Line { cohort: &cohort.cohort, section: "totals", key: String::new() };
        match &cohort.figures {
            Guarded::Shown(figures) => cohort_rows(&mut out, &cohort.cohort, figures, report.min_group),
            Guarded::Hidden(marker) => totals.push(&mut out, "suppressed", &marker.reason),
        }
    }
    out
}

fn cohort_rows(out: &mut String, cohort: &str, figures: &CohortFigures, min_group: usize) {
    let hidden = hidden_mark(min_group);
    let totals = Line { cohort, section: "totals", key: String::new() };
    let t = &figures.totals;
    totals.count(out, "learners_enrolled", t.learners_enrolled);
    totals.count(out, "learners_active", t.learners_active);
    totals.count(out, "prompts_sent", t.prompts_sent);
    totals.rate(out, "response_rate", &t.response_rate);
    totals.push(out, "median_seconds_to_answer", &t.median_seconds_to_answer.map_or(String::new(), |s| s.to_string()));
    totals.rate(out, "quiz_first_try", &t.quiz_first_try);
    totals.rate(out, "quiz_retention", &t.quiz_retention);
    totals.count(out, "reflections_answered", t.reflections_answered);
    totals.count(out, "practice_done", t.practice.done);
    totals.count(out, "practice_partly", t.practice.partly);
    totals.count(out, "practice_not_yet", t.practice.not_yet);
    for lesson in &figures.lessons {
        let row = Line { cohort, section: "lesson", key: lesson.lesson_id.clone() };
        row.push(out, "title", &lesson.title);
        row.push(out, "retired", &lesson.retired.to_string());
        match &lesson.figures {
            Guarded::Shown(f) => {
                row.count(out, "learners_reached", f.learners_reached);
                row.rate(out, "quiz_first_try", &f.quiz_first_try);
                row.count(out, "reflections_answered", f.reflections_answered);
                row.count(out, "stopped_here", f.stopped_here);
            }
            Guarded::Hidden(_) => row.push(out, "learners", &hidden),
        }
    }
    for week in &figures.weeks {
        let row = Line { cohort, section: "week", key: week.week.clone() };
        row.push(out, "starts", &week.starts.to_string());
        match &week.figures {
            Guarded::Shown(f) => {
                row.count(out, "learners_active", f.learners_active);
                row.count(out, "prompts_sent", f.prompts_sent);
                row.rate(out, "response_rate", &f.response_rate);
                row.rate(out, "quiz_first_try", &f.quiz_first_try);
                row.rate(out, "quiz_retention", &f.quiz_retention);
            }
            Guarded::Hidden(_) => row.push(out, "learners", &hidden),
        }
    }
    for item in &figures.hardest_items {
        let row = Line { cohort, section: "hardest_item", key: item.item_id.clone() };
        row.push(out, "question", &item.question);
        row.push(out, "retired", &item.retired.to_string());
        row.count(out, "learners", item.learners);
        row.rate(out, "quiz_first_try", &item.quiz_first_try);
        row.push(out, "common_wrong_answer", item.common_wrong_answer.as_deref().unwrap_or(""));
    }
    for bucket in &figures.days_active {
        let row = Line { cohort, section: "days_active", key: bucket.label.clone() };
        row.push(out, "learners", &bucket.learners.shown().map_or_else(|| hidden.clone(), u64::to_string));
    }
    for question in &figures.shared_reflections {
        let row = Line {
            cohort,
            section: "shared_reflection",
            key: format!("{}#{}", question.item_id, question.question_index + 1),
        };
        row.push(out, "lesson", &question.lesson);
        row.push(out, "question", &question.question);
        question.answers.iter().for_each(|answer| row.push(out, "answer", answer));
    }
    for learner in figures.learners.iter().flatten() {
        let row = Line { cohort, section: "learner", key: learner.learner.clone() };
        row.count(out, "lessons_reached", learner.lessons_reached);
        row.count(out, "answers", learner.answers);
        row.rate(out, "quiz_first_try", &learner.quiz_first_try);
        row.count(out, "days_active", learner.days_active);
    }
}

impl Line<'_> {
    fn push(&self, out: &mut String, metric: &str, value: &str) {
        let fields = [self.cohort, self.section, &self.key, metric, value];
        let quoted: Vec<String> = fields.iter().map(|field| field_text(field)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }

    fn count(&self, out: &mut String, metric: &str, value: u64) {
        self.push(out, metric, &value.to_string());
    }

    /// The ratio, then the counts it comes from (`<metric>_count`, `<metric>_out_of`).
    fn rate(&self, out: &mut String, metric: &str, rate: &Rate) {
        self.push(out, metric, &rate.ratio.map_or(String::new(), |ratio| format!("{ratio:.4}")));
        self.count(out, &format!("{metric}_count"), rate.count);
        self.count(out, &format!("{metric}_out_of"), rate.out_of);
    }
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
