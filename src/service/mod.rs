//! The use cases: enrol, the learner's commands, answers to quizzes, reflections and practice
//! check-ins, and scheduled nudges. Each is one store transaction around a pure engine
//! decision; the drafts it produces are rendered and recorded as pending deliveries in that same
//! transaction, so what must be sent is durable before anything is sent.
//!
//! Knows nothing of teloxide: the Telegram edge and `nudge try` both drive it with
//! [`Incoming`] values and send what it returns.

mod admin;
mod answers;
mod commands;
pub mod deliveries;
mod digest;
mod lead_chat;
mod leads;
mod moves;
mod nudges;
mod quiz;
mod rights;
mod team;
mod track;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Notify;

pub(crate) use admin::AdminReport;
pub(crate) use lead_chat::LeadRequest;
pub(crate) use rights::goodbye;

use crate::chat::{Incoming, Person};
use crate::config::{Cohort, Settings};
use crate::content::{Library, Pack};
use crate::domain::{
    Delivery, DeliverySeq, DeliveryState, Learner, LearnerId, Outgoing, PRIVACY_NOTICE, Purpose, Status,
};
use crate::engine::{self, Draft, Extra, Outcome, srs};
use crate::i18n::{Lang, tr};
use crate::render;
use crate::store::{LearnerTx, Storage, StorageExt, StoreError, TxError};

/// The application core shared by the daemon's tasks.
pub struct Service {
    store: Arc<dyn Storage>,
    settings: Arc<Settings>,
    library: RwLock<Arc<Library>>,
    /// Each pack's FSRS weights, as the store has them (read at start and after each fit: a
    /// transaction cannot read them, and a quiz answer needs them).
    parameters: RwLock<BTreeMap<String, srs::Parameters>>,
    agenda_changed: Notify,
}

/// What handling one incoming event produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Handled {
    /// Text for the answer to a button press (Telegram shows it as a toast).
    pub toast: Option<String>,
    /// Deliveries recorded for sending, in order.
    pub to_send: Vec<DeliverySeq>,
    /// True when an answer (quiz, reflection, practice) was recorded.
    pub recorded_answer: bool,
    /// Messages to send without recording them: the goodbye after erasing a learner, which
    /// must leave nothing behind.
    pub direct: Vec<Outgoing>,
    /// An admin asked for a report: build it off the update loop with
    /// [`Service::admin_report`] and send it without recording it.
    pub admin_report: Option<AdminReport>,
    /// The learner's language is set or changed (enrolment, `/language`): set this chat's
    /// command menu to match, with the admin commands if the chat is an admin's.
    pub menu: Option<ChatMenu>,
    /// Deliveries recorded for other chats than the sender's: the admins told that someone
    /// joined as a lead.
    pub others: Vec<Batch>,
    /// A lead asked for their digest or report: build it off the update loop with
    /// [`Service::lead_request`] and send what it records.
    pub lead_request: Option<LeadRequest>,
}

/// The command menu one chat should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChatMenu {
    /// The learner's (or lead's) language.
    pub lang: Lang,
    /// Whether the chat is an admin's, whose menu adds `/report`.
    pub admin: bool,
    /// Whether the chat is a team lead's, whose menu holds the lead's commands instead of the
    /// learner's.
    pub lead: bool,
}

impl Handled {
    fn sending(to_send: Vec<DeliverySeq>) -> Self {
        Self { to_send, ..Self::default() }
    }

    fn toast(text: &str) -> Self {
        Self { toast: Some(text.to_owned()), ..Self::default() }
    }
}

/// One learner's deliveries, to send in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Who.
    pub learner: LearnerId,
    /// What to send, in order.
    pub seqs: Vec<DeliverySeq>,
}

/// How drafts are rendered and recorded.
#[derive(Clone, Copy)]
struct Commit<'a> {
    pack: Option<&'a Pack>,
    slot: Option<&'a str>,
    now: DateTime<Utc>,
}

impl Service {
    /// A service over `store` (any engine) with `settings` and the packs in `library`.
    pub fn new(store: Arc<dyn Storage>, settings: Arc<Settings>, library: Library) -> Self {
        let service = Self {
            store,
            settings,
            library: RwLock::new(Arc::new(library)),
            parameters: RwLock::default(),
            agenda_changed: Notify::new(),
        };
        service.reload_parameters();
        service
    }

    /// Reads each pack's fitted FSRS weights from the store again (after a fit saved new ones).
    /// A pack without any, or whose record cannot be read, keeps FSRS-6's defaults.
    pub(crate) fn reload_parameters(&self) {
        let mut parameters = BTreeMap::new();
        for pack in self.settings.cohorts.iter().map(|cohort| &cohort.pack) {
            match self.store.tuning(pack) {
                Ok(tuning) => {
                    let weights = tuning.and_then(|tuning| tuning.weights);
                    if let Some(fitted) = weights.as_deref().and_then(srs::Parameters::new) {
                        parameters.insert(pack.clone(), fitted);
                    }
                }
                Err(error) => {
                    tracing::warn!(pack = %pack, error = %error, "cannot read the pack's FSRS weights; using the defaults")
                }
            }
        }
        if let Ok(mut guard) = self.parameters.write() {
            *guard = parameters;
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// The packs in use now.
    pub fn library(&self) -> Arc<Library> {
        self.library.read().map(|guard| guard.clone()).unwrap_or_default()
    }

    /// Replaces the packs in use (hot reload); learners' next nudges use the new content.
    pub(crate) fn set_library(&self, library: Library) {
        if let Ok(mut guard) = self.library.write() {
            *guard = Arc::new(library);
        }
    }

    /// Fires when a learner's next nudge moved, so the scheduler can wake earlier.
    pub(crate) fn agenda_changed(&self) -> &Notify {
        &self.agenda_changed
    }

    fn pack_of(&self, cohort_id: &str) -> Option<Arc<Pack>> {
        let cohort = self.settings.cohort(cohort_id)?;
        self.library().pack(&cohort.pack).cloned()
    }

    /// How the learner's quizzes are scheduled: their cohort's pack's fitted FSRS weights (FSRS-6's
    /// defaults until a fit beat them) and the cohort's recall target.
    fn scheduler_of(&self, learner: &Learner) -> srs::Scheduler {
        let Some(cohort) = cohort_of(&self.settings, learner) else { return srs::Scheduler::default() };
        let fitted = self.parameters.read().ok().and_then(|parameters| parameters.get(&cohort.pack).copied());
        srs::Scheduler::new(fitted.unwrap_or_default(), cohort.policy.target_retention)
    }

    /// The learner's menu for chat `id` in `lang`.
    fn chat_menu(&self, id: LearnerId, lang: Lang) -> ChatMenu {
        ChatMenu { lang, admin: self.settings.telegram.admins.contains(&id), lead: false }
    }

    /// Each admin's menu: the lead's if they lead a cohort, in their lead or learner language,
    /// else English (Telegram's language is not known before they write).
    pub(crate) fn admin_menus(&self) -> Vec<(LearnerId, ChatMenu)> {
        let menu_of = |id| match self.store.lead(id).ok().flatten() {
            Some(lead) => ChatMenu { lang: lead.lang, admin: true, lead: true },
            None => {
                let lang = self.store.learner(id).ok().flatten().map_or(Lang::En, |learner| learner.lang);
                ChatMenu { lang, admin: true, lead: false }
            }
        };
        self.settings.telegram.admins.iter().map(|&id| (id, menu_of(id))).collect()
    }

    /// The learner's time zone: their own choice, else their cohort's.
    fn learner_tz(&self, learner: &Learner) -> Tz {
        let own = learner.prefs.timezone.as_deref().and_then(|name| name.parse::<Tz>().ok());
        own.or_else(|| self.settings.cohort(&learner.cohort).map(|cohort| cohort.timezone)).unwrap_or(chrono_tz::UTC)
    }

    /// Handles one thing a learner (or a lead, or a stranger) did.
    pub(crate) fn handle(&self, incoming: &Incoming, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        if let Some(lead) = self.store.lead(incoming.from().id)? {
            return self.lead_handle(lead, incoming, now);
        }
        match incoming {
            Incoming::Command { from, command } => self.command(from, command, now),
            Incoming::Text { from, text, reply_to } => self.text(from, text, *reply_to, now),
            Incoming::Press { from, data, message_id, .. } => self.press(from, data, *message_id, now),
            Incoming::Other { from } => self.reply_only(from, now, |lang, _| tr(lang, "chat.other").to_owned()),
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
            let lang = learner.as_ref().map_or(from.language.unwrap_or(Lang::En), |l| l.lang);
            let mut outcome = Outcome::default();
            outcome.reply(render::text(text(lang, learner.as_ref())));
            let commit = Commit { pack: None, slot: None, now };
            self.commit(tx, learner, outcome, commit)
        })?;
        Ok(Handled::sending(seqs))
    }

    /// Applies `outcome` to the learner (`engine::apply`), rendering each draft into pending
    /// deliveries as it is numbered, and writes the learner, all inside the caller's
    /// transaction. Returns the new deliveries in order. A text too long for one Telegram message
    /// becomes several deliveries (`render::fit_outgoing`): the first carries the draft's purpose
    /// (and is what the learner waits on, if the draft holds up the lesson), the rest are replies.
    ///
    /// A learner who has not seen the current privacy notice (they joined before it changed)
    /// gets it after the first message that goes to them, once.
    fn commit(
        &self,
        tx: &dyn LearnerTx,
        mut learner: Option<Learner>,
        mut outcome: Outcome,
        ctx: Commit<'_>,
    ) -> Result<Vec<DeliverySeq>, TxError> {
        if let Some(learner) = learner.as_mut().filter(|l| l.notice_version < PRIVACY_NOTICE)
            && !outcome.drafts.is_empty()
        {
            outcome.reply(team::updated_notice(learner.lang));
            learner.notice_version = PRIVACY_NOTICE;
        }
        let cohort = learner.as_ref().map_or(String::new(), |l| l.cohort.clone());
        let lang = learner.as_ref().map(|l| l.lang);
        let mut sent = Vec::with_capacity(outcome.drafts.len());
        let mut put = |draft: &Draft| -> Result<DeliverySeq, TxError> {
            let seq = tx.next_seq()?;
            let Some(outgoing) = render_draft(draft, ctx.pack, seq) else {
                return Ok(seq);
            };
            let delivery = Delivery {
                seq,
                learner: tx.learner_id(),
                cohort: cohort.clone(),
                created: ctx.now,
                slot: ctx.slot.map(str::to_owned),
                purpose: draft.purpose.clone(),
                state: DeliveryState::Pending,
                outgoing: None,
            };
            let lang = message_language(carries_content(&draft.extra), lang, ctx.pack);
            sent.extend(put_parts(tx, delivery, render::fit_outgoing(lang, outgoing))?);
            Ok(seq)
        };
        match learner {
            Some(mut learner) => {
                engine::apply(&mut learner, outcome, ctx.now, &mut put)?;
                tx.put_learner(&learner)?;
            }
            None => {
                for draft in &outcome.drafts {
                    put(draft)?;
                }
            }
        }
        Ok(sent)
    }
}

/// Records `parts` as pending deliveries: the first as `delivery`, each further one (the rest
/// of a text too long for one message) under a new seq as a reply. Returns their seqs in order.
fn put_parts(tx: &dyn LearnerTx, delivery: Delivery, parts: Vec<Outgoing>) -> Result<Vec<DeliverySeq>, TxError> {
    let mut seqs = Vec::with_capacity(parts.len());
    let mut next = delivery;
    for (idx, part) in parts.into_iter().enumerate() {
        if idx > 0 {
            next = Delivery { seq: tx.next_seq()?, purpose: Purpose::Reply, ..next };
        }
        seqs.push(next.seq);
        tx.put_delivery(&Delivery { outgoing: Some(part), ..next.clone() })?;
    }
    Ok(seqs)
}

/// Turns a draft into what to send; `None` when its content left the pack. Texts come
/// rendered in the learner's language; content, with its headers and buttons, is rendered in
/// the pack's language, so no message mixes two.
fn render_draft(draft: &Draft, pack: Option<&Pack>, seq: DeliverySeq) -> Option<Outgoing> {
    let send = |message| Some(Outgoing::Send { message });
    let lang = pack.map_or(Lang::En, |pack| pack.language);
    match (&draft.extra, &draft.purpose) {
        (Extra::Ready(outgoing), _) => Some(outgoing.clone()),
        (Extra::Milestone(milestone), _) => send(render::milestone(lang, pack?, *milestone)),
        (_, Purpose::Lesson { lesson }) => {
            let pack = pack?;
            send(render::lesson(lang, pack, pack.lesson(lesson)?))
        }
        (_, Purpose::Quiz { item, review, .. }) => {
            send(render::quiz(lang, pack?.item(item)?.1.as_quiz()?, seq, *review))
        }
        (extra, Purpose::Reflect { item, question }) => {
            let reminder = *extra == Extra::Reminder;
            send(render::reflect(lang, pack?.item(item)?.1.as_reflect()?, *question, reminder))
        }
        (_, Purpose::Practice { item }) => send(render::practice(lang, pack?.item(item)?.1.as_practice()?)),
        (_, Purpose::PracticeCheck { item }) => {
            send(render::practice_check(lang, pack?.item(item)?.1.as_practice()?, seq))
        }
        (
            Extra::None | Extra::Reminder,
            Purpose::Milestone
            | Purpose::Reply
            | Purpose::TeamQuestion
            | Purpose::Colleagues
            | Purpose::Digest { .. }
            | Purpose::LeadSwitch { .. },
        ) => None,
    }
}

/// True when a draft with `extra` is pack content (rendered in the pack's language), false for
/// the bot's own texts (already in the learner's).
fn carries_content(extra: &Extra) -> bool {
    !matches!(extra, Extra::Ready(_))
}

/// The language a message is in, for the note on a message cut to fit: the pack's for content,
/// the learner's (`learner_lang`) for everything else.
fn message_language(content: bool, learner_lang: Option<Lang>, pack: Option<&Pack>) -> Lang {
    match (content, pack, learner_lang) {
        (true, Some(pack), _) => pack.language,
        (_, _, Some(lang)) => lang,
        _ => Lang::En,
    }
}

/// Whether a learner gets scheduled nudges now: active, or paused with the pause over.
fn is_due(learner: &Learner, now: DateTime<Utc>) -> bool {
    match &learner.status {
        Status::Active => true,
        Status::Paused { until: Some(until) } => *until <= now,
        Status::Paused { until: None } | Status::Inactive { .. } | Status::Erasing { .. } => false,
    }
}

/// The cohort a learner belongs to, if it is still configured.
fn cohort_of<'a>(settings: &'a Settings, learner: &Learner) -> Option<&'a Cohort> {
    settings.cohort(&learner.cohort)
}

/// Test help: both taps of a quiz answer.
#[cfg(test)]
impl Service {
    /// Presses quiz option `data` as `from` on message `message_id`, then "sure" on the question
    /// the first tap brings; returns what the second tap brought (the verdict and the rest of
    /// the lesson). Where the cohort does not ask, the first tap's result.
    pub(crate) fn press_quiz_sure(&self, from: &Person, data: &str, message_id: i64, now: DateTime<Utc>) -> Handled {
        let press = |data: &str| Incoming::Press {
            from: from.clone(),
            query_id: "q".to_owned(),
            message_id: Some(message_id),
            data: data.to_owned(),
        };
        let first = self.handle(&press(data), now).expect("the first tap is handled");
        let asked = first.to_send.first().and_then(|seq| self.store.delivery(from.id, *seq).ok().flatten());
        let sure = match asked.and_then(|delivery| delivery.outgoing) {
            Some(Outgoing::Edit { message, .. }) => message.buttons.concat().first().map(|button| button.data.clone()),
            _ => None,
        };
        match sure.filter(|data| data.starts_with("c:")) {
            Some(sure) => self.handle(&press(&sure), now).expect("the second tap is handled"),
            None => first,
        }
    }
}

#[cfg(test)]
mod lead_tests;
#[cfg(test)]
mod quiz_tests;
#[cfg(test)]
mod team_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod track_props;
#[cfg(test)]
mod track_tests;
