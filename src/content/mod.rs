//! Content packs: markdown lessons parsed into immutable values.
//!
//! `parse` turns one lesson file into a [`Lesson`] plus every problem found; `load` reads pack
//! directories from disk; `markup` renders the markdown subset to Telegram HTML. This module
//! knows nothing of learners, schedules or Telegram's API.

pub mod load;
pub(crate) mod markup;
pub mod parse;
pub(crate) mod problem;
#[cfg(test)]
mod props;
pub(crate) mod toml_error;

use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::ItemId;
use crate::i18n::Lang;
pub use load::{Library, Loaded, load_library, load_pack};
pub(crate) use markup::Rich;
pub(crate) use problem::Problem;

/// The most characters a quiz option may have: it is shown on a button, and phones cut longer
/// labels.
pub(crate) const MAX_OPTION_CHARS: usize = 40;
/// Lessons longer than this are not bite-sized any more (a warning, not an error).
pub(crate) const MAX_BODY_CHARS: usize = 1000;
/// Days before a practice assignment's follow-up when neither pack nor section says otherwise.
pub(crate) const DEFAULT_FOLLOW_UP_DAYS: u32 = 3;

/// One content pack: a directory with `pack.toml` and lessons in file-name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    /// The directory name; cohorts refer to packs by it.
    pub id: String,
    /// Shown to learners when they enrol and finish.
    pub title: String,
    /// The language the pack is written in.
    pub language: Lang,
    /// One or two sentences for admins and learners.
    pub description: String,
    /// Where the pack was loaded from.
    pub dir: PathBuf,
    /// The lessons in the order learners get them.
    pub lessons: Vec<Arc<Lesson>>,
}

/// One lesson: a short text and the items (quiz, reflect, practice) that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// Stable id from the front matter (or the file name): learners' progress refers to it.
    pub id: String,
    /// Shown above the lesson text.
    pub title: String,
    /// The lesson text, rendered.
    pub body: Rich,
    /// Quizzes, reflections and practice assignments, in file order.
    pub items: Vec<Item>,
    /// The lesson's `## Team` section: a question for the team's stand-up, which the leads'
    /// digest offers once the team has reached this lesson. Never sent to learners.
    pub team: Option<TeamQuestion>,
    /// The file, for messages.
    pub path: PathBuf,
    /// Where its parts are in the file, for messages.
    pub places: LessonPlaces,
}

/// Where a lesson's parts are in its file, so a problem found later (a duplicate id, a message
/// too long) points at the line to change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LessonPlaces {
    /// Line and column of the `id` value; (1, 1) when the id comes from the file name.
    pub id: (usize, usize),
    /// First line of the lesson text (the title's line when there is no text).
    pub body: usize,
}

/// A stand-up question or exercise for the whole team (a lesson's `## Team` section).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamQuestion {
    /// The text, rendered.
    pub text: Rich,
    /// 1-based line of the `## Team` heading, for messages.
    pub line: usize,
}

/// Something a learner answers or does: a quiz, a reflection or a practice assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable id, `<lesson-id>/<local-id>`; answers refer to it.
    pub id: ItemId,
    /// What the item is, with its content.
    pub kind: ItemKind,
    /// 1-based line of the section heading, for messages.
    pub line: usize,
}

/// The three kinds of item a lesson may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// A multiple-choice question answered with buttons.
    Quiz(Quiz),
    /// An open question (or a chain of them) answered in free text.
    Reflect(Reflect),
    /// An assignment for the job, followed up after some days.
    Practice(Practice),
}

/// A multiple-choice question with exactly one right option.
#[derive(Debug, Clone, PartialEq)]
pub struct Quiz {
    /// The question.
    pub question: Rich,
    /// Button labels, plain text.
    pub options: Vec<String>,
    /// Index of the right option.
    pub correct: usize,
    /// Shown after the answer.
    pub explanation: Option<Rich>,
}

/// A reflection: an optional intro and one or more questions asked one after the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Reflect {
    /// Shown with the first question.
    pub intro: Option<Rich>,
    /// Asked in order, each after the learner answered the previous one.
    pub questions: Vec<Rich>,
}

/// An on-the-job assignment with a follow-up question after some days.
#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    /// What to do.
    pub task: Rich,
    /// Days until the learner is asked how it went.
    pub follow_up_days: u32,
}

impl Pack {
    /// The lesson with id `lesson_id`, if it is still in the pack.
    pub(crate) fn lesson(&self, lesson_id: &str) -> Option<&Arc<Lesson>> {
        self.lessons.iter().find(|lesson| lesson.id == lesson_id)
    }

    /// The position (0-based) of a lesson in the pack.
    pub(crate) fn lesson_index(&self, lesson_id: &str) -> Option<usize> {
        self.lessons.iter().position(|lesson| lesson.id == lesson_id)
    }

    /// The item with id `item_id` and its lesson, if both are still in the pack.
    pub(crate) fn item(&self, item_id: &ItemId) -> Option<(&Arc<Lesson>, &Item)> {
        let lesson = self.lesson(item_id.lesson())?;
        let item = lesson.items.iter().find(|item| item.id == *item_id)?;
        Some((lesson, item))
    }

    /// Every item of the pack, in order.
    pub(crate) fn items(&self) -> impl Iterator<Item = (&Arc<Lesson>, &Item)> {
        self.lessons.iter().flat_map(|lesson| lesson.items.iter().map(move |item| (lesson, item)))
    }

    /// Number of quizzes in the pack.
    pub(crate) fn n_quizzes(&self) -> usize {
        self.items().filter(|(_, item)| matches!(item.kind, ItemKind::Quiz(_))).count()
    }
}

impl Item {
    /// The quiz, if this item is one.
    pub fn as_quiz(&self) -> Option<&Quiz> {
        match &self.kind {
            ItemKind::Quiz(quiz) => Some(quiz),
            _ => None,
        }
    }

    /// The reflection, if this item is one.
    pub(crate) fn as_reflect(&self) -> Option<&Reflect> {
        match &self.kind {
            ItemKind::Reflect(reflect) => Some(reflect),
            _ => None,
        }
    }

    /// The practice assignment, if this item is one.
    pub(crate) fn as_practice(&self) -> Option<&Practice> {
        match &self.kind {
            ItemKind::Practice(practice) => Some(practice),
            _ => None,
        }
    }
}
