//! Reading packs from disk: `pack.toml`, the lesson files in name order, and checks that span
//! a whole pack (duplicate ids, no lessons, no quiz).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::parse::{LessonDefaults, parse_lesson};
use super::problem::Problem;
use super::{DEFAULT_FOLLOW_UP_DAYS, Lesson, Pack};
use crate::i18n::Lang;
use crate::text::line_col;

/// Every pack found in the content directory, by id.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Packs that loaded without errors.
    pub packs: BTreeMap<String, Arc<Pack>>,
}

impl Library {
    /// The pack with id `pack_id`.
    pub fn pack(&self, pack_id: &str) -> Option<&Arc<Pack>> {
        self.packs.get(pack_id)
    }
}

/// The result of loading packs: every pack that could be read and every problem found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Packs read, with or without errors (see [`Loaded::library`] for the usable ones).
    pub packs: Vec<Arc<Pack>>,
    /// Every problem, errors and warnings.
    pub problems: Vec<Problem>,
    /// Number of lesson files read, for the summary line.
    pub n_lessons: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackToml {
    title: String,
    language: Spanned<String>,
    description: String,
    follow_up_days: Option<Spanned<u32>>,
}

/// Loads every pack (every sub-directory with a `pack.toml`) under `dir`.
pub fn load_library(dir: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            loaded.problems.push(Problem::error(
                dir,
                1,
                1,
                format!("cannot read the content directory ({error}): check `[content] dir` in the config"),
            ));
            return loaded;
        }
    };
    let mut pack_dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("pack.toml").is_file())
        .collect();
    pack_dirs.sort();
    for pack_dir in pack_dirs {
        loaded.absorb(load_pack(&pack_dir));
    }
    loaded
}

impl Loaded {
    /// Adds another load result (one pack, or one lesson checked alone).
    pub fn absorb(&mut self, other: Loaded) {
        self.packs.extend(other.packs);
        self.problems.extend(other.problems);
        self.n_lessons += other.n_lessons;
    }

    /// The packs without errors: what learners may get.
    pub fn library(&self) -> Library {
        let packs = self
            .packs
            .iter()
            .filter(|pack| !self.problems.iter().any(|p| p.is_error() && p.path.starts_with(&pack.dir)))
            .map(|pack| (pack.id.clone(), pack.clone()))
            .collect();
        Library { packs }
    }

    /// True when any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

/// Loads one pack directory.
pub fn load_pack(dir: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let toml_path = dir.join("pack.toml");
    let Some(meta) = read_pack_toml(&toml_path, &mut loaded.problems) else {
        return loaded;
    };
    let pack_id = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    if !crate::config::is_slug(&pack_id) {
        loaded.problems.push(Problem::error(
            &toml_path,
            1,
            1,
            format!("the pack directory `{pack_id}` is not a valid pack id: rename it using lowercase letters, digits and dashes"),
        ));
    }
    let lessons = read_lessons(dir, meta.follow_up_days, &mut loaded);
    check_pack(&toml_path, &lessons, &mut loaded.problems);
    let pack = Pack {
        id: pack_id,
        title: meta.title,
        language: meta.language,
        description: meta.description,
        dir: dir.to_owned(),
        lessons: lessons.into_iter().map(Arc::new).collect(),
    };
    loaded.packs.push(Arc::new(pack));
    loaded
}

/// The validated fields of `pack.toml`.
struct PackMeta {
    title: String,
    language: Lang,
    description: String,
    follow_up_days: u32,
}

fn read_pack_toml(path: &Path, problems: &mut Vec<Problem>) -> Option<PackMeta> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(Problem::error(path, 1, 1, format!("cannot read the file ({error})")));
            return None;
        }
    };
    let raw: PackToml = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(error) => {
            let (line, col) = line_col(&text, error.span().map_or(0, |span| span.start));
            let message = error.message().trim().lines().next().unwrap_or("invalid TOML").to_owned();
            problems.push(Problem::error(path, line, col, message).with_source(&text));
            return None;
        }
    };
    let Some(language) = Lang::parse(raw.language.get_ref()) else {
        let (line, col) = line_col(&text, raw.language.span().start);
        problems.push(Problem::error(path, line, col, "`language` must be `nl`, `en` or `da`").with_source(&text));
        return None;
    };
    let follow_up_days = match raw.follow_up_days {
        Some(days) if !(1..=90).contains(days.get_ref()) => {
            let (line, col) = line_col(&text, days.span().start);
            problems.push(
                Problem::error(path, line, col, "`follow_up_days` must be a whole number from 1 to 90")
                    .with_source(&text),
            );
            return None;
        }
        Some(days) => days.into_inner(),
        None => DEFAULT_FOLLOW_UP_DAYS,
    };
    if raw.title.trim().is_empty() {
        problems.push(
            Problem::error(path, 1, 1, "`title` is empty: give the pack a title learners will see").with_source(&text),
        );
    }
    Some(PackMeta {
        title: raw.title.trim().to_owned(),
        language,
        description: raw.description.trim().to_owned(),
        follow_up_days,
    })
}

/// The lesson files of a pack: `*.md` except `README.md` and names starting with `_` or `.`.
pub fn lesson_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| is_lesson_file(path)).collect();
    files.sort();
    files
}

fn is_lesson_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    path.is_file() && name.ends_with(".md") && !name.eq_ignore_ascii_case("readme.md") && !name.starts_with(['_', '.'])
}

fn read_lessons(dir: &Path, follow_up_days: u32, loaded: &mut Loaded) -> Vec<Lesson> {
    let mut lessons = Vec::new();
    for path in lesson_files(dir) {
        loaded.n_lessons += 1;
        let (lesson, problems) = parse_lesson_file(&path, follow_up_days);
        loaded.problems.extend(problems);
        lessons.extend(lesson);
    }
    lessons
}

/// Reads and parses one lesson file.
pub fn parse_lesson_file(path: &Path, follow_up_days: u32) -> (Option<Lesson>, Vec<Problem>) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return (None, vec![Problem::error(path, 1, 1, format!("cannot read the file ({error})"))]);
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let (line, col) = line_col(&String::from_utf8_lossy(valid), valid.len());
            return (None, vec![Problem::error(path, line, col, "the file is not UTF-8 text: save it as UTF-8")]);
        }
    };
    let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    parse_lesson(path, &text, LessonDefaults { file_stem: &stem, follow_up_days })
}

/// Problems that span the pack: no lessons, duplicate ids, no quiz at all.
fn check_pack(toml_path: &Path, lessons: &[Lesson], problems: &mut Vec<Problem>) {
    if lessons.is_empty() && !problems.iter().any(Problem::is_error) {
        problems.push(Problem::error(
            toml_path,
            1,
            1,
            "the pack has no lessons: add a file such as `01-first-lesson.md` next to pack.toml",
        ));
        return;
    }
    let mut lesson_ids: HashMap<&str, &Lesson> = HashMap::new();
    let mut item_ids: HashMap<String, (&Path, usize)> = HashMap::new();
    for lesson in lessons {
        if let Some(first) = lesson_ids.insert(&lesson.id, lesson) {
            problems.push(Problem::error(
                &lesson.path,
                1,
                1,
                format!(
                    "the lesson id `{}` is also used by {}: give each lesson its own `id`",
                    lesson.id,
                    first.path.display()
                ),
            ));
        }
        for item in &lesson.items {
            if let Some((path, line)) = item_ids.insert(item.id.clone(), (&lesson.path, item.line)) {
                problems.push(Problem::error(
                    &lesson.path,
                    item.line,
                    1,
                    format!(
                        "the item id `{}` is also used at {}:{line}: ids must be unique in the pack",
                        item.id,
                        path.display()
                    ),
                ));
            }
        }
    }
    let has_quiz = lessons.iter().flat_map(|l| &l.items).any(|item| item.as_quiz().is_some());
    if !has_quiz && !problems.iter().any(Problem::is_error) {
        problems.push(Problem::warning(
            toml_path,
            1,
            1,
            "the pack has no quiz: add a `## Quiz` to some lessons so learners can test what they learned",
        ));
    }
}
