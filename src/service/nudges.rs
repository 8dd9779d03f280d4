//! Scheduled nudges: keeping each learner's next nudge in the store's agenda, sending it when
//! due (once per cohort slot, planned by the engine), and rebuilding the agenda at start-up.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Commit, Service, cohort_of, is_due};
use crate::config::Cohort;
use crate::domain::{DeliverySeq, Learner, LearnerId, NextNudge, Status};
use crate::engine::{Outcome, SlotContext, plan_slot};
use crate::i18n::{describe_when, tr};
use crate::schedule::agenda::{Timing, next_due};
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};

/// Learners rescheduled between two flushes while the agenda is rebuilt.
const REBUILD_FLUSH_EVERY: usize = 2_000;

impl Service {
    /// The learner's next nudge after `after`, by their cohort's schedule and their own
    /// preferences; `None` when they are inactive, paused without an end, or the cohort is gone.
    pub(crate) fn next_nudge_for(&self, learner: &Learner, after: DateTime<Utc>) -> Option<NextNudge> {
        let cohort = cohort_of(&self.settings, learner)?;
        let after = match &learner.status {
            Status::Active => after,
            Status::Paused { until: Some(until) } => after.max(*until),
            Status::Paused { until: None } | Status::Inactive { .. } | Status::Erasing { .. } => return None,
        };
        let timing = Timing {
            schedule: &cohort.schedule,
            cohort_tz: cohort.timezone,
            policy: &cohort.policy,
            learner_tz: self.learner_tz(learner),
            preferred: learner.prefs.time,
        };
        let due = next_due(&timing, after).or_else(|| {
            // `/time` refuses a time that no slot reaches, but quiet hours or days off may have
            // changed since: the team's own schedule is better than silence.
            let fallback = next_due(&Timing { preferred: None, ..timing }, after)?;
            tracing::warn!(
                learner = %learner.id,
                cohort = %cohort.id,
                "no slot of the cohort reaches the learner's own time any more; nudging on the cohort's times"
            );
            Some(fallback)
        });
        due.map(|due| NextNudge { at: due.at, slot: due.slot.key() })
    }

    /// True when a learner in `zone` who chooses `time` would still be nudged by `cohort`.
    pub(super) fn time_reaches_learner(&self, cohort: &Cohort, zone: Tz, time: NaiveTime, now: DateTime<Utc>) -> bool {
        let timing = Timing {
            schedule: &cohort.schedule,
            cohort_tz: cohort.timezone,
            policy: &cohort.policy,
            learner_tz: zone,
            preferred: Some(time),
        };
        next_due(&timing, now).is_some()
    }

    /// Moves the learner's agenda entry to their next nudge after `after`.
    pub(super) fn reschedule(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        after: DateTime<Utc>,
    ) -> Result<(), TxError> {
        let next = self.next_nudge_for(learner, after);
        tx.set_agenda(learner.next_nudge.as_ref(), next.as_ref())?;
        if next != learner.next_nudge {
            learner.next_nudge = next;
            self.agenda_changed.notify_one();
        }
        Ok(())
    }

    /// "tomorrow at 09:00": when the learner's next nudge comes, in their language and zone.
    pub(crate) fn next_nudge_text(&self, learner: &Learner, now: DateTime<Utc>) -> String {
        if learner.next_nudge.is_none() && learner.status == (Status::Paused { until: None }) {
            return tr(learner.lang, "time.after_resume").to_owned();
        }
        let tz = self.learner_tz(learner);
        let next = learner.next_nudge.as_ref().map(|next| next.at.with_timezone(&tz).naive_local());
        describe_when(learner.lang, next, now.with_timezone(&tz).naive_local())
    }

    /// Sends learner `id` the nudge of agenda entry `due`, if it is still theirs and the slot
    /// is not claimed yet, and schedules their next one. Returns what to send.
    pub(crate) fn nudge_due(
        &self,
        id: LearnerId,
        due: &NextNudge,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, StoreError> {
        self.store.with_learner(id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                tx.set_agenda(Some(due), None)?;
                return Ok(Vec::new());
            };
            if learner.next_nudge.as_ref() != Some(due) {
                tx.set_agenda(Some(due), None)?;
                tx.set_agenda(None, learner.next_nudge.as_ref())?;
                return Ok(Vec::new());
            }
            let cohort = cohort_of(&self.settings, &learner).cloned();
            let pack = cohort.as_ref().and_then(|cohort| self.library().pack(&cohort.pack).cloned());
            let (Some(cohort), Some(pack), true) = (cohort, pack, is_due(&learner, now)) else {
                self.reschedule(tx, &mut learner, now)?;
                tx.put_learner(&learner)?;
                return Ok(Vec::new());
            };
            learner.status = Status::Active;
            let outcome = if tx.claim_slot(&cohort.id, &due.slot, now)? {
                let tz = self.learner_tz(&learner);
                plan_slot(&mut learner, &SlotContext { pack: &pack, policy: &cohort.policy, tz, now })
            } else {
                Outcome::default()
            };
            self.reschedule(tx, &mut learner, now)?;
            let commit = Commit { pack: Some(&pack), slot: Some(&due.slot), now };
            self.commit(tx, Some(learner), outcome, commit)
        })
    }

    /// Makes every learner's agenda entry agree with the current config: entries already due
    /// stay (they are the catch-up for time the daemon was down, one nudge each), the others
    /// are recomputed. Returns the number of entries changed.
    pub(crate) fn rebuild_agenda(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut stale = Vec::new();
        for learner in self.store.learners() {
            let learner = learner?;
            let overdue = learner.next_nudge.as_ref().is_some_and(|next| next.at <= now) && is_due(&learner, now);
            let wanted = if overdue { learner.next_nudge.clone() } else { self.next_nudge_for(&learner, now) };
            let present = learner.next_nudge.as_ref().is_none_or(|next| self.store.has_agenda(next, learner.id));
            if wanted != learner.next_nudge || !present {
                stale.push(learner.id);
            }
        }
        for (done, &id) in stale.iter().enumerate() {
            // Flushing as it goes keeps memory flat when a config change moves everyone.
            if done % REBUILD_FLUSH_EVERY == REBUILD_FLUSH_EVERY - 1 {
                self.store.flush_blocking()?;
            }
            self.store.with_learner(id, |tx| {
                let Some(mut learner) = tx.learner()? else { return Ok(()) };
                if learner.next_nudge.as_ref().is_some_and(|next| next.at <= now) && is_due(&learner, now) {
                    tx.set_agenda(None, learner.next_nudge.as_ref())?;
                    return Ok(());
                }
                self.reschedule(tx, &mut learner, now)?;
                tx.put_learner(&learner)
            })?;
        }
        Ok(stale.len())
    }
}
