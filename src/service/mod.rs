//! The use cases: enrol, answer a quiz, answer a reflection, nudge a cohort's slot. Each is one
//! store transaction around a pure engine decision; the drafts it produces are rendered and
//! recorded as pending deliveries in that same transaction, so what must be sent is durable
//! before anything is sent.
//!
//! Knows nothing of teloxide: the Telegram edge and `nudge try` both drive it with
//! [`Incoming`] values and send what it returns.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::callback::Callback;
use crate::chat::{Incoming, Person};
use crate::config::{Cohort, Settings};
use crate::content::{Library, Pack};
use crate::engine::{self, Draft, DraftBody, Outcome};
use crate::i18n::{Lang, describe_when, fill, tr};
use crate::model::{
    Answer, AnswerKind, Delivery, DeliverySeq, DeliveryState, Learner, LearnerId, Outgoing,
    Progress, Purpose, Status, WaitKind, Waiting,
};
use crate::render;
use crate::schedule::cron::Slot;
use crate::store::{LearnerTx, Store, StoreError, TxError};

/// The longest reflection text kept; Telegram messages are at most 4096 characters anyway.
const MAX_ANSWER_CHARS: usize = 4096;

/// The application core shared by the daemon's tasks.
pub struct Service {
    store: Store,
    settings: Arc<Settings>,
    library: RwLock<Arc<Library>>,
}

/// What handling one incoming event produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Handled {
    /// Text for the answer to a button press (Telegram shows it as a toast).
    pub toast: Option<String>,
    /// Deliveries recorded for sending, in order.
    pub to_send: Vec<DeliverySeq>,
    /// True when an answer (quiz press or reflection) was recorded.
    pub recorded_answer: bool,
}

/// One learner's deliveries for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Who.
    pub learner: LearnerId,
    /// What to send, in order.
    pub seqs: Vec<DeliverySeq>,
}

impl Service {
    /// A service over `store` with `settings` and the packs in `library`.
    pub fn new(store: Store, settings: Arc<Settings>, library: Library) -> Self {
        Self {
            store,
            settings,
            library: RwLock::new(Arc::new(library)),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// The packs in use now.
    pub fn library(&self) -> Arc<Library> {
        self.library
            .read()
            .map(|guard| guard.clone())
            .unwrap_or_default()
    }

    /// Replaces the packs in use (hot reload); learners' next nudges use the new content.
    pub fn set_library(&self, library: Library) {
        if let Ok(mut guard) = self.library.write() {
            *guard = Arc::new(library);
        }
    }

    fn pack_of(&self, cohort_id: &str) -> Option<Arc<Pack>> {
        let cohort = self.settings.cohort(cohort_id)?;
        self.library().pack(&cohort.pack).cloned()
    }

    /// Handles one thing a learner did.
    pub fn handle(&self, incoming: &Incoming, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        match incoming {
            Incoming::Command { from, name, args } => self.command(from, name, args, now),
            Incoming::Text { from, text, .. } => self.text(from, text, now),
            Incoming::Press {
                from,
                data,
                message_id,
                ..
            } => self.press(from, data, *message_id, now),
            Incoming::Other { from } => {
                self.reply_only(from, now, |lang, _| tr(lang, "chat.no_question").to_owned())
            }
        }
    }

    fn command(
        &self,
        from: &Person,
        name: &str,
        args: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        match name {
            "start" => self.start(from, args, now),
            "help" => self.reply_only(from, now, |lang, _| tr(lang, "help.text").to_owned()),
            _ => self.reply_only(from, now, |lang, _| {
                tr(lang, "chat.unknown_command").to_owned()
            }),
        }
    }

    /// Replies with one text, in the learner's language (or their Telegram language).
    fn reply_only(
        &self,
        from: &Person,
        now: DateTime<Utc>,
        text: impl Fn(Lang, Option<&Learner>) -> String,
    ) -> Result<Handled, StoreError> {
        let seqs = self.store.with_learner(from.id, |tx| {
            let learner = tx.learner()?;
            let lang = learner
                .as_ref()
                .map_or(from.language.unwrap_or(Lang::En), |l| l.lang);
            let mut outcome = Outcome::default();
            outcome.reply(render::text(text(lang, learner.as_ref())));
            self.commit(tx, learner, None, lang, outcome, None, now)
        })?;
        Ok(Handled {
            to_send: seqs,
            ..Handled::default()
        })
    }

    fn start(&self, from: &Person, args: &str, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let invite = args.split_whitespace().next().unwrap_or_default();
        let cohort = self.settings.cohort_by_invite(invite);
        let seqs = self.store.with_learner(from.id, |tx| {
            let existing = tx.learner()?;
            let lang = existing
                .as_ref()
                .map(|l| l.lang)
                .or(from.language)
                .or(cohort.map(|c| c.language))
                .unwrap_or(Lang::En);
            let mut outcome = Outcome::default();
            let learner = match (existing, cohort) {
                (Some(learner), Some(cohort)) if learner.cohort == cohort.id => {
                    Some(self.greet_again(learner, from, now, &mut outcome))
                }
                (_, Some(cohort)) => Some(self.enrol(from, cohort, lang, now, &mut outcome)),
                (existing, None) if !invite.is_empty() => {
                    outcome.reply(render::text(fill(
                        lang,
                        "start.bad_invite",
                        &[("code", invite)],
                    )));
                    existing
                }
                (Some(learner), None) => Some(self.greet_again(learner, from, now, &mut outcome)),
                (None, None) => {
                    outcome.reply(render::text(tr(lang, "start.missing_invite").to_owned()));
                    None
                }
            };
            self.commit(tx, learner, None, lang, outcome, None, now)
        })?;
        Ok(Handled {
            to_send: seqs,
            ..Handled::default()
        })
    }

    /// A new learner (or one switching cohorts with another invite).
    fn enrol(
        &self,
        from: &Person,
        cohort: &Cohort,
        lang: Lang,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Learner {
        let pack = self.library().pack(&cohort.pack).cloned();
        let programme = pack
            .as_ref()
            .map_or(cohort.pack.as_str(), |p| p.title.as_str())
            .to_owned();
        let description = pack
            .as_ref()
            .map_or("", |p| p.description.as_str())
            .to_owned();
        let when = self.next_nudge_text(cohort, lang, now);
        outcome.reply(render::text(fill(
            lang,
            "start.welcome",
            &[
                ("name", &from.first_name),
                ("programme", &programme),
                ("description", &description),
                ("when", &when),
            ],
        )));
        outcome.reply(render::text(tr(lang, "start.privacy").to_owned()));
        Learner {
            id: from.id,
            cohort: cohort.id.clone(),
            name: from.first_name.clone(),
            lang,
            status: Status::Active,
            enrolled_at: now,
            progress: Progress::default(),
        }
    }

    /// `/start` from someone already enrolled: reactivates them if needed.
    fn greet_again(
        &self,
        mut learner: Learner,
        from: &Person,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Learner {
        let lang = learner.lang;
        let Some(cohort) = self.settings.cohort(&learner.cohort) else {
            outcome.reply(render::text(tr(lang, "start.missing_invite").to_owned()));
            return learner;
        };
        let programme = self
            .pack_of(&cohort.id)
            .map_or(cohort.pack.clone(), |p| p.title.clone());
        let when = self.next_nudge_text(cohort, lang, now);
        let key = if learner.status == Status::Active {
            "start.already"
        } else {
            "start.rejoined"
        };
        learner.status = Status::Active;
        learner.name = from.first_name.clone();
        outcome.reply(render::text(fill(
            lang,
            key,
            &[
                ("name", &learner.name),
                ("programme", &programme),
                ("when", &when),
            ],
        )));
        learner
    }

    fn next_nudge_text(&self, cohort: &Cohort, lang: Lang, now: DateTime<Utc>) -> String {
        let next = cohort
            .schedule
            .next_after(cohort.timezone, now)
            .map(|slot| slot.local);
        describe_when(
            lang,
            next,
            now.with_timezone(&cohort.timezone).naive_local(),
        )
    }

    fn press(
        &self,
        from: &Person,
        data: &str,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let Some(Callback::Quiz { seq, option }) = Callback::decode(data) else {
            let lang = from.language.unwrap_or(Lang::En);
            let toast = (Callback::decode(data) != Some(Callback::Noop))
                .then(|| tr(lang, "chat.stale_button").to_owned());
            return Ok(Handled {
                toast,
                ..Handled::default()
            });
        };
        self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                let lang = from.language.unwrap_or(Lang::En);
                return Ok(toast_only(tr(lang, "chat.not_enrolled")));
            };
            let lang = learner.lang;
            let delivery = tx.delivery(seq)?;
            let Some((item, correct)) = delivery.as_ref().and_then(quiz_of) else {
                return Ok(toast_only(tr(lang, "chat.stale_button")));
            };
            if tx.answer(seq, 0)?.is_some() {
                return Ok(toast_only(tr(lang, "quiz.already")));
            }
            let pack = self.pack_of(&learner.cohort);
            let quiz = pack
                .as_ref()
                .and_then(|p| p.item(&item))
                .and_then(|(_, i)| i.as_quiz())
                .cloned();
            let n_options = quiz.as_ref().map_or(16, |quiz| quiz.options.len());
            if option >= n_options {
                return Ok(toast_only(tr(lang, "chat.stale_button")));
            }
            let is_correct = option == correct;
            tx.put_answer(&Answer {
                learner: learner.id,
                cohort: learner.cohort.clone(),
                delivery: seq,
                item: item.clone(),
                at: now,
                prompt_sent_at: delivery.as_ref().and_then(sent_at),
                kind: AnswerKind::Quiz {
                    choice: option,
                    correct: is_correct,
                },
            })?;
            let mut outcome = Outcome::default();
            match (quiz, message_id) {
                (Some(mut quiz), Some(message_id)) => {
                    quiz.correct = correct.min(quiz.options.len() - 1);
                    outcome.drafts.push(Draft {
                        purpose: Purpose::Reply,
                        body: DraftBody::Edit {
                            message_id,
                            message: render::quiz_answered(lang, &quiz, option, false),
                        },
                    });
                }
                _ => {
                    let key = if is_correct {
                        "quiz.right"
                    } else {
                        "quiz.toast_wrong"
                    };
                    outcome.reply(render::text(tr(lang, key).to_owned()));
                }
            }
            let was_waiting = learner
                .progress
                .waiting
                .as_ref()
                .is_some_and(|w| w.delivery == seq);
            if let (true, Some(pack)) = (was_waiting, pack.as_deref()) {
                let next = engine::after_quiz(&mut learner, pack, now);
                append(&mut outcome, next);
            }
            let toast = tr(
                lang,
                if is_correct {
                    "quiz.toast_right"
                } else {
                    "quiz.toast_wrong"
                },
            );
            let to_send =
                self.commit(tx, Some(learner), pack.as_deref(), lang, outcome, None, now)?;
            Ok(Handled {
                toast: Some(toast.to_owned()),
                to_send,
                recorded_answer: true,
            })
        })
    }

    fn text(&self, from: &Person, text: &str, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let (seqs, recorded_answer) = self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                let lang = from.language.unwrap_or(Lang::En);
                let mut outcome = Outcome::default();
                outcome.reply(render::text(tr(lang, "chat.not_enrolled").to_owned()));
                return Ok((
                    self.commit(tx, None, None, lang, outcome, None, now)?,
                    false,
                ));
            };
            let lang = learner.lang;
            let pack = self.pack_of(&learner.cohort);
            let mut outcome = Outcome::default();
            let mut recorded = false;
            match (learner.progress.waiting.clone(), pack.as_deref()) {
                (
                    Some(Waiting {
                        kind: WaitKind::Reflect { question },
                        delivery,
                        item,
                        ..
                    }),
                    Some(pack),
                ) => {
                    let sent = tx.delivery(delivery)?.as_ref().and_then(sent_at);
                    tx.put_answer(&Answer {
                        learner: learner.id,
                        cohort: learner.cohort.clone(),
                        delivery,
                        item: item.clone(),
                        at: now,
                        prompt_sent_at: sent,
                        kind: AnswerKind::Reflect {
                            question,
                            text: text.chars().take(MAX_ANSWER_CHARS).collect(),
                        },
                    })?;
                    recorded = true;
                    outcome.reply(render::text(tr(lang, "reflect.thanks").to_owned()));
                    let next = engine::after_reflection(&mut learner, pack, &item, question, now);
                    append(&mut outcome, next);
                }
                (Some(waiting), _) if waiting.kind == WaitKind::Quiz => {
                    outcome.reply(render::text(tr(lang, "chat.use_buttons").to_owned()));
                }
                _ => outcome.reply(render::text(tr(lang, "chat.no_question").to_owned())),
            }
            Ok((
                self.commit(tx, Some(learner), pack.as_deref(), lang, outcome, None, now)?,
                recorded,
            ))
        })?;
        Ok(Handled {
            to_send: seqs,
            recorded_answer,
            ..Handled::default()
        })
    }

    /// The learners of `cohort` due for a nudge now (active, or with their pause over).
    pub fn slot_members(
        &self,
        cohort: &Cohort,
        now: DateTime<Utc>,
    ) -> Result<Vec<LearnerId>, StoreError> {
        let mut members = Vec::new();
        for learner in self.store.learners() {
            let learner = learner?;
            if learner.cohort == cohort.id && is_due(&learner, now) {
                members.push(learner.id);
            }
        }
        Ok(members)
    }

    /// Nudges `members` of `cohort` for `slot`, at most once per learner and slot. Returns what
    /// to send, per learner.
    pub fn run_slot(
        &self,
        cohort: &Cohort,
        slot: &Slot,
        members: &[LearnerId],
        now: DateTime<Utc>,
    ) -> Result<Vec<Batch>, StoreError> {
        let Some(pack) = self.library().pack(&cohort.pack).cloned() else {
            tracing::warn!(cohort = %cohort.id, pack = %cohort.pack, "the cohort's pack is not loaded; no nudges sent");
            return Ok(Vec::new());
        };
        let mut batches = Vec::with_capacity(members.len());
        for &id in members {
            let seqs = self.nudge_learner(id, cohort, &pack, slot, now)?;
            if !seqs.is_empty() {
                batches.push(Batch { learner: id, seqs });
            }
        }
        Ok(batches)
    }

    /// The slot's nudge for one learner.
    pub fn nudge_learner(
        &self,
        id: LearnerId,
        cohort: &Cohort,
        pack: &Pack,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, StoreError> {
        let slot_key = slot.key();
        self.store.with_learner(id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                return Ok(Vec::new());
            };
            if learner.cohort != cohort.id
                || !is_due(&learner, now)
                || !tx.claim_slot(&cohort.id, &slot_key)?
            {
                return Ok(Vec::new());
            }
            learner.status = Status::Active;
            let lang = learner.lang;
            let outcome = engine::slot_nudge(&mut learner, pack, now);
            self.commit(
                tx,
                Some(learner),
                Some(pack),
                lang,
                outcome,
                Some(&slot_key),
                now,
            )
        })
    }

    /// Renders `outcome`'s drafts into pending deliveries and writes the learner, all inside
    /// the caller's transaction. Returns the new deliveries in order.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        tx: &LearnerTx<'_>,
        learner: Option<Learner>,
        pack: Option<&Pack>,
        lang: Lang,
        outcome: Outcome,
        slot: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, TxError> {
        let cohort = learner.as_ref().map_or(String::new(), |l| l.cohort.clone());
        let mut seqs = Vec::with_capacity(outcome.drafts.len());
        for draft in outcome.drafts {
            let seq = tx.next_seq()?;
            let Some(outgoing) = render_draft(&draft.body, pack, lang, seq) else {
                seqs.push(0);
                continue;
            };
            tx.put_delivery(&Delivery {
                seq,
                learner: tx.learner_id(),
                cohort: cohort.clone(),
                created: now,
                slot: slot.map(str::to_owned),
                purpose: draft.purpose,
                state: DeliveryState::Pending,
                outgoing: Some(outgoing),
            })?;
            seqs.push(seq);
        }
        if let Some(mut learner) = learner {
            if let (Some(idx), Some(waiting)) =
                (outcome.waiting_on, learner.progress.waiting.as_mut())
            {
                waiting.delivery = seqs.get(idx).copied().unwrap_or(0);
            }
            tx.put_learner(&learner)?;
        }
        seqs.retain(|&seq| seq != 0);
        Ok(seqs)
    }
}

/// Turns a draft into what to send; `None` when its content left the pack.
fn render_draft(
    body: &DraftBody,
    pack: Option<&Pack>,
    lang: Lang,
    seq: DeliverySeq,
) -> Option<Outgoing> {
    let send = |message| Some(Outgoing::Send { message });
    match body {
        DraftBody::Message(message) => send(message.clone()),
        DraftBody::Edit {
            message_id,
            message,
        } => Some(Outgoing::Edit {
            message_id: *message_id,
            message: message.clone(),
        }),
        DraftBody::Lesson { lesson } => {
            let pack = pack?;
            send(render::lesson(lang, pack, pack.lesson(lesson)?))
        }
        DraftBody::Quiz { item, review } => {
            let quiz = pack?.item(item)?.1.as_quiz()?;
            send(render::quiz(lang, quiz, seq, *review))
        }
        DraftBody::Reflect { item, question } => {
            let reflect = pack?.item(item)?.1.as_reflect()?;
            send(render::reflect(lang, reflect, *question))
        }
        DraftBody::Practice { item } => {
            let practice = pack?.item(item)?.1.as_practice()?;
            send(render::practice(lang, practice))
        }
    }
}

/// Whether a learner gets the slot's nudge: active, or paused with the pause over.
fn is_due(learner: &Learner, now: DateTime<Utc>) -> bool {
    match &learner.status {
        Status::Active => true,
        Status::Paused { until: Some(until) } => *until <= now,
        Status::Paused { until: None } | Status::Inactive { .. } => false,
    }
}

fn quiz_of(delivery: &Delivery) -> Option<(String, usize)> {
    match &delivery.purpose {
        Purpose::Quiz { item, correct } => Some((item.clone(), *correct)),
        _ => None,
    }
}

fn sent_at(delivery: &Delivery) -> Option<DateTime<Utc>> {
    match delivery.state {
        DeliveryState::Sent { at, .. } => Some(at),
        _ => None,
    }
}

fn toast_only(text: &str) -> Handled {
    Handled {
        toast: Some(text.to_owned()),
        ..Handled::default()
    }
}

/// Appends `next`'s drafts to `outcome`, keeping its waiting index right.
fn append(outcome: &mut Outcome, next: Outcome) {
    let offset = outcome.drafts.len();
    outcome.waiting_on = next
        .waiting_on
        .map(|idx| idx + offset)
        .or(outcome.waiting_on);
    outcome.drafts.extend(next.drafts);
}

#[cfg(test)]
mod tests;
