//! The streaming report builder: learners, then deliveries, then answers go in one at a time;
//! each updates counters and is forgotten, so a million answers need no more memory than a few.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::dates::{Period, day_number, monday_of, within_last_week};
use super::options::ReportOptions;
use super::seqset::SeqSet;
use super::tally::{COVERED, CohortTally, LearnerTally, REACHED};
use crate::domain::{
    Answer, AnswerKind, Confidence, Delivery, DeliverySeq, DeliveryState, ItemId, Learner, LearnerId, Memory,
    PracticeOutcome, Purpose,
};
use crate::engine::srs;

/// Counts records as they stream by; [`ReportBuilder::finish`] turns the counts into a
/// [`Report`].
///
/// Feed all learners first, then deliveries, then answers. Records of cohorts not asked for,
/// and learners without a cohort, are ignored.
#[derive(Debug)]
pub(crate) struct ReportBuilder {
    pub(super) options: ReportOptions,
    pub(super) period: Period,
    /// The moment "active in the last 7 days" counts back from.
    pub(super) reference: DateTime<Utc>,
    cohort_by_id: HashMap<String, usize>,
    pub(super) cohorts: Vec<CohortTally>,
    pub(super) learners: HashMap<(usize, LearnerId), LearnerTally>,
    /// Answerable prompts sent in the period and not answered yet.
    unanswered: SeqSet,
    /// The last reflection answer counted, to count each (learner, delivery, question) once.
    last_reflection: Option<(LearnerId, DeliverySeq, usize)>,
    /// Each quiz's memory for the learner whose answers stream by, replayed from their answers.
    replay: Replay,
    /// How each cohort's quizzes are scheduled (its pack's weights, its recall target), by index.
    schedulers: Vec<srs::Scheduler>,
}

/// The spaced-repetition memory of one learner's quizzes, replayed answer by answer (a
/// learner's answers arrive together and in the order given), to know the recall FSRS
/// predicted at each review. Answers outside the period still move the memory on.
#[derive(Debug, Default)]
struct Replay {
    learner: Option<LearnerId>,
    memory: HashMap<ItemId, Memory>,
}

impl Replay {
    /// The recall predicted for `answer` if it is a review of a quiz answered before, after
    /// which the memory moves on as the daemon's did.
    fn predicted(&mut self, answer: &Answer, scheduler: &srs::Scheduler) -> Option<f64> {
        let AnswerKind::Quiz { correct, review, confidence, .. } = answer.kind else { return None };
        if self.learner != Some(answer.learner) {
            self.learner = Some(answer.learner);
            self.memory.clear();
        }
        let before = self.memory.get(&answer.item);
        let predicted =
            before.filter(|_| review).map(|memory| srs::retrievability(memory, scheduler.parameters(), answer.at));
        let grade = confidence.map_or(srs::Grade::of(correct), |confidence| srs::Grade::rated(correct, confidence));
        let after = scheduler.replay(before, grade, answer.at);
        self.memory.insert(answer.item.clone(), after);
        predicted
    }
}

/// What a sent delivery counts as.
enum Prompt<'a> {
    /// A lesson text.
    Lesson(&'a str),
    /// A prompt that expects an answer: quiz, reflection question, practice check-in.
    Answerable,
    /// A practice assignment: a prompt without an answer of its own.
    Other,
}

impl ReportBuilder {
    /// A builder with nothing counted yet.
    pub fn new(options: ReportOptions) -> Self {
        let period = Period::new(options.since, options.until);
        let reference = period.reference(options.now);
        let cohort_by_id = options.cohorts.iter().enumerate().map(|(idx, info)| (info.id.clone(), idx)).collect();
        let cohorts = options.cohorts.iter().cloned().map(CohortTally::new).collect();
        let schedulers =
            options.cohorts.iter().map(|info| srs::Scheduler::new(info.weights, info.target_retention)).collect();
        Self {
            options,
            period,
            reference,
            cohort_by_id,
            cohorts,
            learners: HashMap::new(),
            unanswered: SeqSet::default(),
            last_reflection: None,
            replay: Replay::default(),
            schedulers,
        }
    }

    /// Counts a learner on their cohort's roster (when enrolled by the end of the period).
    pub(crate) fn learner(&mut self, learner: &Learner) {
        let Some(cohort_idx) = self.cohort_idx(&learner.cohort) else { return };
        if !self.period.enrolled_by_end(learner.enrolled_at) {
            return;
        }
        let keep_name = self.options.per_learner.as_ref().is_some_and(|per_learner| per_learner.names);
        let tally = self.learners.entry((cohort_idx, learner.id)).or_default();
        if !tally.on_roster {
            self.cohorts[cohort_idx].roster += 1;
        }
        tally.on_roster = true;
        tally.finished = learner.progress.finished_at.is_some_and(|at| at <= self.reference);
        if keep_name {
            tally.name.clone_from(&learner.name);
        }
    }

    /// Counts a delivery: prompts Telegram accepted in the period, lessons learners got.
    pub(crate) fn delivery(&mut self, delivery: &Delivery) {
        let DeliveryState::Sent { at, .. } = delivery.state else { return };
        let Some(cohort_idx) = self.cohort_idx(&delivery.cohort) else { return };
        let Some(prompt) = prompt_of(&delivery.purpose) else { return };
        if !self.period.contains(at) {
            return;
        }
        let cohort = &mut self.cohorts[cohort_idx];
        cohort.prompts_sent += 1;
        cohort.week(monday_of(day_number(at))).prompts_sent += 1;
        match prompt {
            Prompt::Answerable => {
                cohort.answerable_sent += 1;
                cohort.week(monday_of(day_number(at))).answerable_sent += 1;
                self.unanswered.insert(delivery.seq);
            }
            Prompt::Lesson(lesson_id) => {
                let lesson = cohort.catalogue.lesson(lesson_id);
                let furthest = cohort.catalogue.furthest(lesson, at);
                let learner = self.learners.entry((cohort_idx, delivery.learner)).or_default();
                learner.reached(furthest);
                let new_flags = learner.flag_lesson(lesson, REACHED | COVERED);
                count_lesson_flags(cohort, lesson, new_flags);
            }
            Prompt::Other => {}
        }
    }

    /// Counts an answer in the period: response, time to answer, accuracy, reflections,
    /// practice, the learner's activity.
    pub(crate) fn answer(&mut self, answer: &Answer) {
        let Some(cohort_idx) = self.cohort_idx(&answer.cohort) else { return };
        let predicted = self.replay.predicted(answer, &self.schedulers[cohort_idx]);
        if !self.period.contains(answer.at) {
            return;
        }
        let first_answer_to_prompt = self.unanswered.take(answer.delivery);
        let is_new_reflection = self.is_new_reflection(answer);
        let cohort = &mut self.cohorts[cohort_idx];
        let learner = self.learners.entry((cohort_idx, answer.learner)).or_default();
        let day = day_number(answer.at);
        learner.answered(answer.at, day);
        learner.active_week_before |= within_last_week(answer.at, self.reference - Duration::days(7));
        if first_answer_to_prompt {
            count_response(cohort, answer);
        }
        let item = cohort.catalogue.item(&answer.item);
        let lesson = cohort.catalogue.items[item].lesson;
        let new_flags = learner.flag_lesson(lesson, COVERED);
        count_lesson_flags(cohort, lesson, new_flags);
        let place = Place { item, lesson, monday: monday_of(day) };
        match &answer.kind {
            AnswerKind::Quiz { choice, correct, review, confidence } => {
                let quiz = QuizAnswer { choice: *choice, correct: *correct, review: *review, confidence: *confidence };
                count_quiz(cohort, learner, place, quiz);
                if let Some(recall) = predicted {
                    cohort.predicted.add(recall);
                    cohort.week(place.monday).predicted.add(recall);
                }
            }
            AnswerKind::Reflect { question, text, shared } => {
                // Texts not shared are never kept: they cannot end up in any format.
                let shared_text = shared.then(|| text.clone());
                count_reflection(cohort, place, *question, is_new_reflection, shared_text);
            }
            AnswerKind::Practice { outcome } => {
                learner.checked_in = true;
                count_practice(cohort, *outcome);
            }
            AnswerKind::PracticeNote { .. } => {}
        }
    }

    fn cohort_idx(&self, cohort: &str) -> Option<usize> {
        self.cohort_by_id.get(cohort).copied()
    }

    /// True unless this reflection answer repeats the key of the one before (answers arrive in
    /// store key order, so repeats are adjacent).
    fn is_new_reflection(&mut self, answer: &Answer) -> bool {
        let AnswerKind::Reflect { question, .. } = answer.kind else { return false };
        let key = Some((answer.learner, answer.delivery, question));
        let is_new = self.last_reflection != key;
        self.last_reflection = key;
        is_new
    }
}

/// What a delivery's purpose counts as; `None` for replies, milestones, the colleagues' message
/// and what leads get (their digests) or are asked (to become one), which are not prompts. The
/// team question is a prompt, but its answers are notes, not answers, so it is not answerable.
fn prompt_of(purpose: &Purpose) -> Option<Prompt<'_>> {
    match purpose {
        Purpose::Lesson { lesson } => Some(Prompt::Lesson(lesson)),
        Purpose::Quiz { .. } | Purpose::Reflect { .. } | Purpose::PracticeCheck { .. } => Some(Prompt::Answerable),
        Purpose::Practice { .. } | Purpose::TeamQuestion => Some(Prompt::Other),
        Purpose::Milestone
        | Purpose::Reply
        | Purpose::Colleagues
        | Purpose::Digest { .. }
        | Purpose::LeadSwitch { .. } => None,
    }
}

/// Where an answer belongs: its item, lesson and week.
#[derive(Clone, Copy)]
struct Place {
    /// Item index in the cohort's catalogue.
    item: usize,
    /// Lesson index in the cohort's catalogue.
    lesson: usize,
    /// Day number of the Monday of the answer's week.
    monday: i32,
}

/// What a quiz answer says.
#[derive(Clone, Copy)]
struct QuizAnswer {
    choice: usize,
    correct: bool,
    review: bool,
    confidence: Option<Confidence>,
}

/// Counts a quiz answer: first tries per cohort, week, lesson, item (with how sure the learner
/// was) and learner; reviews per cohort and week.
fn count_quiz(cohort: &mut CohortTally, learner: &mut LearnerTally, place: Place, quiz: QuizAnswer) {
    let QuizAnswer { choice, correct, review, confidence } = quiz;
    if review {
        cohort.review.add(correct);
        cohort.week(place.monday).review.add(correct);
        return;
    }
    cohort.first_try.add(correct);
    cohort.week(place.monday).first_try.add(correct);
    cohort.catalogue.lessons[place.lesson].first_try.add(correct);
    learner.first_try.add(correct);
    let first_for_learner = learner.first_try_on(place.item);
    let item = &mut cohort.catalogue.items[place.item];
    item.first_try.add(correct);
    item.learners += u64::from(first_for_learner);
    item.rated += u64::from(confidence.is_some());
    item.confidently_wrong += u64::from(!correct && confidence == Some(Confidence::Sure));
    if !correct {
        item.wrong_choice(choice);
    }
}

/// Counts a reflection answer once per question, and keeps its text only when shared.
fn count_reflection(
    cohort: &mut CohortTally,
    place: Place,
    question: usize,
    is_new: bool,
    shared_text: Option<String>,
) {
    if is_new {
        cohort.reflections += 1;
        cohort.catalogue.lessons[place.lesson].reflections += 1;
    }
    if let Some(text) = shared_text {
        cohort.shared.entry((place.item, question)).or_default().push(text);
    }
}

/// Counts the first answer to a prompt sent in the period, in the week the prompt was sent.
fn count_response(cohort: &mut CohortTally, answer: &Answer) {
    cohort.answered += 1;
    let sent = answer.prompt_sent_at.unwrap_or(answer.at);
    cohort.week(monday_of(day_number(sent))).answered += 1;
    if let Some(sent_at) = answer.prompt_sent_at {
        cohort.to_answer.add((answer.at - sent_at).num_milliseconds() as f64 / 1000.0);
    }
}

/// Counts the learner in a lesson's distinct-learner figures for each flag new to them.
fn count_lesson_flags(cohort: &mut CohortTally, lesson: usize, new_flags: u8) {
    let lesson = &mut cohort.catalogue.lessons[lesson];
    lesson.reached += u64::from(new_flags & REACHED != 0);
    lesson.covered += u64::from(new_flags & COVERED != 0);
}

/// Counts a practice check-in by outcome.
fn count_practice(cohort: &mut CohortTally, outcome: PracticeOutcome) {
    use PracticeOutcome::{Done, NotYet, Partly};
    let counter = match outcome {
        Done => &mut cohort.practice.done,
        Partly => &mut cohort.practice.partly,
        NotYet => &mut cohort.practice.not_yet,
    };
    *counter += 1;
}
