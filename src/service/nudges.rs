//! Scheduled nudges: keeping each learner's next nudge in the store's agenda, sending it when
//! due (once per cohort slot, planned by the engine), and rebuilding the agenda at start-up.
//! A learner's agenda entry is the earlier of their next regular slot and their next slot of
//! the cohort's team-question schedule; both reach them at their `/time`, in their zone, never
//! in quiet hours or on days off.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Commit, Service, cohort_of, is_due};
use crate::config::Cohort;
use crate::domain::{DeliverySeq, Learner, LearnerId, NextNudge, Status, TeamSlot};
use crate::engine::team::{TeamContext, agenda_entry, plan_entry};
use crate::engine::{Outcome, SlotContext};
use crate::i18n::{describe_when, tr};
use crate::schedule::agenda::{Due, Timing, due_from, is_team_slot_key, next_due, team_slot_key};
use crate::schedule::cron::CronSpec;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};

/// Learners rescheduled between two flushes while the agenda is rebuilt.
const REBUILD_FLUSH_EVERY: usize = 2_000;

/// Which of a cohort's two schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schedule {
    /// The cohort's `schedule`: lessons, quizzes, reviews.
    Regular,
    /// The cohort's `team_question_schedule`.
    TeamQuestion,
}

impl Service {
    /// The learner's next agenda entry after `after`: the earlier of their next regular nudge
    /// and their next team question ([`agenda_entry`]); `None` when they are inactive, paused
    /// without an end, or the cohort is gone.
    pub(crate) fn next_nudge_for(&self, learner: &Learner, after: DateTime<Utc>) -> Option<NextNudge> {
        let regular = self.due_after(learner, Schedule::Regular, after);
        let team = self.due_after(learner, Schedule::TeamQuestion, after);
        agenda_entry(regular.as_ref(), team.as_ref())
    }

    /// The learner's next regular nudge after `after` (what the bot tells them is coming).
    fn next_regular_for(&self, learner: &Learner, after: DateTime<Utc>) -> Option<NextNudge> {
        let due = self.due_after(learner, Schedule::Regular, after)?;
        Some(NextNudge { at: due.at, slot: due.slot.key() })
    }

    /// The learner's first slot of `schedule` strictly after `after`, by their preferences;
    /// `None` when they are inactive, paused without an end, or the cohort is gone.
    fn due_after(&self, learner: &Learner, schedule: Schedule, after: DateTime<Utc>) -> Option<Due> {
        let cohort = cohort_of(&self.settings, learner)?;
        let after = match &learner.status {
            Status::Active => after,
            Status::Paused { until: Some(until) } => after.max(*until),
            Status::Paused { until: None } | Status::Inactive { .. } | Status::Erasing { .. } => return None,
        };
        let timing = self.timing(learner, cohort, schedule);
        let catch_up = match schedule {
            Schedule::Regular => self.track_catch_up(learner, cohort, &timing, after),
            Schedule::TeamQuestion => None,
        };
        let due = next_due(&timing, after).or_else(|| {
            // `/time` refuses a time that no slot reaches, but quiet hours or days off may have
            // changed since: the team's own schedule is better than silence.
            let fallback = next_due(&Timing { preferred: None, ..timing }, after)?;
            tracing::warn!(
                learner = %learner.id,
                cohort = %cohort.id,
                ?schedule,
                "no slot of the cohort reaches the learner's own time any more; nudging on the cohort's times"
            );
            Some(fallback)
        });
        match (catch_up, due) {
            (Some(catch_up), Some(due)) if due.at <= catch_up.at => Some(due),
            (Some(catch_up), _) => Some(catch_up),
            (None, due) => due,
        }
    }

    /// The learner's slot of `schedule` due at `at` or later, if it is due by `now`: what
    /// else an agenda entry due at `at` brings.
    fn due_by(&self, learner: &Learner, schedule: Schedule, at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
        let cohort = cohort_of(&self.settings, learner)?;
        let timing = self.timing(learner, cohort, schedule);
        let due = due_from(&timing, at).or_else(|| due_from(&Timing { preferred: None, ..timing }, at))?;
        (due.at <= now).then_some(due)
    }

    /// What decides when `schedule` reaches `learner`.
    fn timing<'a>(&self, learner: &Learner, cohort: &'a Cohort, schedule: Schedule) -> Timing<'a> {
        let spec: &CronSpec = match schedule {
            Schedule::Regular => &cohort.schedule,
            Schedule::TeamQuestion => &cohort.team.question_schedule,
        };
        Timing {
            schedule: spec,
            cohort_tz: cohort.timezone,
            policy: &cohort.policy,
            learner_tz: self.learner_tz(learner),
            preferred: learner.prefs.time,
        }
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

    /// "tomorrow at 09:00": when the learner's next regular nudge comes, in their language and
    /// zone (the weekly team question is not what they are waiting for).
    pub(crate) fn next_nudge_text(&self, learner: &Learner, now: DateTime<Utc>) -> String {
        if learner.next_nudge.is_none() && learner.status == (Status::Paused { until: None }) {
            return tr(learner.lang, "time.after_resume").to_owned();
        }
        let tz = self.learner_tz(learner);
        let next = self.next_regular_for(learner, now).map(|next| next.at.with_timezone(&tz).naive_local());
        describe_when(learner.lang, next, now.with_timezone(&tz).naive_local())
    }

    /// Sends learner `id` the nudge of agenda entry `due`, if it is still theirs and the slot
    /// is not claimed yet, and schedules their next one. Returns what to send.
    ///
    /// The entry names one slot (regular or team question); the other schedule's slot is
    /// claimed with it when it is due too (the same instant, or passed while the daemon was
    /// down), so neither is lost to the other.
    pub(crate) fn nudge_due(
        &self,
        id: LearnerId,
        due: &NextNudge,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, StoreError> {
        let colleagues = self.colleagues_offer(id)?;
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
            self.activate(&mut learner, now);
            let (regular, question_slot) = self.claim_due(tx, &learner, &cohort, due, now)?;
            if regular {
                self.track_slot_claimed(&mut learner, &cohort);
            }
            let outcome = if regular || question_slot.is_some() {
                let tz = self.learner_tz(&learner);
                let question = self.team_question_message(&learner, &cohort);
                let team = TeamContext { regular, question_slot, question, colleagues: colleagues.clone() };
                let lessons = self.new_lessons(&learner, &cohort, &pack, now);
                plan_entry(&mut learner, &SlotContext { pack: &pack, policy: &cohort.policy, tz, now, lessons }, &team)
            } else {
                Outcome::default()
            };
            self.reschedule(tx, &mut learner, now)?;
            let commit = Commit { pack: Some(&pack), slot: Some(&due.slot), now };
            self.commit(tx, Some(learner), outcome, commit)
        })
    }

    /// Claims what agenda entry `due` brings: its own slot, and the other schedule's slot if
    /// that is due by `now` as well. Returns whether a regular slot was claimed, and the
    /// team-question slot claimed, if any (a slot claimed before is not claimed again).
    fn claim_due(
        &self,
        tx: &dyn LearnerTx,
        learner: &Learner,
        cohort: &Cohort,
        due: &NextNudge,
        now: DateTime<Utc>,
    ) -> Result<(bool, Option<TeamSlot>), TxError> {
        let (regular_key, team_key) = if is_team_slot_key(&due.slot) {
            let regular = self.due_by(learner, Schedule::Regular, due.at, now);
            (regular.map(|regular| regular.slot.key()), Some((due.slot.clone(), due.at)))
        } else {
            let team = self.due_by(learner, Schedule::TeamQuestion, due.at, now);
            (Some(due.slot.clone()), team.map(|team| (team_slot_key(&team.slot), team.at)))
        };
        let regular = match regular_key {
            Some(key) => tx.claim_slot(&cohort.id, &key, now)?,
            None => false,
        };
        let team = match team_key {
            Some((slot, at)) if tx.claim_slot(&cohort.id, &slot, now)? => Some(TeamSlot { slot, at }),
            _ => None,
        };
        Ok((regular, team))
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
