//! What a team lead does in the chat: `/team [cohort]` (the digest now), `/report [cohort]`
//! (their own cohorts only, never per-learner rows), `/help`, `/language`, and the data rights
//! `/mydata` and `/forget`. A lead gets no lessons, so the learner's commands (`/progress`,
//! `/pause`, `/time`…) get a line saying so and the lead's help instead of a learner's reply.
//! Building a digest or a report reads the whole store, so it is only asked for here
//! ([`LeadRequest`]) and built off the update loop ([`Service::lead_request`]).

use chrono::{DateTime, Utc};

use super::leads::{record_plain, send};
use super::{AdminReport, ChatMenu, Handled, Service, goodbye};
use crate::chat::callback::Callback;
use crate::chat::{Command, Incoming, Person};
use crate::domain::{Button, DeliverySeq, Lead, LearnerId, OutMessage, Outgoing, Purpose};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::report::from_store::ReportRequest;
use crate::store::{StorageExt, StoreError};

/// A lead's request for their digest or report, to build off the update loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeadRequest {
    /// The lead.
    pub lead: LearnerId,
    /// The lead's language, of the texts and the report.
    pub lang: Lang,
    /// The cohorts asked for, each of them led by this lead.
    pub cohorts: Vec<String>,
    /// What they asked for.
    pub what: LeadAsk,
}

/// What a lead asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeadAsk {
    /// `/team`: the digest now (the stand-up question is not marked offered).
    Digest,
    /// `/report`: a summary and the HTML report, without per-learner rows.
    Report,
}

impl Service {
    /// Everything a lead does: their commands, their button presses, and a hint otherwise.
    pub(super) fn lead_handle(
        &self,
        lead: Lead,
        incoming: &Incoming,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        match incoming {
            Incoming::Command { from, command } => self.lead_command(lead, from, command, now),
            Incoming::Press { data, message_id, .. } => self.lead_press(&lead, data, *message_id, now),
            Incoming::Text { .. } | Incoming::Other { .. } => self.lead_says(&lead, tr(lead.lang, "lead.help"), now),
        }
    }

    fn lead_command(
        &self,
        lead: Lead,
        from: &Person,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let lang = lead.lang;
        match command {
            Command::Start { invite } => self.lead_start(&lead, from, invite.as_deref(), now),
            Command::Help => self.lead_says(&lead, tr(lang, "lead.help"), now),
            Command::Team { cohort } => self.lead_asks(&lead, cohort.as_deref(), LeadAsk::Digest, now),
            Command::Report { cohort } if self.is_admin(lead.id) => {
                let request = ReportRequest { cohort: cohort.clone(), ..ReportRequest::default() };
                let asked = AdminReport { admin: lead.id, lang, request };
                Ok(Handled { admin_report: Some(asked), ..Handled::default() })
            }
            Command::Report { cohort } => self.lead_asks(&lead, cohort.as_deref(), LeadAsk::Report, now),
            Command::MyData => self.lead_data(&lead, now),
            Command::Forget => self.lead_ask_forget(&lead, now),
            Command::Language(choice) => self.lead_language(lead, *choice, None, now),
            Command::Unknown => self.lead_says(&lead, tr(lang, "chat.unknown_command"), now),
            // Every other command is a learner's (`/progress`, `/pause`, `/time`, `/idea`…): a
            // lead has no lessons to pace or progress to show, so they learn why and what they
            // can do instead.
            _ => self.lead_says(&lead, &format!("{}\n\n{}", tr(lang, "lead.learner_only"), tr(lang, "lead.help")), now),
        }
    }

    /// `/start` from a lead: another cohort's lead invite adds it; a learner invite is refused,
    /// since a lead is not a learner too.
    fn lead_start(
        &self,
        lead: &Lead,
        from: &Person,
        invite: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let Some(code) = invite else { return self.lead_says(lead, tr(lead.lang, "lead.help"), now) };
        if let Some(cohort) = self.settings.cohort_by_lead_invite(code) {
            return self.join_as_lead(from, cohort, now);
        }
        match self.settings.cohort_by_invite(code) {
            Some(_) => self.lead_says(lead, tr(lead.lang, "lead.learner_invite"), now),
            None => self.lead_says(lead, &fill(lead.lang, "start.bad_invite", &[("code", code)]), now),
        }
    }

    /// `/team` or `/report`: every cohort of the lead's, or the one named if they lead it.
    fn lead_asks(
        &self,
        lead: &Lead,
        cohort: Option<&str>,
        what: LeadAsk,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let cohorts = match cohort {
            None => lead.cohorts.clone(),
            Some(wanted) if lead.cohorts.iter().any(|id| id == wanted) => vec![wanted.to_owned()],
            Some(wanted) => {
                let args = [("cohort", wanted), ("cohorts", &lead.cohorts.join(", "))];
                return self.lead_says(lead, &fill(lead.lang, "lead.not_lead_of", &args), now);
            }
        };
        let request = LeadRequest { lead: lead.id, lang: lead.lang, cohorts, what };
        Ok(Handled { lead_request: Some(request), ..Handled::default() })
    }

    /// `/mydata` from a lead: their lead record and the messages sent to them, as a file.
    fn lead_data(&self, lead: &Lead, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let export = self.store.export(lead.id)?;
        let content = serde_json::to_string_pretty(&export).unwrap_or_else(|_| "{}".to_owned());
        let lang = lead.lang;
        let file = Outgoing::Document {
            file_name: tr(lang, "mydata.file_name").to_owned(),
            caption: tr(lang, "mydata.caption").to_owned(),
            content,
        };
        self.lead_sends(lead, vec![file], now)
    }

    fn lead_ask_forget(&self, lead: &Lead, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let lang = lead.lang;
        let question = OutMessage {
            html: tr(lang, "lead.forget_confirm").to_owned(),
            buttons: vec![vec![
                Button { label: tr(lang, "forget.yes").to_owned(), data: Callback::Forget(true).encode() },
                Button { label: tr(lang, "forget.no").to_owned(), data: Callback::Forget(false).encode() },
            ]],
        };
        self.lead_sends(lead, vec![Outgoing::Send { message: question }], now)
    }

    fn lead_press(
        &self,
        lead: &Lead,
        data: &str,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        match Callback::decode(data) {
            Some(Callback::Forget(true)) => self.lead_forget(lead, message_id),
            Some(Callback::Forget(false)) => {
                self.lead_replaces(lead, message_id, tr(lead.lang, "forget.kept").to_owned(), now)
            }
            Some(Callback::Language(lang)) => self.lead_language(lead.clone(), Some(lang), message_id, now),
            Some(Callback::Noop) => Ok(Handled::default()),
            _ => Ok(Handled::toast(tr(lead.lang, "chat.stale_button"))),
        }
    }

    /// Erases every record of the lead, as `/forget` does for a learner; the goodbye leaves
    /// nothing behind, and the chat's menu is a stranger's again.
    fn lead_forget(&self, lead: &Lead, message_id: Option<i64>) -> Result<Handled, StoreError> {
        let lang = self.erase_learner(lead.id, lead.lang)?;
        tracing::info!(lead = lead.id.get(), "a team lead erased their records");
        let outgoing = match message_id {
            Some(message_id) => Outgoing::Edit { message_id, message: goodbye(lang) },
            None => Outgoing::Send { message: goodbye(lang) },
        };
        let menu = ChatMenu { lang, admin: self.is_admin(lead.id), lead: false };
        Ok(Handled {
            toast: Some(tr(lang, "forget.toast").to_owned()),
            direct: vec![outgoing],
            menu: Some(menu),
            ..Handled::default()
        })
    }

    /// `/language` for a lead: the language of their texts and digests. Without a choice they
    /// get the buttons; a choice replaces the message with the buttons, if there was one.
    fn lead_language(
        &self,
        mut lead: Lead,
        choice: Option<Lang>,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let Some(lang) = choice else {
            return self.lead_sends(&lead, vec![Outgoing::Send { message: render::language_choice(lead.lang) }], now);
        };
        lead.lang = lang;
        let confirmation = render::text(tr(lang, "language.set").to_owned());
        let reply = match message_id {
            Some(message_id) => Outgoing::Edit { message_id, message: confirmation },
            None => Outgoing::Send { message: confirmation },
        };
        let seqs = self.store.with_learner(lead.id, |tx| {
            let Some(mut stored) = tx.lead()? else { return Ok(Vec::new()) };
            stored.lang = lang;
            tx.put_lead(&stored)?;
            record_plain(tx, lang, Purpose::Reply, None, vec![reply.clone()], now)
        })?;
        let menu = ChatMenu { lang, admin: self.is_admin(lead.id), lead: true };
        Ok(Handled { menu: Some(menu), ..Handled::sending(seqs) })
    }

    /// Replaces message `message_id` (the one with the pressed button) with `html`, or sends it.
    fn lead_replaces(
        &self,
        lead: &Lead,
        message_id: Option<i64>,
        html: String,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let message = render::text(html);
        let outgoing = match message_id {
            Some(message_id) => Outgoing::Edit { message_id, message },
            None => Outgoing::Send { message },
        };
        self.lead_sends(lead, vec![outgoing], now)
    }

    /// Sends the lead one text.
    fn lead_says(&self, lead: &Lead, html: &str, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        self.lead_sends(lead, vec![send(html.to_owned())], now)
    }

    /// Records `messages` for the lead and sends them.
    fn lead_sends(&self, lead: &Lead, messages: Vec<Outgoing>, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let seqs: Vec<DeliverySeq> = self
            .store
            .with_learner(lead.id, |tx| record_plain(tx, lead.lang, Purpose::Reply, None, messages.clone(), now))?;
        Ok(Handled::sending(seqs))
    }
}
