//! Quiz presses: first tries and reviews, which update the spaced-repetition memory. Where the
//! cohort asks how sure the learner is (`confidence`, on by default) an answer takes two taps:
//! the option, recorded and graded at once as if nothing were asked, then "sure" or "not sure",
//! which may grade it again (right but not sure: Hard) and brings the verdict and the rest of
//! the lesson. Every press is recorded at most once; forged or stale button data changes nothing.

use chrono::{DateTime, Utc};

use super::{Commit, Handled, Service, cohort_of};
use crate::chat::Person;
use crate::content::{Pack, Quiz};
use crate::domain::{Answer, AnswerKind, Confidence, DeliverySeq, ItemId, Learner, Purpose};
use crate::engine::{Draft, Outcome, answers};
use crate::i18n::{Lang, tr};
use crate::render;
use crate::store::{StorageExt, StoreError};

/// What a quiz delivery asked, as it was sent.
struct Asked {
    item: ItemId,
    /// The right option when it was sent.
    correct: usize,
    review: bool,
}

impl Service {
    /// The first tap: option `option` of the quiz sent as delivery `seq`.
    pub(super) fn answer_quiz(
        &self,
        from: &Person,
        seq: DeliverySeq,
        option: usize,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                return Ok(Handled::toast(tr(from.language.unwrap_or(Lang::En), "chat.not_enrolled")));
            };
            let lang = learner.lang;
            let delivery = tx.delivery(seq)?;
            let Some(asked) = delivery.as_ref().and_then(|d| asked(&d.purpose)) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            let created = delivery.as_ref().map_or(now, |d| d.created);
            if tx.answer(seq, 0)?.is_some() || (asked.review && !review_is_open(&learner, &asked.item, created)) {
                return Ok(Handled::toast(tr(lang, "quiz.already")));
            }
            let pack = self.pack_of(&learner.cohort);
            let quiz = quiz_as_sent(pack.as_deref(), &asked);
            if option >= quiz.as_ref().map_or(16, |quiz| quiz.options.len()) {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            }
            let is_correct = option == asked.correct;
            let kind = AnswerKind::Quiz { choice: option, correct: is_correct, review: asked.review, confidence: None };
            let sent_at = delivery.as_ref().and_then(|d| d.state.sent_at());
            self.record(tx, &learner, seq, &asked.item, sent_at, kind, now)?;
            self.mark_active(&mut learner, now);
            let cohort = cohort_of(&self.settings, &learner);
            let scheduler = self.scheduler_of(&learner);
            let pack_lang = pack.as_ref().map_or(lang, |pack| pack.language);
            let mut outcome = Outcome::default();
            // Confidence needs the question on screen: without the message (or the content) to
            // edit, the answer gets its verdict at once, as with confidence off.
            if let (Some(quiz), Some(message_id), true) = (&quiz, message_id, cohort.is_some_and(|c| c.confidence)) {
                answers::quiz_answered_awaiting_confidence(&mut learner, &asked.item, seq, is_correct, &scheduler, now);
                let asking = render::quiz_confidence(pack_lang, quiz, seq, option, asked.review);
                outcome.drafts.push(Draft::edit(message_id, asking));
                let to_send =
                    self.commit(tx, Some(learner), outcome, Commit { pack: pack.as_deref(), slot: None, now })?;
                return Ok(Handled { to_send, recorded_answer: true, ..Handled::default() });
            }
            let mut next =
                answers::quiz_answered(&mut learner, pack.as_deref(), &asked.item, seq, is_correct, &scheduler, now);
            self.continue_track(&mut learner, pack.as_deref(), now, &mut next);
            let shown = Shown { choice: option, correct: is_correct, review: asked.review, confidence: None };
            outcome.drafts.push(verdict(pack_lang, quiz.as_ref(), message_id, shown));
            outcome.drafts.extend(next.drafts);
            let toast = tr(lang, if is_correct { "quiz.toast_right" } else { "quiz.toast_wrong" });
            let to_send = self.commit(tx, Some(learner), outcome, Commit { pack: pack.as_deref(), slot: None, now })?;
            Ok(Handled { toast: Some(toast.to_owned()), to_send, recorded_answer: true, ..Handled::default() })
        })
    }

    /// The second tap: how sure the learner was of their answer to the quiz sent as delivery
    /// `seq`. Only while that answer waits for it; otherwise a toast and nothing else.
    pub(super) fn answer_confidence(
        &self,
        from: &Person,
        seq: DeliverySeq,
        sure: bool,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                return Ok(Handled::toast(tr(from.language.unwrap_or(Lang::En), "chat.not_enrolled")));
            };
            let lang = learner.lang;
            let asked = tx.delivery(seq)?.and_then(|d| asked(&d.purpose));
            let answer = tx.answer(seq, 0)?;
            let (Some(asked), Some(answer)) = (asked, answer) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            let AnswerKind::Quiz { choice, correct, review, confidence: None } = answer.kind else {
                let rated = matches!(answer.kind, AnswerKind::Quiz { confidence: Some(_), .. });
                return Ok(Handled::toast(tr(lang, if rated { "quiz.already" } else { "chat.stale_button" })));
            };
            let confidence = if sure { Confidence::Sure } else { Confidence::NotSure };
            let scheduler = self.scheduler_of(&learner);
            let pack = self.pack_of(&learner.cohort);
            let Some(mut next) =
                answers::confidence_given(&mut learner, pack.as_deref(), seq, correct, confidence, &scheduler, now)
            else {
                return Ok(Handled::toast(tr(lang, "quiz.confidence_late")));
            };
            let kind = AnswerKind::Quiz { choice, correct, review, confidence: Some(confidence) };
            tx.put_answer(&Answer { kind, ..answer })?;
            self.mark_active(&mut learner, now);
            self.continue_track(&mut learner, pack.as_deref(), now, &mut next);
            let quiz = quiz_as_sent(pack.as_deref(), &asked);
            let pack_lang = pack.as_ref().map_or(lang, |pack| pack.language);
            let mut outcome = Outcome::default();
            let shown = Shown { choice, correct, review, confidence: Some(confidence) };
            outcome.drafts.push(verdict(pack_lang, quiz.as_ref(), message_id, shown));
            outcome.drafts.extend(next.drafts);
            let toast = tr(lang, if correct { "quiz.toast_right" } else { "quiz.toast_wrong" });
            let to_send = self.commit(tx, Some(learner), outcome, Commit { pack: pack.as_deref(), slot: None, now })?;
            Ok(Handled { toast: Some(toast.to_owned()), to_send, ..Handled::default() })
        })
    }
}

/// What a delivery asked, if it was a quiz.
fn asked(purpose: &Purpose) -> Option<Asked> {
    match purpose {
        Purpose::Quiz { item, correct, review } => {
            Some(Asked { item: item.clone(), correct: *correct, review: *review })
        }
        _ => None,
    }
}

/// The quiz as the pack has it now, with the right option it had when it was sent (an edit of
/// the content cannot change a verdict); `None` when it left the pack.
fn quiz_as_sent(pack: Option<&Pack>, asked: &Asked) -> Option<Quiz> {
    let mut quiz = pack?.item(&asked.item)?.1.as_quiz()?.clone();
    quiz.correct = asked.correct.min(quiz.options.len().saturating_sub(1));
    Some(quiz)
}

/// The answer a verdict is about.
struct Shown {
    choice: usize,
    correct: bool,
    review: bool,
    confidence: Option<Confidence>,
}

/// The verdict: the quiz message edited to show it, or, without the message or the content, a
/// short reply.
fn verdict(lang: Lang, quiz: Option<&Quiz>, message_id: Option<i64>, shown: Shown) -> Draft {
    match (quiz, message_id) {
        (Some(quiz), Some(message_id)) => {
            Draft::edit(message_id, render::quiz_rated(lang, quiz, shown.choice, shown.review, shown.confidence))
        }
        _ => {
            let key = if shown.correct { "quiz.right" } else { "quiz.toast_wrong" };
            Draft::message(render::text(tr(lang, key).to_owned()))
        }
    }
}

/// Whether a review copy sent at `created` still waits for its answer: the item's review is out
/// and was not answered since the copy was sent. Stores from before reviews stopped being
/// re-sent can hold several copies of one review; the first press on any of them counts and
/// the others say it is answered, so a press is never counted twice.
fn review_is_open(learner: &Learner, item: &ItemId, created: DateTime<Utc>) -> bool {
    learner.progress.memory.get(item).is_some_and(|memory| memory.asked.is_some() && created >= memory.last_review)
}
