//! `nudge check` and the daemon's content gate: load packs, add the checks that need the
//! renderer (message length) and the config (cohorts naming packs), report every problem.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::content::load::{lesson_files, not_a_pack, parse_lesson_file};
use crate::content::{DEFAULT_FOLLOW_UP_DAYS, ItemKind, Loaded, Pack, Problem, load_library, load_pack};
use crate::domain::{Confidence, DeliverySeq, PracticeOutcome};
use crate::i18n::Lang;
use crate::render::{self, MAX_MESSAGE_CHARS};

/// Loads every pack under `dir` with all checks; the library of the result is what may be
/// served.
pub fn load_checked(dir: &Path) -> Loaded {
    let mut loaded = load_library(dir);
    check_lengths(&mut loaded);
    loaded
}

/// Loads what `paths` name: a content directory, a pack directory, a `pack.toml` or one lesson.
pub fn load_paths(paths: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded::default();
    for path in paths {
        loaded.absorb(load_path(path));
    }
    check_lengths(&mut loaded);
    attach_sources(&mut loaded.problems);
    loaded
}

/// Gives every problem found after parsing (duplicate ids, message lengths) its source line,
/// so it shows with a caret like the parser's own.
fn attach_sources(problems: &mut [Problem]) {
    let mut texts: std::collections::HashMap<PathBuf, Option<String>> = std::collections::HashMap::new();
    for problem in problems.iter_mut().filter(|problem| problem.source_line.is_none()) {
        let text = texts.entry(problem.path.clone()).or_insert_with(|| std::fs::read_to_string(&problem.path).ok());
        if let Some(text) = text {
            *problem = problem.clone().with_source(text);
        }
    }
}

fn load_path(path: &Path) -> Loaded {
    if path.is_dir() && path.join("pack.toml").is_file() {
        return load_pack(path);
    }
    if path.is_dir() {
        if let Some(problem) = not_a_pack(path) {
            let mut loaded = lessons_alone(&lesson_files(path));
            loaded.problems.insert(0, problem);
            return loaded;
        }
        let loaded = load_library(path);
        if loaded.packs.is_empty() && loaded.problems.is_empty() {
            let message = "no content pack here: a pack is a folder with a `pack.toml` and lesson files (`01-….md`)";
            return Loaded { problems: vec![Problem::error(path, 1, 1, message)], ..Loaded::default() };
        }
        return loaded;
    }
    if path.file_name().is_some_and(|name| name == "pack.toml") {
        return load_pack(path.parent().unwrap_or(Path::new(".")));
    }
    if path.is_file() {
        return lessons_alone(&[path.to_owned()]);
    }
    Loaded { problems: vec![Problem::error(path, 1, 1, "no such file or directory")], ..Loaded::default() }
}

/// Lesson files checked on their own, outside a pack (the pack-wide checks need the pack).
fn lessons_alone(files: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded { n_lessons: files.len(), ..Loaded::default() };
    for file in files {
        loaded.problems.extend(parse_lesson_file(file, DEFAULT_FOLLOW_UP_DAYS).1);
    }
    loaded
}

/// Errors for messages longer than Telegram accepts, in the longest language's wording.
fn check_lengths(loaded: &mut Loaded) {
    let mut problems = Vec::new();
    for pack in &loaded.packs {
        for lesson in &pack.lessons {
            let len = longest(|lang| render::visible_len(&render::lesson(lang, pack, lesson)));
            if len > MAX_MESSAGE_CHARS {
                problems.push(too_long(&lesson.path, lesson.places.body, len, "the lesson message"));
            }
            for item in &lesson.items {
                for (len, what) in item_lengths(pack, &item.kind) {
                    if len > MAX_MESSAGE_CHARS {
                        problems.push(too_long(&lesson.path, item.line, len, what));
                    }
                }
            }
        }
    }
    loaded.problems.extend(problems);
}

fn item_lengths(_pack: &Pack, kind: &ItemKind) -> Vec<(usize, &'static str)> {
    match kind {
        ItemKind::Quiz(quiz) => {
            let asked =
                longest(|lang| render::visible_len(&render::quiz(lang, quiz, DeliverySeq::new(u64::MAX), true)));
            let seq = DeliverySeq::new(u64::MAX);
            let confidences = [None, Some(Confidence::Sure), Some(Confidence::NotSure)];
            let answered = (0..quiz.options.len())
                .flat_map(|choice| {
                    let asking =
                        longest(|lang| render::visible_len(&render::quiz_confidence(lang, quiz, seq, choice, true)));
                    let verdicts = confidences.map(|confidence| {
                        longest(|lang| render::visible_len(&render::quiz_rated(lang, quiz, choice, true, confidence)))
                    });
                    std::iter::once(asking).chain(verdicts)
                })
                .max()
                .unwrap_or(0);
            vec![(asked, "the quiz message"), (answered, "the quiz with its explanation")]
        }
        ItemKind::Reflect(reflect) => (0..reflect.questions.len())
            .map(|idx| {
                (
                    longest(|lang| render::visible_len(&render::reflect(lang, reflect, idx, idx > 0))),
                    "the reflection message",
                )
            })
            .collect(),
        ItemKind::Practice(practice) => vec![
            (longest(|lang| render::visible_len(&render::practice(lang, practice))), "the practice message"),
            (
                longest(|lang| render::visible_len(&render::practice_checked(lang, practice, PracticeOutcome::NotYet))),
                "the practice follow-up",
            ),
        ],
    }
}

fn longest(len: impl Fn(Lang) -> usize) -> usize {
    Lang::ALL.into_iter().map(len).max().unwrap_or(0)
}

fn too_long(path: &Path, line: usize, len: usize, what: &str) -> Problem {
    Problem::error(
        path,
        line,
        1,
        format!("{what} is {len} characters; Telegram accepts at most {MAX_MESSAGE_CHARS}: shorten it"),
    )
}

/// Problems between the config and the packs: a cohort naming a pack that is missing, or one in
/// another language than the cohort's.
pub(crate) fn check_cohorts(settings: &Settings, loaded: &Loaded) -> Vec<Problem> {
    let mut problems = Vec::new();
    for cohort in &settings.cohorts {
        match loaded.packs.iter().find(|pack| pack.id == cohort.pack) {
            None => problems.push(Problem::error(
                &settings.source,
                1,
                1,
                format!(
                    "cohort `{}` follows pack `{}`, which is not in {}",
                    cohort.id,
                    cohort.pack,
                    settings.content.dir.display()
                ),
            )),
            Some(pack) if pack.language != cohort.language && !has_errors(loaded, pack) => {
                problems.push(Problem::warning(
                    &settings.source,
                    1,
                    1,
                    format!(
                        "cohort `{}` has language `{}` but its pack `{}` is written in `{}`",
                        cohort.id, cohort.language, pack.id, pack.language
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    problems
}

/// True when the pack has an error of its own (its `pack.toml` may not even name a language).
fn has_errors(loaded: &Loaded, pack: &Pack) -> bool {
    loaded.problems.iter().any(|problem| problem.is_error() && problem.path.starts_with(&pack.dir))
}
