//! The running counts a report keeps while records stream by: per cohort, lesson, item, week
//! and learner. Small by design: nothing here holds a delivery or an answer, only counters and
//! small sorted sets (a learner's active days, lessons and quiz items).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::median::LogHistogram;
use super::options::CohortInfo;
use super::{PracticeCheckIns, Rate};
use crate::content::Pack;
use crate::domain::ItemId;

/// Right answers out of all answers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hits {
    /// Answers that were right.
    pub right: u64,
    /// All answers.
    pub total: u64,
}

/// The recall FSRS predicted for review answers, summed: compared with the share answered
/// right, it shows whether the target retention is really met.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Predicted {
    /// The predicted chances of recall, added up.
    pub sum: f64,
    /// Reviews predicted.
    pub reviews: u64,
}

impl Predicted {
    /// Counts one review's predicted recall.
    pub(crate) fn add(&mut self, recall: f64) {
        self.sum += recall;
        self.reviews += 1;
    }

    /// The mean predicted recall, if any review was predicted.
    pub(crate) fn mean(&self) -> Option<f64> {
        (self.reviews > 0).then(|| self.sum / self.reviews as f64)
    }
}

impl Hits {
    /// Counts one answer.
    pub(crate) fn add(&mut self, right: bool) {
        self.right += u64::from(right);
        self.total += 1;
    }

    /// The share of right answers.
    pub(crate) fn rate(&self) -> Rate {
        Rate::new(self.right, self.total)
    }
}

/// Everything counted for one cohort.
#[derive(Debug)]
pub(crate) struct CohortTally {
    /// The cohort as configured.
    pub info: CohortInfo,
    /// Learners enrolled by the end of the period.
    pub roster: u64,
    /// Prompts Telegram accepted in the period.
    pub prompts_sent: u64,
    /// Of those, quizzes, reflection questions and practice check-ins.
    pub answerable_sent: u64,
    /// Of those, the ones answered.
    pub answered: u64,
    /// Seconds from prompt to first answer.
    pub to_answer: LogHistogram,
    /// First-try quiz answers.
    pub first_try: Hits,
    /// Spaced-review quiz answers.
    pub review: Hits,
    /// The recall predicted for those reviews.
    pub predicted: Predicted,
    /// Reflection questions answered.
    pub reflections: u64,
    /// Practice check-ins by outcome.
    pub practice: PracticeCheckIns,
    /// Lessons and items, from the pack and from records.
    pub catalogue: Catalogue,
    /// Per week, keyed by the day number of its Monday.
    pub weeks: BTreeMap<i32, WeekTally>,
    /// Shared reflection texts per (item index, question).
    pub shared: BTreeMap<(usize, usize), Vec<String>>,
}

impl CohortTally {
    /// Empty counts for `info`.
    pub fn new(info: CohortInfo) -> Self {
        let catalogue = Catalogue::new(info.pack.as_deref());
        Self {
            info,
            roster: 0,
            prompts_sent: 0,
            answerable_sent: 0,
            answered: 0,
            to_answer: LogHistogram::default(),
            first_try: Hits::default(),
            review: Hits::default(),
            predicted: Predicted::default(),
            reflections: 0,
            practice: PracticeCheckIns::default(),
            catalogue,
            weeks: BTreeMap::new(),
            shared: BTreeMap::new(),
        }
    }

    /// The counts of the week starting on Monday `monday`.
    pub(crate) fn week(&mut self, monday: i32) -> &mut WeekTally {
        self.weeks.entry(monday).or_default()
    }
}

/// Counts of one ISO week.
#[derive(Debug, Default)]
pub(crate) struct WeekTally {
    /// Prompts sent.
    pub prompts_sent: u64,
    /// Answerable prompts sent.
    pub answerable_sent: u64,
    /// Answerable prompts sent this week that were answered (whenever).
    pub answered: u64,
    /// First-try quiz answers.
    pub first_try: Hits,
    /// Spaced-review quiz answers.
    pub review: Hits,
    /// The recall predicted for those reviews.
    pub predicted: Predicted,
    /// Distinct learners who answered; filled in at the end from the learners' days.
    pub learners_active: u64,
}

/// The lessons and items of a cohort: the pack's in pack order, then retired ones as records
/// name them.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    /// Lessons, pack order first.
    pub lessons: Vec<LessonTally>,
    lesson_by_id: HashMap<String, usize>,
    /// Items, pack order first.
    pub items: Vec<ItemTally>,
    item_by_id: HashMap<ItemId, usize>,
    /// How many of `lessons` are in the pack (the rest are retired).
    pub current_lessons: usize,
    /// Whether there is a pack to compare with: without one nothing counts as retired.
    knows_pack: bool,
}

/// Counts of one lesson.
#[derive(Debug)]
pub(crate) struct LessonTally {
    /// Lesson id.
    pub id: String,
    /// Title from the pack, or the id.
    pub title: String,
    /// Not in the pack any more.
    pub retired: bool,
    /// Distinct learners who got the lesson text.
    pub reached: u64,
    /// Distinct learners with any record of the lesson: who its figures are about.
    pub covered: u64,
    /// First-try quiz answers on its items.
    pub first_try: Hits,
    /// Reflection questions of its items answered.
    pub reflections: u64,
    /// Learners whose furthest lesson this is and who went quiet; filled in at the end.
    pub stopped_here: u64,
}

/// Counts of one item.
#[derive(Debug)]
pub(crate) struct ItemTally {
    /// Item id.
    pub id: ItemId,
    /// Index of its lesson in the catalogue.
    pub lesson: usize,
    /// Not in the pack any more.
    pub retired: bool,
    /// First-try answers.
    pub first_try: Hits,
    /// Distinct learners who answered it on the first try.
    pub learners: u64,
    /// Wrong first-try answers per option chosen.
    pub wrong_choices: Vec<u64>,
    /// First-try answers the learner said how sure they were of.
    pub rated: u64,
    /// First-try answers wrong that the learner was sure of: the misconception signal.
    pub confidently_wrong: u64,
}

/// Options beyond this are not counted as wrong choices (quizzes have a handful of buttons).
const MAX_OPTIONS: usize = 32;

impl Catalogue {
    /// The pack's lessons and items, in order.
    pub fn new(pack: Option<&Pack>) -> Self {
        let mut catalogue = Self::default();
        for lesson in pack.map(|pack| pack.lessons.as_slice()).unwrap_or_default() {
            let lesson_idx = catalogue.add_lesson(&lesson.id, &lesson.title, false);
            for item in &lesson.items {
                catalogue.add_item(&item.id, lesson_idx, false);
            }
        }
        catalogue.current_lessons = catalogue.lessons.len();
        catalogue.knows_pack = pack.is_some();
        catalogue
    }

    /// Where lesson `lesson`, sent at `sent_at`, ranks among the lessons a learner got.
    pub(crate) fn furthest(&self, lesson: usize, sent_at: DateTime<Utc>) -> Furthest {
        let in_pack = lesson < self.current_lessons;
        let position = if in_pack { lesson as i64 } else { sent_at.timestamp() };
        Furthest { rank: (in_pack, position), lesson, sent_at }
    }

    /// The index of lesson `id`, adding it as retired when the pack does not have it.
    pub(crate) fn lesson(&mut self, id: &str) -> usize {
        match self.lesson_by_id.get(id) {
            Some(&idx) => idx,
            None => self.add_lesson(id, id, self.knows_pack),
        }
    }

    /// The index of item `id`, adding it (and its lesson) as retired when the pack does not
    /// have it.
    pub(crate) fn item(&mut self, id: &ItemId) -> usize {
        if let Some(&idx) = self.item_by_id.get(id) {
            return idx;
        }
        let lesson_idx = self.lesson(id.lesson());
        self.add_item(id, lesson_idx, self.knows_pack)
    }

    fn add_lesson(&mut self, id: &str, title: &str, retired: bool) -> usize {
        let idx = self.lessons.len();
        self.lessons.push(LessonTally {
            id: id.to_owned(),
            title: title.to_owned(),
            retired,
            reached: 0,
            covered: 0,
            first_try: Hits::default(),
            reflections: 0,
            stopped_here: 0,
        });
        self.lesson_by_id.insert(id.to_owned(), idx);
        idx
    }

    fn add_item(&mut self, id: &ItemId, lesson: usize, retired: bool) -> usize {
        let idx = self.items.len();
        let item = ItemTally {
            id: id.clone(),
            lesson,
            retired,
            first_try: Hits::default(),
            learners: 0,
            wrong_choices: Vec::new(),
            rated: 0,
            confidently_wrong: 0,
        };
        self.items.push(item);
        self.item_by_id.insert(id.clone(), idx);
        idx
    }
}

impl ItemTally {
    /// Counts a wrong first-try choice.
    pub(crate) fn wrong_choice(&mut self, choice: usize) {
        if choice >= MAX_OPTIONS {
            return;
        }
        if self.wrong_choices.len() <= choice {
            self.wrong_choices.resize(choice + 1, 0);
        }
        self.wrong_choices[choice] += 1;
    }

    /// The wrong option chosen most (the lowest index among equals).
    pub(crate) fn most_chosen_wrong(&self) -> Option<usize> {
        let most = self.wrong_choices.iter().copied().max().filter(|&count| count > 0)?;
        self.wrong_choices.iter().position(|&count| count == most)
    }
}

/// What is known of one learner in one cohort.
#[derive(Debug, Default)]
pub(crate) struct LearnerTally {
    /// Enrolled in the cohort by the end of the period (not someone who moved on).
    pub on_roster: bool,
    /// First name, kept only when the report shows names.
    pub name: String,
    /// Got the pack's last lesson: not a drop-off.
    pub finished: bool,
    /// Lessons touched, sorted, with [`REACHED`] and [`COVERED`] flags.
    pub lessons: Vec<(u32, u8)>,
    /// The furthest lesson got, where a drop-off is counted.
    pub furthest: Option<Furthest>,
    /// Distinct UTC day numbers with an answer, sorted.
    pub answer_days: Vec<i32>,
    /// Items answered on the first try, sorted.
    pub quiz_items: Vec<u32>,
    /// The latest answer.
    pub last_answer: Option<DateTime<Utc>>,
    /// Answers of any kind.
    pub answers: u64,
    /// First-try quiz answers.
    pub first_try: Hits,
    /// Answered something in the 7 days before the last 7 (before the report's reference).
    pub active_week_before: bool,
    /// Answered a practice check-in.
    pub checked_in: bool,
}

/// The furthest lesson a learner got.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Furthest {
    /// Pack lessons rank by position and above retired ones; retired ones rank by time sent.
    pub rank: (bool, i64),
    /// Lesson index in the catalogue.
    pub lesson: usize,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// Lesson flag: the learner got the lesson text.
pub(crate) const REACHED: u8 = 1;
/// Lesson flag: the learner has some record of the lesson.
pub(crate) const COVERED: u8 = 2;

impl LearnerTally {
    /// Keeps `lesson` as the furthest if it ranks above the one kept.
    pub(crate) fn reached(&mut self, lesson: Furthest) {
        if self.furthest.is_none_or(|best| lesson.rank > best.rank) {
            self.furthest = Some(lesson);
        }
    }

    /// Sets `flags` on lesson `lesson`; returns the flags that were not set before.
    pub(crate) fn flag_lesson(&mut self, lesson: usize, flags: u8) -> u8 {
        let key = u32::try_from(lesson).unwrap_or(u32::MAX);
        match self.lessons.binary_search_by_key(&key, |&(idx, _)| idx) {
            Ok(pos) => {
                let new = flags & !self.lessons[pos].1;
                self.lessons[pos].1 |= flags;
                new
            }
            Err(pos) => {
                self.lessons.insert(pos, (key, flags));
                flags
            }
        }
    }

    /// Counts an answer on day `day` at `at`.
    pub(crate) fn answered(&mut self, at: DateTime<Utc>, day: i32) {
        self.answers += 1;
        self.last_answer = self.last_answer.max(Some(at));
        insert_sorted(&mut self.answer_days, day);
    }

    /// Notes a first-try answer on item `item`; true when it is the learner's first on it.
    pub(crate) fn first_try_on(&mut self, item: usize) -> bool {
        insert_sorted(&mut self.quiz_items, u32::try_from(item).unwrap_or(u32::MAX))
    }

    /// Lessons whose text the learner got.
    pub(crate) fn lessons_reached(&self) -> u64 {
        self.lessons.iter().filter(|(_, flags)| flags & REACHED != 0).count() as u64
    }
}

/// Inserts `value` into the sorted `set`; true when it was not there.
fn insert_sorted<T: Ord + Copy>(set: &mut Vec<T>, value: T) -> bool {
    match set.binary_search(&value) {
        Ok(_) => false,
        Err(pos) => {
            set.insert(pos, value);
            true
        }
    }
}
