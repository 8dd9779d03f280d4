//! The leads' digest: at a cohort's `digest` slot every lead of it gets one message (composed by
//! `team::digest` in the lead's language) and the cohort's HTML report as a file, without
//! per-learner rows; `/team` gets the same now. The slot also makes the week's "from your
//! colleagues" edition, which learners get at their next regular slot.
//!
//! What a lead reads is aggregated (k ≥ 5, in `team::digest` and the report) or unnamed: the
//! ideas and the texts learners chose to share since the last digest, in alphabetical order so
//! that no order points at a person. Notes are read when the digest is made, so one erased
//! before is not in it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::lead_chat::{LeadAsk, LeadRequest};
use super::leads::{record_plain, send};
use super::{AdminReport, Batch, Service};
use crate::config::Cohort;
use crate::content::Pack;
use crate::domain::{AnswerKind, CohortState, ColleaguesEdition, Lead, Learner, Note, NoteKind, Outgoing, Purpose};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::report::from_store::{ReportError, ReportRequest, report_from_store};
use crate::report::{Report, html_in};
use crate::schedule::cron::Slot;
use crate::store::{StorageExt, StoreError};
use crate::team::{colleagues, digest, standup};

/// The span a digest's texts come from: after the last digest, up to `until`.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The last digest slot handled, if any.
    since: Option<DateTime<Utc>>,
    /// The slot being handled, or now for `/team`.
    until: DateTime<Utc>,
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at > since) && at <= self.until
    }
}

/// A stand-up question: its lesson's title and the question as Telegram HTML.
type Standup = (String, String);

/// One cohort's week as its leads see it, the same for every lead; each gets it in their
/// language.
struct TeamWeek {
    /// The cohort's report, without per-learner rows.
    report: Report,
    /// Ideas since the last digest, sorted.
    ideas: Vec<String>,
    /// Shared team answers and reflections since the last digest, sorted.
    shared: Vec<String>,
    /// The stand-up question.
    standup: Option<Standup>,
    /// The stand-up question's lesson when it was chosen now, new to the leads.
    fresh_standup: Option<String>,
}

impl Service {
    /// Handles digest slot `slot` of `cohort`: each of its leads gets the digest once (a claim
    /// per lead and slot, so a restart never sends it twice), the stand-up question is marked
    /// offered, the colleagues edition is made, and the slot is remembered as handled. Returns
    /// the batches to send. On an error nothing is remembered: the next tick tries again, and
    /// the claims keep the leads done already from a second copy.
    pub(crate) fn digest_slot(
        &self,
        cohort: &Cohort,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Vec<Batch>, ReportError> {
        let mut state = self.store.cohort_state(&cohort.id)?;
        let window = Window { since: state.last_digest, until: slot.at };
        let notes = self.notes_in(&cohort.id, window)?;
        let leads = self.leads_of(&cohort.id)?;
        let mut batches = Vec::new();
        if !leads.is_empty() {
            let week = self.team_week(cohort, &notes, window, &state, false, now)?;
            batches = self.send_digests(cohort, &leads, &week, slot, now)?;
            state.standups_offered.extend(week.fresh_standup);
        }
        state.colleagues = colleagues::pick(&notes).map(|picked| ColleaguesEdition {
            made_at: slot.at,
            answers: picked.iter().map(|note| (note.learner, note.delivery)).collect(),
        });
        state.last_digest = Some(slot.at);
        self.store.put_cohort_state(&cohort.id, &state)?;
        tracing::info!(cohort = %cohort.id, slot = %slot.key(), leads = batches.len(), colleagues = state.colleagues.is_some(), "digest slot handled");
        Ok(batches)
    }

    /// Records the digest for each lead who still leads `cohort` and has not had this slot.
    fn send_digests(
        &self,
        cohort: &Cohort,
        leads: &[Lead],
        week: &TeamWeek,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Vec<Batch>, StoreError> {
        let key = format!("digest@{}", slot.key());
        let purpose = Purpose::Digest { cohort: cohort.id.clone() };
        let mut batches = Vec::new();
        for lead in leads {
            let messages = self.digest_messages(week, cohort, lead.lang, now);
            let seqs = self.store.with_learner(lead.id, |tx| {
                let Some(current) = tx.lead()?.filter(|current| current.cohorts.contains(&cohort.id)) else {
                    return Ok(Vec::new());
                };
                if !tx.claim_slot(&cohort.id, &key, now)? {
                    return Ok(Vec::new());
                }
                record_plain(tx, current.lang, purpose.clone(), Some(&key), messages.clone(), now)
            })?;
            if !seqs.is_empty() {
                batches.push(Batch { learner: lead.id, seqs });
            }
        }
        Ok(batches)
    }

    /// Builds what a lead asked for in the chat and records it for them: per cohort, the digest
    /// now or the report. A part that cannot be made is said so in the chat and logged by name.
    /// Reads the whole store: call it off the update loop.
    pub(crate) fn lead_request(&self, request: &LeadRequest, now: DateTime<Utc>) -> Result<Batch, StoreError> {
        let mut parts: Vec<(Purpose, Vec<Outgoing>)> = Vec::new();
        for id in &request.cohorts {
            let Some(cohort) = self.settings.cohort(id) else {
                tracing::warn!(lead = request.lead.get(), cohort = %id, "a lead's cohort is no longer configured");
                continue;
            };
            parts.push(match request.what {
                LeadAsk::Digest => (Purpose::Digest { cohort: id.clone() }, self.digest_now(request, cohort, now)),
                LeadAsk::Report => (Purpose::Reply, self.lead_report(request, cohort, now)),
            });
        }
        let seqs = self.store.with_learner(request.lead, |tx| {
            let mut seqs = Vec::new();
            if tx.lead()?.is_none() {
                return Ok(seqs);
            }
            for (purpose, messages) in &parts {
                seqs.extend(record_plain(tx, request.lang, purpose.clone(), None, messages.clone(), now)?);
            }
            Ok(seqs)
        })?;
        Ok(Batch { learner: request.lead, seqs })
    }

    /// `/team`: the digest of `cohort` as it stands now; the stand-up question is the one the
    /// next digest would offer, else this week's, and is not marked offered.
    fn digest_now(&self, request: &LeadRequest, cohort: &Cohort, now: DateTime<Utc>) -> Vec<Outgoing> {
        let week = self.store.cohort_state(&cohort.id).map_err(ReportError::from).and_then(|state| {
            let window = Window { since: state.last_digest, until: now };
            let notes = self.notes_in(&cohort.id, window)?;
            self.team_week(cohort, &notes, window, &state, true, now)
        });
        match week {
            Ok(week) => self.digest_messages(&week, cohort, request.lang, now),
            Err(error) => {
                tracing::error!(lead = request.lead.get(), cohort = %cohort.id, error = %error, "a lead's digest cannot be made");
                vec![send(tr(request.lang, "lead.digest_failed").to_owned())]
            }
        }
    }

    /// `/report` from a lead: the admins' summary and page for one cohort, without per-learner
    /// rows whatever the config says.
    fn lead_report(&self, request: &LeadRequest, cohort: &Cohort, now: DateTime<Utc>) -> Vec<Outgoing> {
        let report =
            ReportRequest { cohort: Some(cohort.id.clone()), aggregates_only: true, ..ReportRequest::default() };
        self.admin_report(&AdminReport { admin: request.lead, lang: request.lang, request: report }, now)
    }

    /// Everything the digest of `cohort` says, from `notes` (the cohort's in `window`), the
    /// report and the roster. `fall_back` offers this week's stand-up question again when no
    /// new one is ready (for `/team`).
    fn team_week(
        &self,
        cohort: &Cohort,
        notes: &[Note],
        window: Window,
        state: &CohortState,
        fall_back: bool,
        now: DateTime<Utc>,
    ) -> Result<TeamWeek, ReportError> {
        let library = self.library();
        let request =
            ReportRequest { cohort: Some(cohort.id.clone()), aggregates_only: true, ..ReportRequest::default() };
        let report =
            report_from_store(&*self.store, &self.settings, &library, &request, || self.store.report_key(), now)?;
        let ideas = sorted(notes.iter().filter(|note| note.kind == NoteKind::Idea).map(|note| note.text.clone()));
        let answers = notes.iter().filter(|note| note.kind == NoteKind::TeamAnswer && note.shared);
        let reflections = self.shared_reflections(&cohort.id, window)?;
        let shared = sorted(answers.map(|note| note.text.clone()).chain(reflections));
        let pack = library.pack(&cohort.pack).cloned();
        let (standup, fresh_standup) = match &pack {
            Some(pack) => self.standup(&cohort.id, pack, &state.standups_offered, fall_back)?,
            None => (None, None),
        };
        Ok(TeamWeek { report, ideas, shared, standup, fresh_standup })
    }

    /// The stand-up question for `pack`'s team (see `team::standup`), and its lesson's id when
    /// it is new to the leads.
    fn standup(
        &self,
        cohort: &str,
        pack: &Arc<Pack>,
        offered: &[String],
        fall_back: bool,
    ) -> Result<(Option<Standup>, Option<String>), StoreError> {
        let mut roster: Vec<Learner> = Vec::new();
        for learner in self.store.learners() {
            roster.extend(Some(learner?).filter(|learner| learner.cohort == cohort));
        }
        let roster: Vec<&Learner> = roster.iter().collect();
        let fresh = standup::choose(pack, &roster, offered);
        let lesson = match (fresh, fall_back) {
            (Some(lesson), _) => Some(lesson),
            (None, true) => offered.last().and_then(|id| pack.lesson(id)).map(|lesson| lesson.as_ref()),
            (None, false) => None,
        };
        let question =
            lesson.and_then(|lesson| lesson.team.as_ref().map(|team| (lesson.title.clone(), team.text.html.clone())));
        Ok((question, fresh.map(|lesson| lesson.id.clone())))
    }

    /// The digest in `lang`: the message (split if over Telegram's limit) and the report page.
    fn digest_messages(&self, week: &TeamWeek, cohort: &Cohort, lang: Lang, now: DateTime<Utc>) -> Vec<Outgoing> {
        let programme = self.cohort_programme(cohort);
        let figures = week.report.cohorts.first().and_then(|report| report.figures.shown());
        let min_group = week.report.min_group;
        let figures = figures.filter(|figures| figures.totals.learners_enrolled >= min_group as u64);
        let facts = digest::DigestFacts {
            cohort: &cohort.id,
            programme: &programme,
            goal: cohort.team.goal.as_deref(),
            min_group,
            active: figures.map_or(0, |figures| figures.totals.learners_active),
            active_before: figures.map_or(0, |figures| figures.totals.learners_active_week_before),
            figures,
            practice_learners: figures.map_or(0, |figures| figures.totals.learners_checked_in),
            furthest: figures.and_then(|figures| digest::furthest(&figures.lessons, min_group)),
            shared: &week.shared,
            ideas: &week.ideas,
            standup: week.standup.as_ref().map(|(lesson, question)| (lesson.as_str(), question.as_str())),
        };
        let date = now.with_timezone(&cohort.timezone).format("%Y-%m-%d").to_string();
        let page = Outgoing::Document {
            file_name: format!("nudge-{}-{date}.html", cohort.id),
            caption: fill(lang, "admin.report_caption", &[("date", &date)]),
            content: html_in(&week.report, lang, cohort.timezone),
        };
        vec![Outgoing::Send { message: render::text(digest::compose(lang, &facts)) }, page]
    }

    /// The leads of `cohort`.
    fn leads_of(&self, cohort: &str) -> Result<Vec<Lead>, StoreError> {
        let mut leads = Vec::new();
        for lead in self.store.leads() {
            let lead = lead?;
            if lead.cohorts.iter().any(|id| id == cohort) {
                leads.push(lead);
            }
        }
        Ok(leads)
    }

    /// The notes (ideas, team answers) written in `cohort` within `window`.
    fn notes_in(&self, cohort: &str, window: Window) -> Result<Vec<Note>, StoreError> {
        let mut notes = Vec::new();
        for note in self.store.notes() {
            let note = note?;
            if note.cohort == cohort && window.contains(note.at) {
                notes.push(note);
            }
        }
        Ok(notes)
    }

    /// The reflection answers learners of `cohort` shared, answered within `window`.
    fn shared_reflections(&self, cohort: &str, window: Window) -> Result<Vec<String>, StoreError> {
        let mut texts = Vec::new();
        for answer in self.store.answers() {
            let answer = answer?;
            if let AnswerKind::Reflect { text, shared: true, .. } = answer.kind
                && answer.cohort == cohort
                && window.contains(answer.at)
            {
                texts.push(text);
            }
        }
        Ok(texts)
    }
}

/// `texts` in alphabetical order, which says nothing about who wrote which.
fn sorted(texts: impl Iterator<Item = String>) -> Vec<String> {
    let mut texts: Vec<String> = texts.collect();
    texts.sort();
    texts
}
