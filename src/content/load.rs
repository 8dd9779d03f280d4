//! Reading packs from disk: `pack.toml`, the lesson files in name order, and checks that span
//! a whole pack (duplicate ids, no lessons, no quiz).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::parse::{LessonDefaults, parse_lesson};
use super::problem::Problem;
use super::toml_error::plain_message;
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
    title: Spanned<String>,
    language: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
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
    let mut sub_dirs: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| path.is_dir()).collect();
    sub_dirs.sort();
    for sub_dir in sub_dirs {
        if sub_dir.join("pack.toml").is_file() {
            loaded.absorb(load_pack(&sub_dir));
        } else if let Some(problem) = not_a_pack(&sub_dir) {
            loaded.problems.push(problem);
        }
    }
    loaded
}

/// The error for a folder that holds lessons (or a `pack.toml.txt`) but no `pack.toml`: most
/// likely a pack whose cover page is missing or was saved under another name. A folder with
/// neither (images, notes) is not a pack and not a problem.
pub(crate) fn not_a_pack(dir: &Path) -> Option<Problem> {
    if dir.join("pack.toml").is_file() {
        return None;
    }
    let folder = dir.file_name().map_or_else(|| dir.display().to_string(), |name| name.to_string_lossy().into_owned());
    let misnamed = MISNAMED_PACK_TOML.into_iter().find(|name| dir.join(name).is_file());
    let message = match misnamed {
        Some(name) => format!(
            "the folder `{folder}` is not a pack: it has `{name}` but no `pack.toml`: rename `{name}` to `pack.toml` (Notepad adds `.txt`: save with \"Save as type: All files\")"
        ),
        None if !lesson_files(dir).is_empty() => format!(
            "the folder `{folder}` is not a pack: it has lessons but no `pack.toml`: add a `pack.toml` with the pack's `title` and `language` next to the lessons"
        ),
        None => return None,
    };
    Some(Problem::error(&misnamed.map_or_else(|| dir.to_owned(), |name| dir.join(name)), 1, 1, message))
}

/// Names under which editors save a `pack.toml` by mistake (Notepad adds `.txt`).
const MISNAMED_PACK_TOML: [&str; 4] = ["pack.toml.txt", "pack.txt", "Pack.toml", "PACK.TOML"];

impl Loaded {
    /// Adds another load result (one pack, or one lesson checked alone).
    pub(crate) fn absorb(&mut self, other: Loaded) {
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
    let meta = read_pack_toml(&toml_path, &mut loaded.problems);
    let pack_id = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    if !crate::text::is_slug(&pack_id) {
        loaded.problems.push(Problem::error(
            &toml_path,
            1,
            1,
            format!("the pack directory `{pack_id}` is not a valid pack id: rename it using lowercase letters, digits and dashes"),
        ));
    }
    let n_files = loaded.n_lessons;
    let lessons = read_lessons(dir, meta.follow_up_days, &mut loaded);
    check_pack(&toml_path, loaded.n_lessons - n_files, &lessons, &mut loaded.problems);
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

/// The validated fields of `pack.toml`. A field that is missing or wrong gets a stand-in, so
/// the lessons are still checked; its error keeps the pack from being served.
struct PackMeta {
    title: String,
    language: Lang,
    description: String,
    follow_up_days: u32,
}

impl Default for PackMeta {
    fn default() -> Self {
        Self {
            title: String::new(),
            language: Lang::En,
            description: String::new(),
            follow_up_days: DEFAULT_FOLLOW_UP_DAYS,
        }
    }
}

fn read_pack_toml(path: &Path, problems: &mut Vec<Problem>) -> PackMeta {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(Problem::error(path, 1, 1, format!("cannot read the file ({error})")));
            return PackMeta::default();
        }
    };
    let at = |span: std::ops::Range<usize>| line_col(&text, span.start);
    let mut error = |(line, col): (usize, usize), message: &str| {
        problems.push(Problem::error(path, line, col, message).with_source(&text));
    };
    let raw: PackToml = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(toml_error) => {
            error(at(toml_error.span().unwrap_or(0..0)), &plain_message(&toml_error, &text));
            return PackMeta::default();
        }
    };
    let mut meta = PackMeta::default();
    match Lang::parse(raw.language.get_ref()) {
        Some(language) => meta.language = language,
        None => error(at(raw.language.span()), "`language` must be `nl`, `en` or `da`"),
    }
    match raw.follow_up_days {
        Some(days) if !(1..=90).contains(days.get_ref()) => {
            error(at(days.span()), "`follow_up_days` must be a whole number from 1 to 90");
        }
        Some(days) => meta.follow_up_days = days.into_inner(),
        None => {}
    }
    if raw.title.get_ref().trim().is_empty() {
        error(at(raw.title.span()), "`title` is empty: give the pack a title learners will see");
    }
    meta.title = raw.title.get_ref().trim().to_owned();
    meta.description = raw.description.unwrap_or_default().trim().to_owned();
    if meta.description.is_empty() {
        problems.push(Problem::warning(
            path,
            1,
            1,
            "the pack has no `description`: add a line `description = \"…\"` with a sentence or two on what is in it for learners (they see it when they join)",
        ));
    }
    meta
}

/// The lesson files of a pack: `*.md` except `README.md` and names starting with `_` or `.`.
pub(crate) fn lesson_files(dir: &Path) -> Vec<PathBuf> {
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
pub(crate) fn parse_lesson_file(path: &Path, follow_up_days: u32) -> (Option<Lesson>, Vec<Problem>) {
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
fn check_pack(toml_path: &Path, n_files: usize, lessons: &[Lesson], problems: &mut Vec<Problem>) {
    if n_files == 0 {
        problems.push(Problem::error(
            toml_path,
            1,
            1,
            "the pack has no lessons: add a file such as `01-first-lesson.md` next to pack.toml",
        ));
        return;
    }
    // Item ids are `<lesson-id>/<local>` and the parser keeps locals unique in a lesson, so
    // unique lesson ids make every item id unique in the pack.
    let mut lesson_ids: HashMap<&str, &Lesson> = HashMap::new();
    for lesson in lessons {
        let Some(first) = lesson_ids.get(lesson.id.as_str()) else {
            lesson_ids.insert(&lesson.id, lesson);
            continue;
        };
        let (line, col) = lesson.places.id;
        let place = match first.places.id {
            (1, 1) => format!("{} (its file name)", first.path.display()),
            (line, _) => format!("{}:{line}", first.path.display()),
        };
        let fix =
            if (line, col) == (1, 1) { "add an `id = \"…\"` of its own" } else { "give each lesson its own `id`" };
        problems.push(Problem::error(
            &lesson.path,
            line,
            col,
            format!("the lesson id `{}` is also used by {place}: {fix}", lesson.id),
        ));
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
