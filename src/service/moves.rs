//! Moving to another cohort with a second `/start <invite>`. The learner is asked first, with
//! buttons, because their progress in the old programme ends: their answers so far stay counted
//! in the old cohort's past weeks, and from the move on they count in the new cohort only.
//! Declining, or a press on an older question, changes nothing.

use chrono::{DateTime, Utc};

use super::{Commit, Handled, Service};
use crate::chat::Person;
use crate::chat::callback::Callback;
use crate::config::Cohort;
use crate::domain::{Button, Learner, OutMessage, PendingMove};
use crate::engine::{Draft, Outcome};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};

impl Service {
    /// Asks `learner` whether to switch to `cohort` and keeps the question as their pending
    /// move; nothing else about them changes.
    pub(super) fn ask_move(
        &self,
        tx: &dyn LearnerTx,
        mut learner: Learner,
        cohort: &Cohort,
        outcome: &mut Outcome,
    ) -> Result<Learner, TxError> {
        let nonce = tx.next_seq()?.get();
        let lang = learner.lang;
        let (old, new) = (self.programme_title(&learner), self.cohort_programme(cohort));
        let button = |key: &str, confirm| Button {
            label: tr(lang, key).to_owned(),
            data: Callback::Move { nonce, confirm }.encode(),
        };
        outcome.reply(OutMessage {
            html: fill(lang, "move.confirm", &[("old", &old), ("new", &new)]),
            buttons: vec![vec![button("move.yes", true), button("move.no", false)]],
        });
        learner.pending_move = Some(PendingMove { cohort: cohort.id.clone(), nonce });
        Ok(learner)
    }

    /// The answer to "switch?": yes enrols the learner in the new cohort (progress starts over),
    /// no forgets the question. Either way the question's message is replaced by what happened.
    pub(super) fn answer_move(
        &self,
        from: &Person,
        nonce: u64,
        confirm: bool,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                return Ok(Handled::toast(tr(from.language.unwrap_or(Lang::En), "chat.stale_button")));
            };
            let lang = learner.lang;
            let asked = learner.pending_move.as_ref().filter(|pending| pending.nonce == nonce);
            let Some(cohort) = asked.and_then(|pending| self.settings.cohort(&pending.cohort)) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            let old = self.programme_title(&learner);
            let mut outcome = Outcome::default();
            let mut menu = None;
            let learner = if confirm {
                let new = self.cohort_programme(cohort);
                let lang = self.language_after_move(&learner, cohort);
                replace(
                    &mut outcome,
                    message_id,
                    render::text(fill(lang, "move.done", &[("old", &old), ("new", &new)])),
                );
                menu = Some(self.chat_menu(learner.id, lang));
                self.enrol(tx, Some(learner), from, cohort, lang, now, &mut outcome)?
            } else {
                learner.pending_move = None;
                replace(&mut outcome, message_id, render::text(fill(lang, "move.kept", &[("old", &old)])));
                learner
            };
            let to_send = self.commit(tx, Some(learner), outcome, Commit { pack: None, slot: None, now })?;
            Ok(Handled { menu, ..Handled::sending(to_send) })
        })
    }

    /// The learner's language in `cohort`: the new cohort's, unless they chose another than
    /// their old cohort's (then their choice stays).
    fn language_after_move(&self, learner: &Learner, cohort: &Cohort) -> Lang {
        match self.settings.cohort(&learner.cohort) {
            Some(old) if old.language != learner.lang => learner.lang,
            _ => cohort.language,
        }
    }

    /// The title of `cohort`'s programme (its pack), or its id when the pack is not loaded.
    pub(super) fn cohort_programme(&self, cohort: &Cohort) -> String {
        self.library().pack(&cohort.pack).map_or_else(|| cohort.id.clone(), |pack| pack.title.clone())
    }
}

/// Replaces the question's message with `message`, or sends it when the message is unknown.
fn replace(outcome: &mut Outcome, message_id: Option<i64>, message: OutMessage) {
    match message_id {
        Some(message_id) => outcome.drafts.push(Draft::edit(message_id, message)),
        None => outcome.reply(message),
    }
}
