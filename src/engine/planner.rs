//! The one planner: what a learner gets in a scheduled slot, as a pure function of their state,
//! the pack, the cohort's policy and the time.
//!
//! Order: due reviews first (at most the per-slot cap), then practice follow-ups, then the
//! lesson (a reminder of an unanswered reflection, the rest of the current lesson, or the next
//! one). Never more scheduled messages a day than the policy allows, nothing in quiet hours or
//! on days off, all in the learner's own time zone. Messages that answer the learner (the next
//! step after an answer) are the learner's own pace and do not count against the cap.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::session::{advance, next_lesson, quiz_draft, reflect_draft, start_next_lesson};
use super::{Draft, Milestone, Outcome, Wait, srs};
use crate::content::Pack;
use crate::domain::{DayCount, ItemId, Learner, Purpose, WaitKind};
use crate::schedule::policy::Policy;

/// How long an answer waits for its "how sure?" tap at most.
const CONFIDENCE_OPEN_FOR: Duration = Duration::hours(12);
/// An unanswered reflection question is brought up again after this long.
const REMIND_AFTER: Duration = Duration::hours(12);

/// Everything the planner needs besides the learner.
#[derive(Debug, Clone, Copy)]
pub struct SlotContext<'a> {
    /// The cohort's pack.
    pub pack: &'a Pack,
    /// The cohort's pacing rules.
    pub policy: &'a Policy,
    /// The learner's time zone.
    pub tz: Tz,
    /// The time of the slot.
    pub now: DateTime<Utc>,
    /// Which new lessons the slot may start.
    pub lessons: NewLessons,
}

/// Which new lessons a slot may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewLessons {
    /// The next one: on a schedule, every slot moves the learner on by a lesson.
    OnePerSlot,
    /// On a track: every lesson among the pack's first `n` that is not started yet, in order,
    /// as far as the daily cap allows (the track has released `n` by today).
    Released(usize),
}

/// Plans the slot for `learner`, updating their state; the outcome's drafts are what to send.
pub fn plan_slot(learner: &mut Learner, ctx: &SlotContext<'_>) -> Outcome {
    let local = ctx.now.with_timezone(&ctx.tz).naive_local();
    if !ctx.policy.allows(local) {
        return Outcome::default();
    }
    // An answer still waiting for its "how sure?" after half a day keeps the grade it got, and
    // its buttons count no more. A younger one may still come (on a dense schedule slots come
    // faster than people tap); the lesson goes on meanwhile, and the confidence only regrades.
    learner.progress.confidence.retain(|pending| ctx.now - pending.answered_at < CONFIDENCE_OPEN_FOR);
    let today = local.date();
    let budget = room_today(learner, ctx.policy, today);
    let mut outcome = Outcome::default();
    if budget > 0 {
        let before_lesson = budget.saturating_sub(lesson_reserve(learner, ctx));
        add_reviews(learner, ctx, before_lesson, &mut outcome);
        add_follow_ups(learner, ctx, before_lesson, &mut outcome);
        add_lesson(learner, ctx, budget, &mut outcome);
        add_mastery(learner, ctx, budget, &mut outcome);
    }
    count_today(learner, today, outcome.drafts.len());
    outcome
}

/// On a track, the room a released lesson needs (its text and first prompt), kept free of
/// reviews and follow-ups: the track's days are a promise, and a review can wait a day where a
/// lesson would fall behind. Nothing on a schedule, or with nothing released to start.
fn lesson_reserve(learner: &Learner, ctx: &SlotContext<'_>) -> usize {
    let NewLessons::Released(released) = ctx.lessons else { return 0 };
    let idle = learner.progress.queue.is_empty() && learner.progress.waiting.is_none();
    let due = next_lesson_index(learner, ctx.pack).filter(|index| *index < released);
    match due.map(|index| &ctx.pack.lessons[index]) {
        Some(lesson) if idle => {
            if lesson.items.is_empty() {
                1
            } else {
                2
            }
        }
        _ => 0,
    }
}

/// How many more scheduled messages the learner may get on their local date `today`: the
/// policy's daily cap less what slots sent that day.
pub(crate) fn room_today(learner: &Learner, policy: &Policy, today: NaiveDate) -> usize {
    let sent_today = learner.progress.today.filter(|day| day.date == today).map_or(0, |day| day.messages);
    policy.max_messages_per_day.saturating_sub(sent_today) as usize
}

/// Counts `n` more scheduled messages on the learner's local date `today` (the daily cap).
pub(crate) fn count_today(learner: &mut Learner, today: NaiveDate, n: usize) {
    if n == 0 {
        return;
    }
    let sent_today = learner.progress.today.filter(|day| day.date == today).map_or(0, |day| day.messages);
    let sent = sent_today.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    learner.progress.today = Some(DayCount { date: today, messages: sent });
}

/// Quiz items due again, most overdue first, that are still in the pack and not mastered.
///
/// A review that is out and unanswered is not sent again, however long it waits: the question
/// still stands (its buttons stay live), so re-sending would only pile up copies of it. It
/// waits for its answer; a review Telegram never delivered is opened again when the delivery
/// fails (`service::deliveries`).
pub(crate) fn due_reviews(learner: &Learner, pack: &Pack, now: DateTime<Utc>) -> Vec<(ItemId, usize)> {
    let waiting_quiz =
        learner.progress.waiting.as_ref().filter(|waiting| waiting.kind == WaitKind::Quiz).map(|waiting| &waiting.item);
    let mut due: Vec<(DateTime<Utc>, ItemId, usize)> = learner
        .progress
        .memory
        .iter()
        .filter(|(item, memory)| {
            memory.due <= now && !srs::is_mastered(memory) && memory.asked.is_none() && Some(*item) != waiting_quiz
        })
        .filter_map(|(item, memory)| {
            let quiz = pack.item(item)?.1.as_quiz()?;
            Some((memory.due, item.clone(), quiz.correct))
        })
        .collect();
    due.sort();
    due.into_iter().map(|(_, item, correct)| (item, correct)).collect()
}

fn add_reviews(learner: &mut Learner, ctx: &SlotContext<'_>, budget: usize, outcome: &mut Outcome) {
    let cap = budget.min(ctx.policy.max_reviews_per_slot as usize);
    for (item, correct) in due_reviews(learner, ctx.pack, ctx.now).into_iter().take(cap) {
        if let Some(memory) = learner.progress.memory.get_mut(&item) {
            memory.asked = Some(ctx.now);
        }
        outcome.drafts.push(quiz_draft(&item, correct, true));
    }
}

fn add_follow_ups(learner: &mut Learner, ctx: &SlotContext<'_>, budget: usize, outcome: &mut Outcome) {
    let pack = ctx.pack;
    let follow_ups = std::mem::take(&mut learner.progress.follow_ups);
    for follow_up in follow_ups {
        let still_there = pack.item(&follow_up.item).is_some_and(|(_, item)| item.as_practice().is_some());
        if !still_there {
            continue;
        }
        if follow_up.due <= ctx.now && outcome.drafts.len() < budget {
            outcome.drafts.push(Draft::content(Purpose::PracticeCheck { item: follow_up.item }));
        } else {
            learner.progress.follow_ups.push(follow_up);
        }
    }
}

fn add_lesson(learner: &mut Learner, ctx: &SlotContext<'_>, budget: usize, outcome: &mut Outcome) {
    let remaining = budget.saturating_sub(outcome.drafts.len());
    if remaining == 0 || remind_reflection(learner, ctx, outcome) {
        return;
    }
    learner.progress.waiting = None;
    let mut waits = false;
    if !learner.progress.queue.is_empty() {
        let rest = advance(learner, ctx.pack, ctx.now, remaining);
        waits = rest.waits();
        outcome.drafts.extend(rest.drafts);
    }
    if waits || !learner.progress.queue.is_empty() {
        return;
    }
    start_lessons(learner, ctx, budget, outcome);
}

/// Starts the next lessons the slot may start (one on a schedule; on a track, each one
/// released and not started yet, while none waits for an answer), each only if it fits in
/// `budget` whole (its text and first prompt). Past the last lesson: the pack is finished.
fn start_lessons(learner: &mut Learner, ctx: &SlotContext<'_>, budget: usize, outcome: &mut Outcome) {
    let mut started = 0;
    loop {
        let remaining = budget.saturating_sub(outcome.drafts.len());
        let may_start = match ctx.lessons {
            NewLessons::OnePerSlot => started == 0,
            NewLessons::Released(n) => next_lesson_index(learner, ctx.pack).is_some_and(|index| index < n),
        };
        if remaining == 0 || (started > 0 && ctx.lessons == NewLessons::OnePerSlot) {
            return;
        }
        match next_lesson(learner, ctx.pack) {
            Some(_) if !may_start => return,
            Some(lesson) => {
                let needed = if lesson.items.is_empty() { 1 } else { 2 };
                if remaining < needed {
                    return;
                }
                start_next_lesson(learner, ctx.pack);
                started += 1;
                let next = advance(learner, ctx.pack, ctx.now, remaining);
                let stop = next.waits() || !learner.progress.queue.is_empty();
                outcome.drafts.extend(next.drafts);
                if stop {
                    return;
                }
            }
            None => {
                if learner.progress.finished_at.is_none() && !learner.progress.lessons_started.is_empty() {
                    learner.progress.finished_at = Some(ctx.now);
                    outcome.drafts.push(Draft::milestone(Milestone::PackFinished));
                }
                return;
            }
        }
    }
}

/// Where in the pack the next lesson to start is (a track releases lessons by position).
fn next_lesson_index(learner: &Learner, pack: &Pack) -> Option<usize> {
    let started = &learner.progress.lessons_started;
    pack.lessons.iter().position(|lesson| !started.contains(&lesson.id))
}

/// On a track, after an answer finished the lesson in hand: the next lessons the track has
/// released, as a slot would start them (counted against the daily cap, never in quiet hours
/// or on a day off), so two lessons due the same day both come when the first is done.
/// `next` is what the answer brings already (the rest of the lesson): only when none of it
/// waits and nothing of the lesson is left does a new one start.
pub(crate) fn continue_track(learner: &mut Learner, ctx: &SlotContext<'_>, next: &Outcome) -> Outcome {
    let mut outcome = Outcome::default();
    let local = ctx.now.with_timezone(&ctx.tz).naive_local();
    let idle = !next.waits() && learner.progress.waiting.is_none() && learner.progress.queue.is_empty();
    if !matches!(ctx.lessons, NewLessons::Released(_)) || !idle || !ctx.policy.allows(local) {
        return outcome;
    }
    let today = local.date();
    let budget = room_today(learner, ctx.policy, today);
    if next_lesson(learner, ctx.pack).is_some() {
        start_lessons(learner, ctx, budget, &mut outcome);
    }
    count_today(learner, today, outcome.drafts.len());
    outcome
}

/// Asks an unanswered reflection question once more; true if it did (the lesson waits, now on
/// the reminder).
fn remind_reflection(learner: &Learner, ctx: &SlotContext<'_>, outcome: &mut Outcome) -> bool {
    let Some(waiting) = learner.progress.waiting.as_ref() else {
        return false;
    };
    let WaitKind::Reflect { question } = waiting.kind else {
        return false;
    };
    if waiting.reminded || ctx.now - waiting.since < REMIND_AFTER {
        return false;
    }
    outcome.drafts.push(reflect_draft(&waiting.item, question, Wait { since: waiting.since, reminded: true }));
    true
}

/// Once the pack is done and every quiz is mastered: one congratulation.
fn add_mastery(learner: &mut Learner, ctx: &SlotContext<'_>, budget: usize, outcome: &mut Outcome) {
    let progress = &learner.progress;
    if progress.finished_at.is_none() || progress.mastered_at.is_some() || outcome.drafts.len() >= budget {
        return;
    }
    let quizzes: Vec<&ItemId> =
        ctx.pack.items().filter(|(_, item)| item.as_quiz().is_some()).map(|(_, item)| &item.id).collect();
    let all_mastered =
        !quizzes.is_empty() && quizzes.iter().all(|item| progress.memory.get(item).is_some_and(srs::is_mastered));
    if all_mastered {
        learner.progress.mastered_at = Some(ctx.now);
        outcome.drafts.push(Draft::milestone(Milestone::AllMastered));
    }
}
