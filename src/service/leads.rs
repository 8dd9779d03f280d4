//! Becoming a team lead: `/start <lead_invite>` makes a stranger a lead of that cohort (a lead
//! of another cohort leads both), and asks a learner first, with buttons, because a lead is not
//! a learner: "yes" erases their learner records, as `/forget` does, and makes them a lead.
//! Every configured admin is told of each new lead, so a leaked code is noticed.
//!
//! A lead's messages are recorded like a learner's (pending before they are sent), under the
//! lead's id and with no cohort, so no report counts them.

use chrono::{DateTime, Utc};

use super::{Batch, ChatMenu, Handled, Service, put_parts};
use crate::chat::Person;
use crate::chat::callback::Callback;
use crate::config::Cohort;
use crate::domain::{Button, Delivery, DeliverySeq, DeliveryState, Lead, Learner, OutMessage, Outgoing, Purpose};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};

/// What a lead invite came to inside the sender's transaction.
#[derive(Debug, Default)]
enum Joining {
    /// Nothing (the sender is being erased).
    #[default]
    Nothing,
    /// A learner was asked whether to switch; or a lead was told they lead the cohort already.
    Replied(Vec<DeliverySeq>),
    /// Someone became a lead of the cohort (a new lead, or one more cohort for a lead).
    Joined(Vec<DeliverySeq>, Lead),
}

impl Service {
    /// `/start <lead_invite>` of `cohort`, from anyone: a lead of it already is told so, a
    /// learner is asked first, anyone else becomes a lead.
    pub(super) fn join_as_lead(
        &self,
        from: &Person,
        cohort: &Cohort,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let joining = self.store.with_learner(from.id, |tx| {
            if let Some(learner) = tx.learner()? {
                return Ok(Joining::Replied(self.ask_switch(tx, &learner, cohort, now)?));
            }
            match tx.lead()? {
                Some(lead) if lead.cohorts.contains(&cohort.id) => {
                    let text = fill(lead.lang, "lead.already", &[("cohort", &cohort.id)]);
                    Ok(Joining::Replied(record_plain(tx, lead.lang, Purpose::Reply, None, vec![send(text)], now)?))
                }
                existing => {
                    let lead = with_cohort(existing, from, cohort, now);
                    tx.put_lead(&lead)?;
                    let seqs = self.greet_lead(tx, &lead, cohort, None, now)?;
                    Ok(Joining::Joined(seqs, lead))
                }
            }
        })?;
        match joining {
            Joining::Nothing => Ok(Handled::default()),
            Joining::Replied(seqs) => Ok(Handled::sending(seqs)),
            Joining::Joined(seqs, lead) => self.joined(lead, cohort, seqs, now),
        }
    }

    /// The welcome of a new lead of `cohort`: what they get, and what they never see. The first
    /// text replaces message `replace` (the question that made them a lead), if given.
    fn greet_lead(
        &self,
        tx: &dyn LearnerTx,
        lead: &Lead,
        cohort: &Cohort,
        replace: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, TxError> {
        let lang = lead.lang;
        let programme = self.cohort_programme(cohort);
        let args = [("name", lead.name.as_str()), ("cohort", cohort.id.as_str()), ("programme", programme.as_str())];
        let welcome = render::text(fill(lang, "lead.joined", &args));
        let welcome = match replace {
            Some(message_id) => Outgoing::Edit { message_id, message: welcome },
            None => Outgoing::Send { message: welcome },
        };
        let min = crate::report::DEFAULT_MIN_GROUP.to_string();
        let privacy = send(fill(lang, "lead.privacy", &[("min", &min)]));
        record_plain(tx, lang, Purpose::Reply, None, vec![welcome, privacy], now)
    }

    /// What follows a new lead: the admins are told, and the lead's chat gets the lead's menu.
    fn joined(
        &self,
        lead: Lead,
        cohort: &Cohort,
        seqs: Vec<DeliverySeq>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        tracing::info!(lead = lead.id.get(), cohort = %cohort.id, "a team lead joined");
        let others = self.tell_admins(&lead, cohort, now)?;
        let menu = ChatMenu { lang: lead.lang, admin: self.is_admin(lead.id), lead: true };
        Ok(Handled { others, menu: Some(menu), ..Handled::sending(seqs) })
    }

    /// Tells every configured admin (but the new lead) that `lead` joined `cohort`, each in
    /// their own language: their learner or lead language, else English.
    fn tell_admins(&self, lead: &Lead, cohort: &Cohort, now: DateTime<Utc>) -> Result<Vec<Batch>, StoreError> {
        let id = lead.id.to_string();
        let args = [("name", lead.name.as_str()), ("id", id.as_str()), ("cohort", cohort.id.as_str())];
        let mut batches = Vec::new();
        for &admin in self.settings.telegram.admins.iter().filter(|&&admin| admin != lead.id) {
            let seqs = self.store.with_learner(admin, |tx| {
                let own = tx.learner()?.map(|learner| learner.lang).or(tx.lead()?.map(|lead| lead.lang));
                let lang = own.unwrap_or(Lang::En);
                record_plain(tx, lang, Purpose::Reply, None, vec![send(fill(lang, "lead.admin_notice", &args))], now)
            })?;
            batches.push(Batch { learner: admin, seqs });
        }
        Ok(batches)
    }

    /// Asks `learner` whether to leave the learner role for a lead's of `cohort`. The buttons
    /// carry the question's own delivery number, so only this learner's press on this question
    /// counts; nothing else about them changes until they say yes.
    fn ask_switch(
        &self,
        tx: &dyn LearnerTx,
        learner: &Learner,
        cohort: &Cohort,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, TxError> {
        let lang = learner.lang;
        let seq = tx.next_seq()?;
        let button = |key: &str, confirm| Button {
            label: tr(lang, key).to_owned(),
            data: Callback::LeadSwitch { seq, confirm }.encode(),
        };
        let args = [("cohort", self.programme_title(learner)), ("lead_cohort", self.cohort_programme(cohort))];
        let args: Vec<(&str, &str)> = args.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let question = OutMessage {
            html: fill(lang, "lead.confirm_switch", &args),
            buttons: vec![vec![button("lead.switch_yes", true), button("lead.switch_no", false)]],
        };
        let purpose = Purpose::LeadSwitch { cohort: cohort.id.clone() };
        put_parts(tx, pending(tx, seq, purpose, None, now), render::fit_outgoing(lang, send_message(question)))
    }

    /// The answer to "become a lead instead?": yes erases the learner's records and makes them
    /// a lead of the cohort; no keeps everything (and the question, answered, no longer counts).
    pub(super) fn answer_switch(
        &self,
        from: &Person,
        seq: DeliverySeq,
        confirm: bool,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let asked = self.store.with_learner(from.id, |tx| {
            let Some(learner) = tx.learner()? else { return Ok(None) };
            let Some(delivery) = tx.delivery(seq)? else { return Ok(None) };
            let Purpose::LeadSwitch { cohort } = &delivery.purpose else { return Ok(None) };
            let cohort = cohort.clone();
            if !confirm {
                tx.put_delivery(&Delivery { purpose: Purpose::Reply, ..delivery })?;
            }
            Ok(Some((learner, cohort)))
        })?;
        let lang = from.language.unwrap_or(Lang::En);
        let Some((learner, cohort_id)) = asked else { return Ok(Handled::toast(tr(lang, "chat.stale_button"))) };
        let cohort = self.settings.cohort(&cohort_id).filter(|cohort| cohort.team.lead_invite.is_some());
        let Some(cohort) = cohort else { return Ok(Handled::toast(tr(learner.lang, "chat.stale_button"))) };
        if !confirm {
            let text = fill(learner.lang, "lead.stayed", &[("cohort", &self.programme_title(&learner))]);
            return self.reply_edit(from, message_id, now, render::text(text));
        }
        self.erase_learner(from.id, learner.lang)?;
        tracing::info!(learner = from.id.get(), cohort = %cohort.id, "a learner left the learner role to lead");
        let lead = with_cohort(None, from, cohort, now);
        let seqs = self.store.with_learner(from.id, |tx| {
            tx.put_lead(&lead)?;
            self.greet_lead(tx, &lead, cohort, message_id, now)
        })?;
        self.joined(lead, cohort, seqs, now)
    }
}

/// `existing` (if any) leading `cohort` too, or a new lead of it in the cohort's language.
fn with_cohort(existing: Option<Lead>, from: &Person, cohort: &Cohort, now: DateTime<Utc>) -> Lead {
    let mut lead = existing.unwrap_or_else(|| Lead {
        id: from.id,
        name: from.first_name.clone(),
        lang: cohort.language,
        cohorts: Vec::new(),
        joined_at: now,
    });
    lead.cohorts.push(cohort.id.clone());
    lead
}

/// A plain message with `html`.
pub(super) fn send(html: String) -> Outgoing {
    send_message(render::text(html))
}

fn send_message(message: OutMessage) -> Outgoing {
    Outgoing::Send { message }
}

/// A pending delivery `seq` of the transaction's person, about no cohort.
fn pending(tx: &dyn LearnerTx, seq: DeliverySeq, purpose: Purpose, slot: Option<&str>, now: DateTime<Utc>) -> Delivery {
    Delivery {
        seq,
        learner: tx.learner_id(),
        cohort: String::new(),
        created: now,
        slot: slot.map(str::to_owned),
        purpose,
        state: DeliveryState::Pending,
        outgoing: None,
    }
}

/// Records `messages` for someone who is no learner (a lead, or an admin told of one) as
/// pending deliveries, each cut to fit Telegram in `lang`; returns their seqs in order. They
/// carry no cohort: no report counts them.
pub(super) fn record_plain(
    tx: &dyn LearnerTx,
    lang: Lang,
    purpose: Purpose,
    slot: Option<&str>,
    messages: Vec<Outgoing>,
    now: DateTime<Utc>,
) -> Result<Vec<DeliverySeq>, TxError> {
    let mut seqs = Vec::with_capacity(messages.len());
    for outgoing in messages {
        let delivery = pending(tx, tx.next_seq()?, purpose.clone(), slot, now);
        seqs.extend(put_parts(tx, delivery, render::fit_outgoing(lang, outgoing))?);
    }
    Ok(seqs)
}
