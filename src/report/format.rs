//! The report as a readable table or as JSON (same figures).

use super::Report;

/// A plain-text table, one row per cohort.
pub fn table(report: &Report) -> String {
    let header = ["cohort", "learners", "prompts sent", "quiz answers", "correct", "reflections"];
    let rows: Vec<[String; 6]> = report
        .cohorts
        .iter()
        .map(|c| {
            [
                c.cohort.clone(),
                c.learners_enrolled.to_string(),
                c.prompts_sent.to_string(),
                c.quiz_answers.to_string(),
                c.quiz_correct_share.map_or("–".to_owned(), |share| format!("{:.0} %", share * 100.0)),
                c.reflections_answered.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(idx, (cell, width))| {
                let pad = " ".repeat(width - cell.chars().count());
                if idx == 0 { format!("{cell}{pad}") } else { format!("{pad}{cell}") }
            })
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(&header.map(str::to_owned), &mut out);
    line(&widths.map(|w| "-".repeat(w)), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    if rows.is_empty() {
        out.push_str("(no cohorts configured)\n");
    }
    out
}

/// The same figures as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned())
}
