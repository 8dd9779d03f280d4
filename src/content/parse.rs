//! The lesson parser: one markdown file in, a [`Lesson`] and every problem found out.
//!
//! Line-based for the block structure (front matter, `##` sections, options, explanations,
//! numbered questions) so every problem gets an exact position; inline markdown goes through
//! [`Rich::from_markdown`]. The parser never panics and never stops at the first problem.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::markup::Rich;
use super::problem::Problem;
use super::toml_error::plain_message;
use super::{
    Item, ItemKind, Lesson, LessonPlaces, MAX_BODY_CHARS, MAX_OPTION_CHARS, Practice, Quiz, Reflect, TeamQuestion,
};
use crate::domain::ItemId;
use crate::text::is_slug;
use crate::text::line_col;

/// What a lesson inherits from its file name and pack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LessonDefaults<'a> {
    /// The file name without `.md`, for the default lesson id.
    pub file_stem: &'a str,
    /// Days before a practice follow-up when the section does not say.
    pub follow_up_days: u32,
}

/// Parses one lesson file. Returns the lesson when it could be built (even with warnings or
/// some errors) and every problem, in file order.
pub(crate) fn parse_lesson(path: &Path, text: &str, defaults: LessonDefaults<'_>) -> (Option<Lesson>, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser =
        LessonParser { path, text, lines: split_lines(text), problems: Vec::new(), front_matter_failed: false };
    let lesson = parser.lesson(defaults);
    let mut problems = parser.problems;
    for problem in &mut problems {
        *problem = problem.clone().with_source(text);
    }
    problems.sort_by_key(|p| (p.line, p.col));
    (lesson, problems)
}

/// One line of the file with its 1-based number and byte offset.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    no: usize,
    text: &'a str,
    offset: usize,
}

impl Line<'_> {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// 1-based column of byte `at` within the line.
    fn col(&self, at: usize) -> usize {
        self.text[..at.min(self.text.len())].chars().count() + 1
    }

    /// Column of the first non-blank character.
    fn indent_col(&self) -> usize {
        self.col(self.text.len() - self.text.trim_start().len())
    }
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (idx, raw) in text.split('\n').enumerate() {
        lines.push(Line { no: idx + 1, text: raw.strip_suffix('\r').unwrap_or(raw), offset });
        offset += raw.len() + 1;
    }
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
}

/// The kinds of `##` section and the words that introduce them, in any supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Quiz,
    Reflect,
    Practice,
    /// Not an item: a stand-up question for the whole team, which the leads' digest carries.
    Team,
}

/// How many section kinds there are (for per-kind counts).
const N_SECTION_KINDS: usize = 4;

/// Longest `## Team` text, in characters: the digest carries it whole.
const MAX_TEAM_CHARS: usize = 600;

const SECTION_WORDS: &[(&str, SectionKind)] = &[
    ("quiz", SectionKind::Quiz),
    ("reflect", SectionKind::Reflect),
    ("reflectie", SectionKind::Reflect),
    ("refleksion", SectionKind::Reflect),
    ("practice", SectionKind::Practice),
    ("opdracht", SectionKind::Practice),
    ("opgave", SectionKind::Practice),
    ("team", SectionKind::Team),
];

impl SectionKind {
    fn local_name(self) -> &'static str {
        match self {
            Self::Quiz => "quiz",
            Self::Reflect => "reflect",
            Self::Practice => "practice",
            Self::Team => "team",
        }
    }
}

/// A parsed `## Kind {#id days=N}` heading.
struct SectionHead {
    kind: SectionKind,
    explicit_id: Option<String>,
    /// Column of the `#id` attribute (1 without one), where a duplicate id is reported.
    id_col: usize,
    days: Option<u32>,
    line: usize,
}

struct LessonParser<'a> {
    path: &'a Path,
    text: &'a str,
    lines: Vec<Line<'a>>,
    problems: Vec<Problem>,
    /// The front matter did not parse (its error already says so; no follow-on errors).
    front_matter_failed: bool,
}

impl<'a> LessonParser<'a> {
    fn error(&mut self, line: usize, col: usize, message: impl Into<String>) {
        self.problems.push(Problem::error(self.path, line, col, message));
    }

    fn warning(&mut self, line: usize, col: usize, message: impl Into<String>) {
        self.problems.push(Problem::warning(self.path, line, col, message));
    }

    fn lesson(&mut self, defaults: LessonDefaults<'_>) -> Option<Lesson> {
        let (front, body_start) = self.front_matter();
        let sections_start = self.first_section(body_start);
        let body_lines: Vec<Line<'a>> = self.lines[body_start..sections_start].to_vec();
        let title_line = front.title.as_ref().map_or(1, |title| line_col(self.text, title.span().start).0);
        let body_line = body_lines.iter().find(|line| !line.is_blank()).map_or(title_line, |line| line.no);
        let id_place = front.id.as_ref().map_or((1, 1), |id| line_col(self.text, id.span().start));
        let body = self.body(&body_lines);
        self.lint_lines(body_start);
        let lesson_id = self.lesson_id(&front, defaults.file_stem);
        let (items, team) = self.sections(sections_start, lesson_id.as_deref().unwrap_or("lesson"), defaults);
        let title = match front.title {
            Some(title) if !title.get_ref().trim().is_empty() => title.into_inner().trim().to_owned(),
            Some(title) => {
                let (line, col) = line_col(self.text, title.span().start);
                self.error(line, col, "the title is empty: write the lesson's title between the quotes");
                return None;
            }
            None => {
                if body_start > 0 && !self.front_matter_failed {
                    self.error(
                        1,
                        1,
                        "the front matter has no `title`: add a line `title = \"…\"` between the `+++` lines",
                    );
                }
                return None;
            }
        };
        let places = LessonPlaces { id: id_place, body: body_line };
        Some(Lesson { id: lesson_id?, title, body, items, team, path: self.path.to_owned(), places })
    }

    /// Parses the `+++` block; returns it and the index of the first line after it.
    fn front_matter(&mut self) -> (FrontMatter, usize) {
        let opens = self.lines.first().is_some_and(|line| line.text.trim_end() == "+++");
        if !opens {
            self.error(
                1,
                1,
                "no `+++` front matter at the top of the lesson: start the file with a line `+++`, then `title = \"…\"`, then `+++`",
            );
            return (FrontMatter::default(), 0);
        }
        let Some(close) = (1..self.lines.len()).find(|&idx| self.lines[idx].text.trim_end() == "+++") else {
            self.front_matter_failed = true;
            self.error(1, 1, "the front matter opened here is never closed: add a line `+++` after the title");
            return (FrontMatter::default(), self.lines.len());
        };
        let start = self.lines.get(1).map_or(self.text.len(), |line| line.offset);
        let end = self.lines[close].offset;
        let toml_text = &self.text[start.min(end)..end];
        match toml::from_str::<FrontMatter>(toml_text) {
            Ok(front) => (self.shift_spans(front, start), close + 1),
            Err(error) => {
                self.front_matter_failed = true;
                let at = start + error.span().map_or(0, |span| span.start);
                let (line, col) = line_col(self.text, at);
                let message = format!("front matter: {}", plain_message(&error, toml_text));
                self.error(line, col, message);
                (FrontMatter::default(), close + 1)
            }
        }
    }

    /// Moves spans from the front-matter text into file offsets.
    fn shift_spans(&self, front: FrontMatter, by: usize) -> FrontMatter {
        let shift = |value: Spanned<String>| {
            let span = value.span();
            Spanned::new(span.start + by..span.end + by, value.into_inner())
        };
        FrontMatter { id: front.id.map(shift), title: front.title.map(shift) }
    }

    fn lesson_id(&mut self, front: &FrontMatter, file_stem: &str) -> Option<String> {
        if let Some(id) = &front.id {
            if is_slug(id.get_ref()) {
                return Some(id.get_ref().clone());
            }
            let (line, col) = line_col(self.text, id.span().start);
            self.error(line, col, "the `id` may only hold lowercase letters, digits and dashes, e.g. `what-for`");
            return None;
        }
        let derived = derive_lesson_id(file_stem);
        if is_slug(&derived) {
            return Some(derived);
        }
        self.error(
            1,
            1,
            format!("cannot make a lesson id from the file name `{file_stem}`: add `id = \"…\"` (lowercase letters, digits, dashes) to the front matter"),
        );
        None
    }

    /// Warns about markdown that silently does something else than the author meant: a heading
    /// without a space after its `#` marks (shown as text, so a `##Quiz` is lost), and a link
    /// Telegram cannot open (shown as plain text).
    fn lint_lines(&mut self, from: usize) {
        let mut in_fence = false;
        let mut found = Vec::new();
        for line in &self.lines[from..] {
            if is_fence(line.text) {
                in_fence = !in_fence;
            }
            if in_fence {
                continue;
            }
            if let Some(heading) = heading_without_space(line.text) {
                found.push((line.no, 1, format!("`{heading}` is not a heading: put a space after the `#` marks")));
            }
            for (col, url) in link_targets(line.text) {
                if !crate::content::markup::is_safe_url(url) {
                    let why = "learners would see the text without a link: start it with `https://`, `http://`, `mailto:` or `tg://`";
                    found.push((line.no, col, format!("the link `{url}` cannot be opened in Telegram; {why}")));
                }
            }
        }
        for (line, col, message) in found {
            self.warning(line, col, message);
        }
    }

    fn first_section(&self, from: usize) -> usize {
        let mut in_fence = false;
        for idx in from..self.lines.len() {
            let text = self.lines[idx].text;
            if is_fence(text) {
                in_fence = !in_fence;
            }
            if !in_fence && section_heading_text(text).is_some() {
                return idx;
            }
        }
        self.lines.len()
    }

    fn body(&mut self, lines: &[Line<'a>]) -> Rich {
        let body = Rich::from_markdown(&join(lines));
        let n_chars = body.plain.chars().count();
        if n_chars > MAX_BODY_CHARS {
            let line = lines.iter().find(|line| !line.is_blank()).map_or(1, |line| line.no);
            self.warning(
                line,
                1,
                format!("the lesson text is {n_chars} characters; keep it under {MAX_BODY_CHARS} so it stays bite-sized (split it into two lessons)"),
            );
        }
        body
    }

    fn sections(
        &mut self,
        mut idx: usize,
        lesson_id: &str,
        defaults: LessonDefaults<'_>,
    ) -> (Vec<Item>, Option<TeamQuestion>) {
        let mut items = Vec::new();
        let mut team = None;
        let mut counts = [0usize; N_SECTION_KINDS];
        let mut first_lines = [0usize; N_SECTION_KINDS];
        let mut local_ids: Vec<(String, usize)> = Vec::new();
        while idx < self.lines.len() {
            let heading = self.lines[idx];
            let end = self.next_section(idx + 1);
            let content: Vec<Line<'a>> = self.lines[idx + 1..end].to_vec();
            if let Some(head) = self.heading(heading) {
                let count = &mut counts[head.kind as usize];
                *count += 1;
                if *count == 1 {
                    first_lines[head.kind as usize] = head.line;
                } else if head.kind != SectionKind::Quiz {
                    let first = first_lines[head.kind as usize];
                    let message = match head.kind {
                        SectionKind::Team => format!(
                            "a lesson has at most one `## Team` section (the first is on line {first}): the team gets one stand-up question per lesson, so move this one to another lesson"
                        ),
                        _ => {
                            let name = if head.kind == SectionKind::Reflect { "Reflect" } else { "Practice" };
                            format!(
                                "a lesson has at most one `## {name}` section (the first is on line {first}): move this one to another lesson, or make it a follow-up question of the first"
                            )
                        }
                    };
                    self.error(head.line, 1, message);
                }
                if head.kind == SectionKind::Team {
                    if let Some(question) = self.team(heading, &content) {
                        team = team.or(Some(question));
                    }
                    idx = end;
                    continue;
                }
                let local = match &head.explicit_id {
                    Some(id) => id.clone(),
                    None if *count == 1 => head.kind.local_name().to_owned(),
                    None => format!("{}-{count}", head.kind.local_name()),
                };
                if let Some((_, first)) = local_ids.iter().find(|(id, _)| *id == local) {
                    let message =
                        format!("the id `{local}` is also used on line {first}: give each item in a lesson its own id");
                    self.error(head.line, head.id_col, message);
                }
                local_ids.push((local.clone(), head.line));
                let section = self.section(&head, heading, &content, defaults);
                if let (Some(kind), Some(id)) = (section, ItemId::new(lesson_id, &local)) {
                    items.push(Item { id, kind, line: head.line });
                }
            }
            idx = end;
        }
        (items, team)
    }

    /// The `## Team` section: a stand-up question or exercise for the whole team, in markdown.
    fn team(&mut self, heading: Line<'a>, content: &[Line<'a>]) -> Option<TeamQuestion> {
        if content.iter().all(Line::is_blank) {
            self.error(
                heading.no,
                1,
                "empty section `## Team`: write the team's stand-up question under the heading, or remove it",
            );
            return None;
        }
        let text = Rich::from_markdown(&join(content));
        let n_chars = text.plain.chars().count();
        if n_chars > MAX_TEAM_CHARS {
            self.warning(
                heading.no,
                1,
                format!("the `## Team` text is {n_chars} characters; keep it under {MAX_TEAM_CHARS}: the leads' digest carries it whole, and a stand-up question is short"),
            );
        }
        Some(TeamQuestion { text, line: heading.no })
    }

    fn next_section(&self, from: usize) -> usize {
        let mut in_fence = false;
        for idx in from..self.lines.len() {
            if is_fence(self.lines[idx].text) {
                in_fence = !in_fence;
            }
            if !in_fence && section_heading_text(self.lines[idx].text).is_some() {
                return idx;
            }
        }
        self.lines.len()
    }

    fn heading(&mut self, line: Line<'a>) -> Option<SectionHead> {
        let rest = section_heading_text(line.text)?;
        let rest_at = line.text.len() - rest.len();
        let (name, attrs) = match (rest.rfind('{'), rest.trim_end().ends_with('}')) {
            (Some(open), true) => (&rest[..open], Some((open, rest.trim_end()))),
            _ => (rest, None),
        };
        let word = name.trim().to_lowercase();
        let Some(&(_, kind)) = SECTION_WORDS.iter().find(|(known, _)| *known == word) else {
            self.error(
                line.no,
                line.col(rest_at),
                format!(
                    "unknown section `## {}`: use `## Quiz`, `## Reflect`, `## Practice` or `## Team`, or make it part of the lesson text (e.g. `### {}`)",
                    name.trim(),
                    name.trim()
                ),
            );
            return None;
        };
        let mut head = SectionHead { kind, explicit_id: None, id_col: 1, days: None, line: line.no };
        if let Some((open, trimmed)) = attrs {
            let inner_at = rest_at + open + 1;
            self.attributes(line, &trimmed[open + 1..trimmed.len() - 1], inner_at, &mut head);
        }
        Some(head)
    }

    fn attributes(&mut self, line: Line<'a>, inner: &str, inner_at: usize, head: &mut SectionHead) {
        if head.kind == SectionKind::Team && !inner.trim().is_empty() {
            let message = "`## Team` takes no `{…}`: a lesson has one team question, named by the lesson's id";
            self.error(line.no, line.col(inner_at), message);
            return;
        }
        let mut at = inner_at;
        for token in inner.split(' ') {
            let col = line.col(at);
            at += token.len() + 1;
            if token.is_empty() {
                continue;
            }
            if let Some(id) = token.strip_prefix('#') {
                if is_slug(id) {
                    head.explicit_id = Some(id.to_owned());
                    head.id_col = col;
                } else {
                    self.error(
                        line.no,
                        col,
                        format!("the id `{id}` may only hold lowercase letters, digits and dashes"),
                    );
                }
            } else if let Some(value) = token.strip_prefix("days=") {
                match value.parse::<u32>() {
                    Ok(days) if (1..=90).contains(&days) && head.kind == SectionKind::Practice => {
                        head.days = Some(days)
                    }
                    Ok(_) if head.kind != SectionKind::Practice => {
                        self.error(line.no, col, "`days=` only applies to a Practice section");
                    }
                    _ => self.error(line.no, col, format!("`days={value}`: give a whole number of days from 1 to 90")),
                }
            } else {
                self.error(
                    line.no,
                    col,
                    format!("unknown attribute `{token}`: use `{{#id}}` for an id or `{{days=N}}` on a Practice"),
                );
            }
        }
    }

    fn section(
        &mut self,
        head: &SectionHead,
        heading: Line<'a>,
        content: &[Line<'a>],
        defaults: LessonDefaults<'_>,
    ) -> Option<ItemKind> {
        if content.iter().all(Line::is_blank) {
            let name = heading.text.trim_start().trim_start_matches('#').trim();
            self.error(
                heading.no,
                1,
                format!("empty section `## {name}`: write its content under the heading, or remove it"),
            );
            return None;
        }
        match head.kind {
            SectionKind::Quiz => self.quiz(heading, content).map(ItemKind::Quiz),
            SectionKind::Reflect => self.reflect(content).map(ItemKind::Reflect),
            SectionKind::Practice => Some(ItemKind::Practice(Practice {
                task: Rich::from_markdown(&join(content)),
                follow_up_days: head.days.unwrap_or(defaults.follow_up_days),
            })),
            SectionKind::Team => None,
        }
    }

    fn quiz(&mut self, heading: Line<'a>, content: &[Line<'a>]) -> Option<Quiz> {
        let mut question: Vec<Line<'a>> = Vec::new();
        let mut options: Vec<(Line<'a>, usize, bool)> = Vec::new();
        let mut explanation: Vec<Line<'a>> = Vec::new();
        let mut unchecked_items = 0;
        let mut explanation_first = false;
        for line in content.iter().copied().filter(|line| !line.is_blank()) {
            if let Some((checked, text_at)) = task_item(line.text) {
                if !explanation.is_empty() && !explanation_first {
                    self.error(
                        line.no,
                        line.indent_col(),
                        "an option after the explanation: move the `>` explanation below the last option",
                    );
                }
                options.push((line, text_at, checked));
            } else if let Some(quoted) = quote_line(line.text) {
                if options.is_empty() && !explanation_first {
                    explanation_first = true;
                    self.error(
                        line.no,
                        line.indent_col(),
                        "the explanation comes before the options: put the `- [ ]` options first",
                    );
                }
                explanation.push(Line { text: quoted, ..line });
            } else if plain_list_item(line.text) {
                unchecked_items += 1;
                self.error(
                    line.no,
                    line.indent_col(),
                    "an option without a checkbox: write `- [ ] …` for a wrong option or `- [x] …` for the right one",
                );
            } else if options.is_empty() && explanation.is_empty() {
                question.push(line);
            } else {
                self.error(
                    line.no,
                    line.indent_col(),
                    "text after the options: start an explanation with `>`, or move the text above the options",
                );
            }
        }
        self.quiz_from_parts(heading, &question, &options, &explanation, unchecked_items)
    }

    fn quiz_from_parts(
        &mut self,
        heading: Line<'a>,
        question: &[Line<'a>],
        options: &[(Line<'a>, usize, bool)],
        explanation: &[Line<'a>],
        unchecked_items: usize,
    ) -> Option<Quiz> {
        let mut ok = unchecked_items == 0;
        if question.is_empty() {
            self.error(heading.no, 1, "the quiz has no question: write it on the lines above the options");
            ok = false;
        }
        let n_options = options.len();
        if !(2..=6).contains(&(n_options + unchecked_items)) {
            let plural = if n_options == 1 { "" } else { "s" };
            self.error(heading.no, 1, format!("the quiz has {n_options} option{plural}: give it 2 to 6 options"));
            ok = false;
        }
        let right: Vec<usize> = (0..n_options).filter(|&idx| options[idx].2).collect();
        match right.as_slice() {
            [] if n_options > 0 => {
                self.error(
                    options[0].0.no,
                    options[0].0.indent_col(),
                    "no option is marked right: mark the right one with `- [x]`",
                );
                ok = false;
            }
            [_, extra, ..] => {
                let line = options[*extra].0;
                self.error(
                    line.no,
                    line.indent_col(),
                    "more than one option is marked right: a quiz has exactly one `- [x]`",
                );
                ok = false;
            }
            _ => {}
        }
        let mut labels = Vec::with_capacity(n_options);
        for (line, text_at, _) in options {
            let label = Rich::from_markdown(line.text[*text_at..].trim()).plain;
            let n_chars = label.chars().count();
            if label.trim().is_empty() {
                self.error(line.no, line.col(*text_at), "an empty option: write its text after the checkbox");
                ok = false;
            } else if n_chars > MAX_OPTION_CHARS {
                self.error(
                    line.no,
                    line.col(*text_at),
                    format!(
                        "this option is {n_chars} characters; a button shows at most {MAX_OPTION_CHARS}: shorten it"
                    ),
                );
                ok = false;
            }
            labels.push(label);
        }
        if explanation.is_empty() && ok {
            self.warning(
                heading.no,
                1,
                "the quiz has no explanation: add a `> …` line after the options saying why the right answer is right",
            );
        }
        ok.then(|| Quiz {
            question: Rich::from_markdown(&join(question)),
            options: labels,
            correct: right.first().copied().unwrap_or(0),
            explanation: (!explanation.is_empty()).then(|| Rich::from_markdown(&join(explanation))),
        })
    }

    fn reflect(&mut self, content: &[Line<'a>]) -> Option<Reflect> {
        let mut intro: Vec<Line<'a>> = Vec::new();
        let mut questions: Vec<Vec<Line<'a>>> = Vec::new();
        let mut after_blank = false;
        for line in content.iter().copied() {
            if line.is_blank() {
                after_blank = true;
                if questions.is_empty() {
                    intro.push(line);
                }
                continue;
            }
            if let Some(text_at) = numbered_item(line.text) {
                questions.push(vec![Line { text: &line.text[text_at..], ..line }]);
            } else if let Some(current) = questions.last_mut() {
                let indented = line.text.starts_with(' ') || line.text.starts_with('\t');
                if indented || !after_blank {
                    current.push(line);
                } else {
                    self.error(line.no, line.indent_col(), "text after the numbered questions: make it part of a question (indent it) or move it above the list");
                }
            } else {
                intro.push(line);
            }
            after_blank = false;
        }
        if questions.is_empty() {
            return Some(Reflect { intro: None, questions: vec![Rich::from_markdown(&join(&intro))] });
        }
        let intro = Rich::from_markdown(&join(&intro));
        Some(Reflect {
            intro: (!intro.is_empty()).then_some(intro),
            questions: questions.iter().map(|lines| Rich::from_markdown(&join(lines))).collect(),
        })
    }
}

/// `01-what-for` → `what-for`: the default lesson id.
fn derive_lesson_id(file_stem: &str) -> String {
    let trimmed = file_stem.trim_start_matches(|c: char| c.is_ascii_digit());
    let trimmed = trimmed.trim_start_matches(['-', '_', '.', ' ']);
    let base = if trimmed.is_empty() { file_stem } else { trimmed };
    base.to_lowercase().replace(['_', ' '], "-")
}

/// The text after `## ` if the line is a level-2 heading.
fn section_heading_text(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = line[indent..].strip_prefix("##")?;
    if rest.is_empty() {
        return Some(rest);
    }
    rest.strip_prefix(' ').or_else(|| rest.strip_prefix('\t'))
}

/// `##Quiz` and the like: `#` marks followed straight by a letter.
fn heading_without_space(line: &str) -> Option<&str> {
    let marks = line.len() - line.trim_start_matches('#').len();
    let rest = &line[marks..];
    let glued = (1..=6).contains(&marks) && rest.chars().next().is_some_and(char::is_alphabetic);
    glued.then(|| line.split_whitespace().next().unwrap_or(line))
}

/// The targets of inline links `[text](target)` on a line, with their 1-based columns.
fn link_targets(line: &str) -> Vec<(usize, &str)> {
    let mut targets = Vec::new();
    let mut from = 0;
    while let Some(found) = line[from..].find("](") {
        let start = from + found + 2;
        let Some(len) = line[start..].find(')') else { break };
        let target = line[start..start + len].trim();
        let target = target.split_whitespace().next().unwrap_or(target);
        if !target.is_empty() && !target.starts_with('#') {
            targets.push((line[..start].chars().count() + 1, target));
        }
        from = start + len;
    }
    targets
}

fn is_fence(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("```") || trimmed.starts_with("~~~")
}

/// `- [ ] text` / `- [x] text`: whether it is checked and where the text starts.
fn task_item(line: &str) -> Option<(bool, usize)> {
    let body = line.trim_start();
    let lead = line.len() - body.len();
    let after_bullet = body.strip_prefix(['-', '*', '+'])?;
    let spaces = after_bullet.len() - after_bullet.trim_start().len();
    if spaces == 0 {
        return None;
    }
    let rest = &after_bullet[spaces..];
    let checked = match rest.get(..3)? {
        "[ ]" => false,
        "[x]" | "[X]" => true,
        _ => return None,
    };
    let text = &rest[3..];
    let text_at = lead + 1 + spaces + 3 + (text.len() - text.trim_start().len());
    Some((checked, text_at))
}

fn plain_list_item(line: &str) -> bool {
    let body = line.trim_start();
    body.strip_prefix(['-', '*', '+']).is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('\t'))
}

/// The text of a `> quoted` line.
fn quote_line(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Where the text of a `1. numbered` (or `1)`) line starts.
fn numbered_item(line: &str) -> Option<usize> {
    let body = line.trim_start();
    let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = body[digits..].strip_prefix(['.', ')'])?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(line.len() - rest.trim_start().len())
}

fn join(lines: &[Line<'_>]) -> String {
    lines.iter().map(|line| line.text).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: LessonDefaults<'static> = LessonDefaults { file_stem: "03-what-for", follow_up_days: 3 };

    fn parse(text: &str) -> (Option<Lesson>, Vec<Problem>) {
        parse_lesson(Path::new("l.md"), text, DEFAULTS)
    }

    /// Parses `text` and checks its problems as `line:col: severity: start of message`.
    fn check_problems(text: &str, expected: &[&str]) {
        let (_, problems) = parse(text);
        let got: Vec<String> = problems.iter().map(|p| p.headline().trim_start_matches("l.md:").to_owned()).collect();
        assert_eq!(got.len(), expected.len(), "problems: {got:#?}");
        for (got, want) in got.iter().zip(expected) {
            assert!(got.starts_with(want), "got `{got}`, want `{want}…`");
        }
    }

    const GOOD: &str = "+++\nid = \"what-for\"\ntitle = \"What for?\"\n+++\nBody with **bold** & <angle>.\n\n## Quiz\nWhy?\n- [ ] no\n- [x] yes\n> Because.\n\n## Reflect\nWhat do you think?\n\n## Practice {days=5}\nDo it.\n";

    #[test]
    fn a_second_reflection_in_a_lesson_is_an_error() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\nBody.\n\n## Reflect\nOne?\n\n## Reflect\nTwo?\n",
            &["9:1: error: a lesson has at most one `## Reflect` section (the first is on line 6)"],
        );
    }

    #[test]
    fn a_team_section_is_the_lessons_stand_up_question_not_an_item() {
        let text = "+++\ntitle = \"T\"\n+++\nBody.\n\n## Quiz\nQ?\n- [x] a\n- [ ] b\n> e\n\n## Team\nWhen did we **surprise** a customer?\n";
        let (lesson, problems) = parse(text);
        assert_eq!(problems, Vec::new());
        let lesson = lesson.expect("a lesson");
        assert_eq!(lesson.items.len(), 1, "the quiz only");
        let team = lesson.team.expect("the team question");
        assert_eq!((team.text.html.as_str(), team.line), ("When did we <b>surprise</b> a customer?", 12));
    }

    #[test]
    fn a_team_section_is_one_per_lesson_without_attributes_and_not_empty() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\nBody.\n## Team {#x}\nOne?\n## Team\nTwo?\n## Team\n",
            &[
                "5:10: error: `## Team` takes no `{…}`",
                "7:1: error: a lesson has at most one `## Team` section (the first is on line 5)",
                "9:1: error: a lesson has at most one `## Team` section (the first is on line 5)",
                "9:1: error: empty section `## Team`",
            ],
        );
    }

    #[test]
    fn a_heading_without_a_space_and_a_link_without_a_scheme_are_warnings() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\nSee [our FAQ](www.example.org) or [mail](mailto:a@b.nl).\n##Quiz\nWhy?\n",
            &[
                "4:15: warning: the link `www.example.org` cannot be opened in Telegram",
                "5:1: warning: `##Quiz` is not a heading: put a space after the `#` marks",
            ],
        );
    }

    #[test]
    fn parses_a_complete_lesson() {
        let (lesson, problems) = parse(GOOD);
        assert!(problems.is_empty(), "{problems:?}");
        let lesson = lesson.unwrap();
        assert_eq!(lesson.id, "what-for");
        assert_eq!(lesson.body.html, "Body with <b>bold</b> &amp; &lt;angle&gt;.");
        let ids: Vec<&str> = lesson.items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["what-for/quiz", "what-for/reflect", "what-for/practice"]);
        let quiz = lesson.items[0].as_quiz().unwrap();
        assert_eq!(quiz.options, ["no", "yes"]);
        assert_eq!(quiz.correct, 1);
        assert_eq!(lesson.items[2].as_practice().unwrap().follow_up_days, 5);
    }

    #[test]
    fn explicit_ids_and_numbering_of_repeated_sections() {
        let text = "+++\ntitle = \"T\"\n+++\n## Quiz {#first}\nQ?\n- [x] a\n- [ ] b\n> e\n## Quiz\nQ?\n- [x] a\n- [ ] b\n> e\n## Quiz\nQ?\n- [x] a\n- [ ] b\n> e\n";
        let (lesson, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        let ids: Vec<String> = lesson.unwrap().items.into_iter().map(|item| item.id.to_string()).collect();
        assert_eq!(ids, ["what-for/first", "what-for/quiz-2", "what-for/quiz-3"]);
    }

    #[test]
    fn lesson_id_defaults_to_the_file_name() {
        let (lesson, _) = parse("+++\ntitle = \"T\"\n+++\nHi\n");
        assert_eq!(lesson.unwrap().id, "what-for");
    }

    #[test]
    fn errors_when_front_matter_is_missing() {
        check_problems("Just text\n", &["1:1: error: no `+++` front matter"]);
    }

    #[test]
    fn errors_when_front_matter_is_not_closed() {
        check_problems("+++\ntitle = \"x\"\n", &["1:1: error: the front matter opened here is never closed"]);
    }

    #[test]
    fn errors_when_title_is_missing() {
        check_problems("+++\nid = \"x\"\n+++\n", &["1:1: error: the front matter has no `title`"]);
    }

    #[test]
    fn maps_toml_errors_into_the_file() {
        check_problems("+++\ntitle = \"x\"\nid = what\n+++\n", &["3:6: error: front matter:"]);
    }

    #[test]
    fn unknown_front_matter_key_is_an_error() {
        check_problems(
            "+++\ntitel = \"x\"\n+++\n",
            &["2:1: error: front matter: `titel` is not a setting here (check the spelling): use `id`, `title`"],
        );
    }

    #[test]
    fn quiz_without_right_option() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [ ] a\n- [ ] b\n> e\n",
            &["6:1: error: no option is marked right"],
        );
    }

    #[test]
    fn quiz_with_two_right_options() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [x] a\n- [x] b\n> e\n",
            &["7:1: error: more than one option is marked right"],
        );
    }

    #[test]
    fn quiz_with_one_option() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [x] a\n> e\n",
            &["4:1: error: the quiz has 1 option: give it 2 to 6"],
        );
    }

    #[test]
    fn option_too_long_for_a_button() {
        let long = "x".repeat(41);
        check_problems(
            &format!("+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [x] {long}\n- [ ] b\n> e\n"),
            &["6:7: error: this option is 41 characters"],
        );
    }

    #[test]
    fn quiz_without_explanation_is_a_warning() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [x] a\n- [ ] b\n",
            &["4:1: warning: the quiz has no explanation"],
        );
    }

    #[test]
    fn option_without_checkbox() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Quiz\nQ?\n- [x] a\n- b\n- [ ] c\n> e\n",
            &["7:1: error: an option without a checkbox"],
        );
    }

    #[test]
    fn unknown_and_empty_sections() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Summary\ntext\n## Reflect\n\n",
            &["4:4: error: unknown section `## Summary`", "6:1: error: empty section `## Reflect`"],
        );
    }

    #[test]
    fn bad_attributes() {
        check_problems(
            "+++\ntitle = \"T\"\n+++\n## Reflect {days=3}\nQ?\n## Practice {days=0 colour=red}\nDo.\n",
            &[
                "4:13: error: `days=` only applies",
                "6:14: error: `days=0`",
                "6:21: error: unknown attribute `colour=red`",
            ],
        );
    }

    #[test]
    fn reflection_chain_with_intro() {
        let (lesson, problems) =
            parse("+++\ntitle = \"T\"\n+++\n## Reflect\nThink.\n1. First?\n2. Second,\n   continued?\n");
        assert!(problems.is_empty(), "{problems:?}");
        let lesson = lesson.unwrap();
        let reflect = lesson.items[0].as_reflect().unwrap();
        assert_eq!(reflect.intro.as_ref().unwrap().plain, "Think.");
        let questions: Vec<&str> = reflect.questions.iter().map(|q| q.plain.as_str()).collect();
        assert_eq!(questions, ["First?", "Second,\ncontinued?"]);
    }

    #[test]
    fn localized_section_words_are_accepted() {
        let (lesson, problems) = parse("+++\ntitle = \"T\"\n+++\n## Reflectie\nWat?\n## Opgave\nGør det.\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lesson.unwrap().items.len(), 2);
    }

    #[test]
    fn long_body_is_a_warning() {
        let body = "word ".repeat(250);
        check_problems(&format!("+++\ntitle = \"T\"\n+++\n{body}\n"), &["4:1: warning: the lesson text is"]);
    }

    #[test]
    fn headings_inside_code_fences_are_body_text() {
        let (lesson, problems) = parse("+++\ntitle = \"T\"\n+++\n```\n## Not a section\n```\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert!(lesson.unwrap().items.is_empty());
    }

    #[test]
    fn crlf_and_bom_are_fine() {
        let (lesson, problems) = parse("\u{feff}+++\r\ntitle = \"T\"\r\n+++\r\nHi\r\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lesson.unwrap().body.plain, "Hi");
    }
}
