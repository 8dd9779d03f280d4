//! Walking through a lesson: its steps (text, quizzes, reflection, practice) are queued when it
//! starts; steps go out until one needs an answer, and the learner's answer sends the next ones,
//! at their own pace. Also which open question a free-text message answers ([`text_target`]),
//! the weekly team question included.

use chrono::{DateTime, Duration, Utc};

use super::{Draft, Extra, Outcome, Wait};
use crate::content::{ItemKind, Pack};
use crate::domain::{DeliverySeq, FollowUp, ItemId, Learner, OpenKind, OpenQuestion, Purpose, Step, TeamAsked};

/// How long a free-text question stays open for answers that do not reply to it explicitly.
pub(crate) const OPEN_FOR: Duration = Duration::hours(36);

/// How long the team question stays open for answers that do not reply to it: four days, so a
/// question that comes on a Friday afternoon can still be answered on Monday without replying
/// to it.
pub(crate) const TEAM_OPEN_FOR: Duration = Duration::days(4);

/// The first lesson the learner has not started, if any.
pub(crate) fn next_lesson<'a>(learner: &Learner, pack: &'a Pack) -> Option<&'a crate::content::Lesson> {
    let started = &learner.progress.lessons_started;
    pack.lessons.iter().find(|lesson| !started.contains(&lesson.id)).map(|lesson| lesson.as_ref())
}

/// Queues the steps of the first lesson the learner has not started; false if none is left.
pub(crate) fn start_next_lesson(learner: &mut Learner, pack: &Pack) -> bool {
    let Some(lesson) = next_lesson(learner, pack) else {
        return false;
    };
    learner.progress.lessons_started.push(lesson.id.clone());
    learner.progress.queue.push(Step::Lesson { lesson: lesson.id.clone() });
    for item in &lesson.items {
        learner.progress.queue.push(Step::Item { item: item.id.clone() });
    }
    true
}

/// Sends queued steps until one needs an answer (its draft waits) or `budget` messages went out.
/// Steps whose content left the pack are skipped (retired), never an error.
pub(crate) fn advance(learner: &mut Learner, pack: &Pack, now: DateTime<Utc>, budget: usize) -> Outcome {
    let mut outcome = Outcome::default();
    while outcome.drafts.len() < budget && !learner.progress.queue.is_empty() {
        let step = learner.progress.queue.remove(0);
        match step {
            Step::Lesson { lesson } => {
                if pack.lesson(&lesson).is_some() {
                    outcome.drafts.push(Draft::content(Purpose::Lesson { lesson }));
                }
            }
            Step::Item { item } => {
                item_draft(learner, pack, &item, now, &mut outcome);
                if outcome.waits() {
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// Adds the draft for item `item_id`, if it is still in the pack; a quiz or a reflection waits
/// for its answer.
fn item_draft(learner: &mut Learner, pack: &Pack, item_id: &ItemId, now: DateTime<Utc>, outcome: &mut Outcome) {
    let Some((_, item)) = pack.item(item_id) else {
        return;
    };
    match &item.kind {
        ItemKind::Quiz(quiz) => {
            let first_try = quiz_draft(item_id, quiz.correct, false);
            outcome.drafts.push(Draft { wait: Some(Wait::new(now)), ..first_try });
        }
        ItemKind::Reflect(_) => outcome.drafts.push(reflect_draft(item_id, 0, Wait::new(now))),
        ItemKind::Practice(practice) => {
            outcome.drafts.push(Draft::content(Purpose::Practice { item: item_id.clone() }));
            learner.progress.follow_ups.retain(|follow_up| follow_up.item != *item_id);
            learner.progress.follow_ups.push(FollowUp {
                item: item_id.clone(),
                due: now + Duration::days(i64::from(practice.follow_up_days)),
            });
        }
    }
}

/// A quiz question (first try or review).
pub(crate) fn quiz_draft(item: &ItemId, correct: usize, review: bool) -> Draft {
    Draft::content(Purpose::Quiz { item: item.clone(), correct, review })
}

/// Question `question` of a reflection, which waits for its answer (`wait`; a reminder says so).
pub(crate) fn reflect_draft(item: &ItemId, question: usize, wait: Wait) -> Draft {
    let extra = if wait.reminded { Extra::Reminder } else { Extra::None };
    Draft { purpose: Purpose::Reflect { item: item.clone(), question }, extra, wait: Some(wait) }
}

/// After a reflection answer: the next question of the chain, else the rest of the lesson.
pub(crate) fn after_reflection(
    learner: &mut Learner,
    pack: &Pack,
    item_id: &ItemId,
    question: usize,
    now: DateTime<Utc>,
) -> Outcome {
    let n_questions =
        pack.item(item_id).and_then(|(_, item)| item.as_reflect()).map_or(0, |reflect| reflect.questions.len());
    learner.progress.waiting = None;
    if question + 1 < n_questions {
        return Outcome { drafts: vec![reflect_draft(item_id, question + 1, Wait::new(now))] };
    }
    advance(learner, pack, now, usize::MAX)
}

/// After the quiz the learner was waiting on is answered: the rest of the lesson.
pub(crate) fn after_quiz(learner: &mut Learner, pack: &Pack, now: DateTime<Utc>) -> Outcome {
    learner.progress.waiting = None;
    advance(learner, pack, now, usize::MAX)
}

/// Records that delivery `delivery` asked a free-text question, so a plain text message can be
/// routed to it.
pub(crate) fn open_question(
    learner: &mut Learner,
    delivery: DeliverySeq,
    item: &ItemId,
    kind: OpenKind,
    now: DateTime<Utc>,
) {
    let open = &mut learner.progress.open;
    open.retain(|question| now - question.asked_at < OPEN_FOR && !(question.item == *item && question.kind == kind));
    open.push(OpenQuestion { delivery, item: item.clone(), kind, asked_at: now });
}

/// The open question a free-text message answers: the one it replies to, else the newest one
/// asked within [`OPEN_FOR`].
pub(crate) fn question_for_text(
    learner: &Learner,
    reply_to: Option<DeliverySeq>,
    now: DateTime<Utc>,
) -> Option<OpenQuestion> {
    let open = &learner.progress.open;
    if let Some(delivery) = reply_to
        && let Some(question) = open.iter().find(|question| question.delivery == delivery)
    {
        return Some(question.clone());
    }
    open.iter().rev().find(|question| now - question.asked_at < OPEN_FOR).cloned()
}

/// What a free-text message answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextTarget {
    /// A question of a lesson: a reflection question, or the note on a practice check-in.
    Item(OpenQuestion),
    /// The weekly team question sent as delivery `delivery`.
    Team {
        /// The delivery that asked it.
        delivery: DeliverySeq,
    },
}

#[cfg(test)]
impl TextTarget {
    /// The delivery that asked the question.
    pub(crate) fn delivery(&self) -> DeliverySeq {
        match self {
            Self::Item(question) => question.delivery,
            Self::Team { delivery } => *delivery,
        }
    }
}

/// The question a free-text message answers:
///
/// 1. a Telegram reply to a message that asked a question answers that question (`replied`,
///    which the service reads from the message replied to), open or not, so a learner can
///    always pick the question;
/// 2. otherwise the most recently asked question that is still open: a reflection question or
///    a practice note within [`OPEN_FOR`], the team question within [`TEAM_OPEN_FOR`]; of two
///    asked at the same moment, the later delivery;
/// 3. otherwise none (the learner is told no question is waiting).
///
/// So with a reflection and the team question both open, a plain message answers whichever
/// came last, and a reply to the other one answers that one.
pub(crate) fn text_target(learner: &Learner, replied: Option<TextTarget>, now: DateTime<Utc>) -> Option<TextTarget> {
    if replied.is_some() {
        return replied;
    }
    let item = question_for_text(learner, None, now).map(|question| (question.asked_at, question.delivery, question));
    let team = learner.team.open.as_ref().filter(|asked| now - asked.asked_at < TEAM_OPEN_FOR);
    match (item, team) {
        (Some((asked_at, delivery, _)), Some(team)) if (team.asked_at, team.delivery) > (asked_at, delivery) => {
            Some(TextTarget::Team { delivery: team.delivery })
        }
        (Some((_, _, question)), _) => Some(TextTarget::Item(question)),
        (None, Some(team)) => Some(TextTarget::Team { delivery: team.delivery }),
        (None, None) => None,
    }
}

/// Records that delivery `delivery` asked the team question at `now` (it replaces an earlier
/// one: only the newest team question is open).
pub(crate) fn open_team_question(learner: &mut Learner, delivery: DeliverySeq, now: DateTime<Utc>) {
    learner.team.open = Some(TeamAsked { delivery, asked_at: now });
}

/// Closes the team question of delivery `delivery` once it is answered.
pub(crate) fn close_team_question(learner: &mut Learner, delivery: DeliverySeq) {
    if learner.team.open.as_ref().is_some_and(|asked| asked.delivery == delivery) {
        learner.team.open = None;
    }
}

/// Closes an answered question.
pub(crate) fn close_question(learner: &mut Learner, delivery: DeliverySeq, kind: OpenKind) {
    learner.progress.open.retain(|question| !(question.delivery == delivery && question.kind == kind));
}
