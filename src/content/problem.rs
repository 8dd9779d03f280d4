//! Problems found in content: position, severity and a message that says what to do.
//!
//! Rendered like a compiler diagnostic (`path:line:col: error: text`, the source line and a
//! caret) or as JSON for editors and CI.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How bad a problem is: errors stop a pack from being used, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pack cannot be used until this is fixed.
    Error,
    /// Works, but learners would be better served if fixed.
    Warning,
}

/// One problem at one place in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, as given to the checker.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong and what to do.
    pub message: String,
    /// The source line the position points into, for the caret display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Problem {
    /// An error at `line:col` of `path`.
    pub(crate) fn error(path: &Path, line: usize, col: usize, message: impl Into<String>) -> Self {
        Self::new(path, line, col, Severity::Error, message.into())
    }

    /// A warning at `line:col` of `path`.
    pub(crate) fn warning(path: &Path, line: usize, col: usize, message: impl Into<String>) -> Self {
        Self::new(path, line, col, Severity::Warning, message.into())
    }

    fn new(path: &Path, line: usize, col: usize, severity: Severity, message: String) -> Self {
        Self { path: path.to_owned(), line: line.max(1), col: col.max(1), severity, message, source_line: None }
    }

    /// Attaches the source line from `text`, so the problem can show it with a caret.
    pub(crate) fn with_source(mut self, text: &str) -> Self {
        self.source_line = text.lines().nth(self.line - 1).map(str::to_owned);
        self
    }

    /// True for errors.
    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The one-line form: `path:line:col: error: message`.
    pub fn headline(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!("{}:{}:{}: {severity}: {}", self.path.display(), self.line, self.col, self.message)
    }
}

impl fmt::Display for Problem {
    /// The headline, then the source line and a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        if let Some(source) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let chars: Vec<char> = source.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
            let (shown, caret) = snippet(&chars, self.col - 1);
            writeln!(f, "{pad} |")?;
            writeln!(f, "{gutter} | {shown}")?;
            writeln!(f, "{pad} | {}^", " ".repeat(caret))?;
        }
        Ok(())
    }
}

/// The most characters of a source line shown under a problem: one line of a terminal.
pub(crate) const SNIPPET_CHARS: usize = 72;

/// The part of a source line to show, cut to [`SNIPPET_CHARS`] around the caret with `…` where
/// it was cut, and the caret's position in it (0-based).
fn snippet(chars: &[char], caret: usize) -> (String, usize) {
    if chars.len() <= SNIPPET_CHARS {
        return (chars.iter().collect(), caret);
    }
    let width = SNIPPET_CHARS - 2;
    let caret = caret.min(chars.len());
    let start = if caret < width * 2 / 3 { 0 } else { (caret - width / 3).min(chars.len() - width) };
    let end = (start + width).min(chars.len());
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret - start + usize::from(start > 0))
}

/// Counts for the closing summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of lesson files looked at.
    pub lessons: usize,
}

impl Summary {
    /// Counts `problems` over `lessons` lesson files.
    pub(crate) fn of(problems: &[Problem], lessons: usize) -> Self {
        let errors = problems.iter().filter(|p| p.is_error()).count();
        Self { errors, warnings: problems.len() - errors, lessons }
    }
}

impl fmt::Display for Summary {
    /// `2 errors, 1 warning in 14 lessons`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {} in {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.lessons, "lesson")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_headline_source_and_caret() {
        let problem = Problem::error(Path::new("a.md"), 2, 3, "bad thing").with_source("x\n- [y] z\n");
        assert_eq!(problem.to_string(), "a.md:2:3: error: bad thing\n  |\n2 | - [y] z\n  |   ^\n");
    }

    #[test]
    fn a_long_line_is_cut_to_one_screen_line_around_the_caret() {
        let line = format!("{}y{}", "x".repeat(2999), "z".repeat(2000));
        let problem = Problem::error(Path::new("a.md"), 1, 3000, "here").with_source(&line);
        let shown = format!("…{}y{}…", "x".repeat(23), "z".repeat(46));
        assert_eq!(
            problem.to_string(),
            format!("a.md:1:3000: error: here\n  |\n1 | {shown}\n  | {}^\n", " ".repeat(24))
        );
        let start = Problem::error(Path::new("a.md"), 1, 2, "here").with_source(&line);
        assert_eq!(start.to_string(), format!("a.md:1:2: error: here\n  |\n1 | {}…\n  |  ^\n", "x".repeat(70)));
        let end = Problem::error(Path::new("a.md"), 1, 5000, "here").with_source(&line);
        assert_eq!(
            end.to_string(),
            format!("a.md:1:5000: error: here\n  |\n1 | …{}\n  | {}^\n", "z".repeat(70), " ".repeat(70))
        );
    }

    #[test]
    fn summary_reads_like_a_sentence() {
        let problems = vec![
            Problem::error(Path::new("a"), 1, 1, "x"),
            Problem::error(Path::new("a"), 1, 1, "y"),
            Problem::warning(Path::new("a"), 1, 1, "z"),
        ];
        assert_eq!(Summary::of(&problems, 14).to_string(), "2 errors, 1 warning in 14 lessons");
        assert_eq!(Summary::of(&[], 1).to_string(), "0 errors, 0 warnings in 1 lesson");
    }
}
