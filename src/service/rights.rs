//! The learner's data rights in the chat: `/mydata` (everything stored about them, as a file),
//! `/forget` (erase everything, after a confirmation), and sharing a reflection with the team
//! (their choice, per answer, without their name).

use chrono::{DateTime, Utc};

use super::{Commit, Handled, Service};
use crate::chat::Person;
use crate::chat::callback::Callback;
use crate::domain::{AnswerKind, Button, DeliverySeq, LearnerId, OutMessage, Outgoing};
use crate::engine::{Draft, Outcome};
use crate::i18n::{Lang, tr};
use crate::render;
use crate::store::{StorageExt, StoreError};

impl Service {
    /// `/mydata`: everything stored about the sender, as a JSON file.
    pub(super) fn my_data(&self, from: &Person, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let export = self.store.export(from.id)?;
        let content = serde_json::to_string_pretty(&export).unwrap_or_else(|_| "{}".to_owned());
        let seqs = self.store.with_learner(from.id, |tx| {
            let learner = tx.learner()?;
            let lang = learner.as_ref().map_or(from.language.unwrap_or(Lang::En), |l| l.lang);
            let mut outcome = Outcome::default();
            outcome.drafts.push(Draft::document(
                tr(lang, "mydata.file_name").to_owned(),
                tr(lang, "mydata.caption").to_owned(),
                content.clone(),
            ));
            self.commit(tx, learner, outcome, Commit { pack: None, slot: None, now })
        })?;
        Ok(Handled::sending(seqs))
    }

    /// `/forget`: asks for confirmation first.
    pub(super) fn ask_forget(&self, from: &Person, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        self.reply_message(from, now, |lang| OutMessage {
            html: tr(lang, "forget.confirm").to_owned(),
            buttons: vec![vec![
                Button { label: tr(lang, "forget.yes").to_owned(), data: Callback::Forget(true).encode() },
                Button { label: tr(lang, "forget.no").to_owned(), data: Callback::Forget(false).encode() },
            ]],
        })
    }

    /// The answer to `/forget`'s question. Yes erases every record of the learner; the goodbye
    /// is sent without being recorded, so nothing of them is left.
    pub(super) fn forget(
        &self,
        from: &Person,
        sure: bool,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let fallback = from.language.unwrap_or(Lang::En);
        if !sure {
            let lang = self.store.learner(from.id)?.map_or(fallback, |learner| learner.lang);
            return self.reply_edit(from, message_id, now, render::text(tr(lang, "forget.kept").to_owned()));
        }
        let lang = self.erase_learner(from.id, fallback)?;
        let goodbye = goodbye(lang);
        let outgoing = match message_id {
            Some(message_id) => Outgoing::Edit { message_id, message: goodbye },
            None => Outgoing::Send { message: goodbye },
        };
        Ok(Handled { toast: Some(tr(lang, "forget.toast").to_owned()), direct: vec![outgoing], ..Handled::default() })
    }

    /// Erases every record of learner `id`: `/forget` in the chat and an admin's `nudge learner
    /// forget` alike. Returns the learner's language (`fallback` if they had no record) for the
    /// [`goodbye`], which the caller sends without recording it, so nothing of them is left.
    pub(crate) fn erase_learner(&self, id: LearnerId, fallback: Lang) -> Result<Lang, StoreError> {
        let lang = self.store.learner(id)?.map_or(fallback, |learner| learner.lang);
        self.store.erase(id)?;
        self.agenda_changed.notify_one();
        Ok(lang)
    }

    /// Marks the answer to question `question` of reflection `seq` as shared with the team.
    pub(super) fn share(
        &self,
        from: &Person,
        seq: DeliverySeq,
        question: usize,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let part = u32::try_from(question).unwrap_or(u32::MAX);
        let shared = self.store.with_learner(from.id, |tx| {
            let Some(mut answer) = tx.answer(seq, part)? else { return Ok(false) };
            let AnswerKind::Reflect { shared, .. } = &mut answer.kind else { return Ok(false) };
            *shared = true;
            tx.put_answer(&answer)?;
            Ok(true)
        })?;
        let lang = self.store.learner(from.id)?.map_or(Lang::En, |learner| learner.lang);
        if !shared {
            return Ok(Handled::toast(tr(lang, "chat.stale_button")));
        }
        self.reply_edit(from, message_id, now, render::text(tr(lang, "share.done").to_owned()))
    }

    /// Replaces the message with the pressed button (or sends `message` if it is unknown).
    pub(super) fn reply_edit(
        &self,
        from: &Person,
        message_id: Option<i64>,
        now: DateTime<Utc>,
        message: OutMessage,
    ) -> Result<Handled, StoreError> {
        let seqs = self.store.with_learner(from.id, |tx| {
            let learner = tx.learner()?;
            let mut outcome = Outcome::default();
            match message_id {
                Some(message_id) => outcome.drafts.push(Draft::edit(message_id, message.clone())),
                None => outcome.reply(message.clone()),
            }
            self.commit(tx, learner, outcome, Commit { pack: None, slot: None, now })
        })?;
        Ok(Handled::sending(seqs))
    }

    /// Sends one message built in the sender's language.
    fn reply_message(
        &self,
        from: &Person,
        now: DateTime<Utc>,
        message: impl Fn(Lang) -> OutMessage,
    ) -> Result<Handled, StoreError> {
        let seqs = self.store.with_learner(from.id, |tx| {
            let learner = tx.learner()?;
            let lang = learner.as_ref().map_or(from.language.unwrap_or(Lang::En), |l| l.lang);
            let mut outcome = Outcome::default();
            outcome.reply(message(lang));
            self.commit(tx, learner, outcome, Commit { pack: None, slot: None, now })
        })?;
        Ok(Handled::sending(seqs))
    }
}

/// The last message to an erased learner, in their language.
pub(crate) fn goodbye(lang: Lang) -> OutMessage {
    render::text(tr(lang, "forget.done").to_owned())
}

/// The "thanks" after a reflection answer, with a button to share it with the team.
pub(super) fn reflection_thanks(lang: Lang, seq: DeliverySeq, question: usize) -> OutMessage {
    OutMessage {
        html: tr(lang, "reflect.thanks").to_owned(),
        buttons: vec![vec![Button {
            label: tr(lang, "share.button").to_owned(),
            data: Callback::Share { seq, question }.encode(),
        }]],
    }
}
