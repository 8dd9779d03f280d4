//! Answers: quiz presses (first try and reviews, which update the spaced-repetition memory),
//! practice check-ins, language choices, and free text routed to the question it answers (a
//! lesson's, or the weekly team question, whose answer `team.rs` keeps).
//! Every press is recorded at most once; forged or stale button data changes nothing.

use chrono::{DateTime, Utc};

use super::rights::reflection_thanks;
use super::{Commit, Handled, Service};
use crate::chat::Person;
use crate::chat::callback::Callback;
use crate::content::Pack;
use crate::domain::{
    Answer, AnswerKind, Delivery, DeliverySeq, ItemId, Learner, OpenKind, OpenQuestion, PracticeOutcome, Purpose,
    WaitKind,
};
use crate::engine::session::TextTarget;
use crate::engine::{Draft, Outcome, answers, session};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};

/// The longest free-text answer kept per question: four full Telegram messages (one message
/// always fits whole). A learner whose messages to one question add up to more is told what
/// was kept, never cut silently.
pub(crate) const MAX_ANSWER_CHARS: usize = 16_384;
/// Local dates kept for `/progress`'s "days active".
const MAX_ACTIVE_DAYS: usize = 400;

impl Service {
    pub(super) fn press(
        &self,
        from: &Person,
        data: &str,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        match Callback::decode(data) {
            Some(Callback::Quiz { seq, option }) => self.answer_quiz(from, seq, option, message_id, now),
            Some(Callback::Practice { seq, outcome }) => self.answer_practice(from, seq, outcome, message_id, now),
            Some(Callback::Language(lang)) => self.choose_language(from, lang, message_id, now),
            Some(Callback::Share { seq, question }) => self.share(from, seq, question, message_id, now),
            Some(Callback::TeamShare { seq, share }) => self.team_share(from, seq, share, message_id, now),
            Some(Callback::Forget(sure)) => self.forget(from, sure, message_id, now),
            Some(Callback::Move { nonce, confirm }) => self.answer_move(from, nonce, confirm, message_id, now),
            Some(Callback::LeadSwitch { seq, confirm }) => self.answer_switch(from, seq, confirm, message_id, now),
            Some(Callback::Noop) => Ok(Handled::default()),
            None => Ok(Handled::toast(tr(from.language.unwrap_or(Lang::En), "chat.stale_button"))),
        }
    }

    fn answer_quiz(
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
            let Some((item, correct, review)) = delivery.as_ref().and_then(|d| match &d.purpose {
                Purpose::Quiz { item, correct, review } => Some((item.clone(), *correct, *review)),
                _ => None,
            }) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            let created = delivery.as_ref().map_or(now, |d| d.created);
            if tx.answer(seq, 0)?.is_some() || (review && !review_is_open(&learner, &item, created)) {
                return Ok(Handled::toast(tr(lang, "quiz.already")));
            }
            let pack = self.pack_of(&learner.cohort);
            let quiz = pack.as_ref().and_then(|p| p.item(&item)).and_then(|(_, i)| i.as_quiz()).cloned();
            if option >= quiz.as_ref().map_or(16, |quiz| quiz.options.len()) {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            }
            let is_correct = option == correct;
            let answer_kind = AnswerKind::Quiz { choice: option, correct: is_correct, review };
            self.record(tx, &learner, seq, &item, delivery.as_ref().and_then(|d| d.state.sent_at()), answer_kind, now)?;
            let scheduler = self.scheduler_of(&learner);
            let mut next =
                answers::quiz_answered(&mut learner, pack.as_deref(), &item, seq, is_correct, &scheduler, now);
            self.continue_track(&mut learner, pack.as_deref(), now, &mut next);
            self.mark_active(&mut learner, now);
            let mut outcome = Outcome::default();
            let pack_lang = pack.as_ref().map_or(lang, |pack| pack.language);
            match (quiz, message_id) {
                (Some(mut quiz), Some(message_id)) => {
                    quiz.correct = correct.min(quiz.options.len().saturating_sub(1));
                    outcome
                        .drafts
                        .push(Draft::edit(message_id, render::quiz_answered(pack_lang, &quiz, option, review)));
                }
                _ => outcome.reply(render::text(
                    tr(pack_lang, if is_correct { "quiz.right" } else { "quiz.toast_wrong" }).to_owned(),
                )),
            }
            outcome.drafts.extend(next.drafts);
            let toast = tr(lang, if is_correct { "quiz.toast_right" } else { "quiz.toast_wrong" });
            let to_send = self.commit(tx, Some(learner), outcome, Commit { pack: pack.as_deref(), slot: None, now })?;
            Ok(Handled { toast: Some(toast.to_owned()), to_send, recorded_answer: true, ..Handled::default() })
        })
    }

    fn answer_practice(
        &self,
        from: &Person,
        seq: DeliverySeq,
        practice_outcome: PracticeOutcome,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                return Ok(Handled::toast(tr(from.language.unwrap_or(Lang::En), "chat.not_enrolled")));
            };
            let lang = learner.lang;
            let delivery = tx.delivery(seq)?;
            let Some(item) = delivery.as_ref().and_then(|d| match &d.purpose {
                Purpose::PracticeCheck { item } => Some(item.clone()),
                _ => None,
            }) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            if tx.answer(seq, 0)?.is_some() {
                return Ok(Handled::toast(tr(lang, "quiz.already")));
            }
            let answer_kind = AnswerKind::Practice { outcome: practice_outcome };
            self.record(tx, &learner, seq, &item, delivery.as_ref().and_then(|d| d.state.sent_at()), answer_kind, now)?;
            self.mark_active(&mut learner, now);
            let pack = self.pack_of(&learner.cohort);
            let practice = pack.as_ref().and_then(|p| p.item(&item)).and_then(|(_, i)| i.as_practice()).cloned();
            let mut outcome = Outcome::default();
            if let (Some(practice), Some(message_id)) = (practice, message_id) {
                let pack_lang = pack.as_ref().map_or(lang, |pack| pack.language);
                outcome
                    .drafts
                    .push(Draft::edit(message_id, render::practice_checked(pack_lang, &practice, practice_outcome)));
            }
            let thanks = match practice_outcome {
                PracticeOutcome::Done => "practice_check.thanks_done",
                PracticeOutcome::Partly => "practice_check.thanks_partly",
                PracticeOutcome::NotYet => "practice_check.thanks_not_yet",
            };
            outcome.reply(render::text(tr(lang, thanks).to_owned()));
            answers::practice_checked(&mut learner, &item, seq, now);
            let to_send = self.commit(tx, Some(learner), outcome, Commit { pack: None, slot: None, now })?;
            Ok(Handled { to_send, recorded_answer: true, ..Handled::default() })
        })
    }

    fn choose_language(
        &self,
        from: &Person,
        lang: Lang,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let (seqs, menu) = self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else { return Ok((Vec::new(), None)) };
            learner.lang = lang;
            let menu = Some(self.chat_menu(learner.id, lang));
            let confirmation = render::text(tr(lang, "language.set").to_owned());
            let mut outcome = Outcome::default();
            match message_id {
                Some(message_id) => outcome.drafts.push(Draft::edit(message_id, confirmation)),
                None => outcome.reply(confirmation),
            }
            Ok((self.commit(tx, Some(learner), outcome, Commit { pack: None, slot: None, now })?, menu))
        })?;
        Ok(Handled { menu, ..Handled::sending(seqs) })
    }

    /// Free text: the answer to the question [`session::text_target`] finds (the one replied
    /// to, else the newest open one), or a hint that no question waits.
    pub(super) fn text(
        &self,
        from: &Person,
        text: &str,
        reply_to: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let (seqs, recorded_answer) = self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                let lang = from.language.unwrap_or(Lang::En);
                let mut outcome = Outcome::default();
                outcome.reply(render::text(tr(lang, "chat.not_enrolled").to_owned()));
                return Ok((self.commit(tx, None, outcome, Commit { pack: None, slot: None, now })?, false));
            };
            let lang = learner.lang;
            let pack = self.pack_of(&learner.cohort);
            let replied = match reply_to {
                Some(message_id) => tx.delivery_of_message(message_id)?,
                None => None,
            };
            let replied_target = match replied {
                Some(seq) => tx.delivery(seq)?.and_then(|delivery| target_asked_by(&delivery)),
                None => None,
            };
            let mut outcome = Outcome::default();
            let recorded = match session::text_target(&learner, replied_target, now) {
                Some(TextTarget::Item(question)) => {
                    self.answer_item(tx, &mut learner, pack.as_deref(), &question, text, now, &mut outcome)?;
                    true
                }
                Some(TextTarget::Team { delivery }) => {
                    self.answer_team(tx, &mut learner, delivery, text, now, &mut outcome)?;
                    true
                }
                None => {
                    let waiting_quiz = learner.progress.waiting.as_ref().is_some_and(|w| w.kind == WaitKind::Quiz);
                    let key = if waiting_quiz { "chat.use_buttons" } else { "chat.no_question" };
                    outcome.reply(render::text(tr(lang, key).to_owned()));
                    false
                }
            };
            let seqs = self.commit(tx, Some(learner), outcome, Commit { pack: pack.as_deref(), slot: None, now })?;
            Ok((seqs, recorded))
        })?;
        Ok(Handled { to_send: seqs, recorded_answer, ..Handled::default() })
    }

    /// Records `text` as the answer to a lesson's `question` (a reflection or a practice note),
    /// thanks the learner and, after a first answer, adds what follows in the lesson.
    #[allow(clippy::too_many_arguments)]
    fn answer_item(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        pack: Option<&Pack>,
        question: &OpenQuestion,
        text: &str,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Result<(), TxError> {
        let lang = learner.lang;
        let (first, kept_whole) = self.answer_open(tx, learner, question, text, now)?;
        outcome.reply(match question.kind {
            OpenKind::Reflect { question: number } => reflection_thanks(lang, question.delivery, number),
            OpenKind::PracticeNote => render::text(tr(lang, "practice_check.note_thanks").to_owned()),
        });
        if !kept_whole {
            let max = MAX_ANSWER_CHARS.to_string();
            outcome.reply(render::text(fill(lang, "chat.answer_kept_first", &[("max", &max)])));
        }
        if first {
            let mut next = answers::question_answered(learner, pack, question, now);
            self.continue_track(learner, pack, now, &mut next);
            outcome.drafts.extend(next.drafts);
        }
        Ok(())
    }

    /// Records `text` as the answer to `question` (a second message adds to the first). Returns
    /// whether it is a first answer, and whether all of it was kept (false: it went past
    /// [`MAX_ANSWER_CHARS`] and only the start is kept).
    fn answer_open(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        question: &OpenQuestion,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(bool, bool), TxError> {
        let part = match question.kind {
            OpenKind::Reflect { question } => u32::try_from(question).unwrap_or(u32::MAX),
            OpenKind::PracticeNote => 1,
        };
        let previous = tx.answer(question.delivery, part)?;
        let shared =
            matches!(previous.as_ref().map(|answer| &answer.kind), Some(AnswerKind::Reflect { shared: true, .. }));
        let combined = match previous.as_ref().map(|answer| &answer.kind) {
            Some(AnswerKind::Reflect { text: before, .. } | AnswerKind::PracticeNote { text: before }) => {
                format!("{before}\n{text}")
            }
            _ => text.to_owned(),
        };
        let kept_whole = combined.chars().count() <= MAX_ANSWER_CHARS;
        let combined = if kept_whole { combined } else { combined.chars().take(MAX_ANSWER_CHARS).collect() };
        let kind = match question.kind {
            OpenKind::Reflect { question } => AnswerKind::Reflect { question, text: combined, shared },
            OpenKind::PracticeNote => AnswerKind::PracticeNote { text: combined },
        };
        let sent = tx.delivery(question.delivery)?.and_then(|d| d.state.sent_at());
        self.record(tx, learner, question.delivery, &question.item, sent, kind, now)?;
        self.mark_active(learner, now);
        Ok((previous.is_none(), kept_whole))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        tx: &dyn LearnerTx,
        learner: &Learner,
        delivery: DeliverySeq,
        item: &ItemId,
        prompt_sent_at: Option<DateTime<Utc>>,
        kind: AnswerKind,
        now: DateTime<Utc>,
    ) -> Result<(), TxError> {
        tx.put_answer(&Answer {
            learner: learner.id,
            cohort: learner.cohort.clone(),
            delivery,
            item: item.clone(),
            at: now,
            prompt_sent_at,
            kind,
        })
    }

    pub(super) fn mark_active(&self, learner: &mut Learner, now: DateTime<Utc>) {
        let today = now.with_timezone(&self.learner_tz(learner)).date_naive();
        let days = &mut learner.progress.active_days;
        if days.last() != Some(&today) {
            days.push(today);
        }
        if days.len() > MAX_ACTIVE_DAYS {
            days.remove(0);
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

/// The free-text question a delivery asked, if it asked one (a reply to it answers that).
fn target_asked_by(delivery: &Delivery) -> Option<TextTarget> {
    let (item, kind) = match &delivery.purpose {
        Purpose::Reflect { item, question } => (item.clone(), OpenKind::Reflect { question: *question }),
        Purpose::PracticeCheck { item } => (item.clone(), OpenKind::PracticeNote),
        Purpose::TeamQuestion => return Some(TextTarget::Team { delivery: delivery.seq }),
        _ => return None,
    };
    Some(TextTarget::Item(OpenQuestion { delivery: delivery.seq, item, kind, asked_at: delivery.created }))
}
