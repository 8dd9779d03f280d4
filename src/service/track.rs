//! Onboarding tracks in the use cases: each learner's track clock (day 0 the day they joined,
//! moved on by their pauses), which lessons a slot may start, the catch-up nudge of day 0, and
//! where `/progress` says they are. The decisions are `schedule::track`'s and the engine's; this
//! file gives them the learner's clock and local date.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Service, cohort_of, is_due};
use crate::config::Cohort;
use crate::content::Pack;
use crate::domain::{Learner, Status, TrackClock};
use crate::engine::{NewLessons, Outcome, SlotContext, planner};
use crate::i18n::fill;
use crate::schedule::agenda::{Due, Timing};
use crate::schedule::track::catch_up_due;

impl Service {
    /// The learner's local date at `at`.
    fn local_date(&self, learner: &Learner, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.learner_tz(learner)).date_naive()
    }

    /// The learner's track clock, if their cohort has a track: the stored one, or for a record
    /// from before the cohort had one, a clock that started the day they enrolled (and needs no
    /// catch-up any more).
    fn track_clock(&self, learner: &Learner, cohort: &Cohort) -> Option<TrackClock> {
        cohort.track.as_ref()?;
        Some(learner.progress.track.unwrap_or_else(|| {
            let enrolled_on = self.local_date(learner, learner.enrolled_at);
            TrackClock { started: true, ..TrackClock::new(learner.enrolled_at, enrolled_on) }
        }))
    }

    /// A fresh clock for someone who joins `cohort` at `now`, if it has a track.
    pub(super) fn start_track(&self, learner: &mut Learner, cohort: &Cohort, now: DateTime<Utc>) {
        learner.progress.track = cohort.track.is_some().then(|| TrackClock::new(now, self.local_date(learner, now)));
    }

    /// Which new lessons a slot at `now` may start: on a track, those released by the
    /// learner's day; otherwise the next one.
    pub(super) fn new_lessons(
        &self,
        learner: &Learner,
        cohort: &Cohort,
        pack: &Pack,
        now: DateTime<Utc>,
    ) -> NewLessons {
        let (Some(track), Some(clock)) = (cohort.track.as_ref(), self.track_clock(learner, cohort)) else {
            return NewLessons::OnePerSlot;
        };
        let local = now.with_timezone(&self.learner_tz(learner)).naive_local();
        let time = learner.prefs.time.unwrap_or(track.time());
        NewLessons::Released(track.due(clock.day(local.date()), local.time(), time, pack.lessons.len()))
    }

    /// Marks the learner active again (a pause ended, `/resume`, `/start`); on a track the days
    /// they were paused move the rest of it on. A pause that ran out ended at its `until`, not
    /// at the nudge that notices it (which days off may hold back further).
    pub(super) fn activate(&self, learner: &mut Learner, now: DateTime<Utc>) {
        let pause_ended = match learner.status {
            Status::Paused { until: Some(until) } => Some(until.min(now)),
            Status::Paused { until: None } => Some(now),
            Status::Active | Status::Inactive { .. } | Status::Erasing { .. } => None,
        };
        learner.status = Status::Active;
        let Some(cohort) = cohort_of(&self.settings, learner) else { return };
        if let Some(ended) = pause_ended
            && let Some(mut clock) = self.track_clock(learner, cohort)
        {
            clock.resume(self.local_date(learner, ended));
            learner.progress.track = Some(clock);
        }
    }

    /// After an answer: on a track, the next lessons released by today when the answer
    /// finished the lesson in hand (`next` is what the answer brings already). Not while the
    /// learner is on a break: a new lesson is a nudge, and those wait for the pause to end.
    pub(super) fn continue_track(
        &self,
        learner: &mut Learner,
        pack: Option<&Pack>,
        now: DateTime<Utc>,
        next: &mut Outcome,
    ) {
        if !is_due(learner, now) {
            return;
        }
        let Some(cohort) = cohort_of(&self.settings, learner) else { return };
        let Some(pack) = pack.filter(|_| cohort.track.is_some()) else { return };
        let lessons = self.new_lessons(learner, cohort, pack, now);
        let ctx = SlotContext { pack, policy: &cohort.policy, tz: self.learner_tz(learner), now, lessons };
        let more = planner::continue_track(learner, &ctx, next);
        next.drafts.extend(more.drafts);
    }

    /// Notes on the learner's track clock that a pause begins at `now`. A pause before that ran
    /// out unnoticed (no nudge since) ends first, at its own end: the days between are not paused.
    pub(super) fn pause_track(&self, learner: &mut Learner, now: DateTime<Utc>) {
        if matches!(learner.status, Status::Paused { until: Some(until) } if until <= now) {
            self.activate(learner, now);
        }
        let Some(cohort) = cohort_of(&self.settings, learner) else { return };
        if let Some(mut clock) = self.track_clock(learner, cohort) {
            clock.pause(self.local_date(learner, now));
            learner.progress.track = Some(clock);
        }
    }

    /// Notes that a lesson slot of the learner's was claimed: no catch-up nudge after it.
    pub(super) fn track_slot_claimed(&self, learner: &mut Learner, cohort: &Cohort) {
        if let Some(clock) = self.track_clock(learner, cohort) {
            learner.progress.track = Some(TrackClock { started: true, ..clock });
        }
    }

    /// The day-0 catch-up nudge after `after`, for a learner on a track who joined after its
    /// time and has had no lesson slot yet.
    pub(super) fn track_catch_up(
        &self,
        learner: &Learner,
        cohort: &Cohort,
        timing: &Timing<'_>,
        after: DateTime<Utc>,
    ) -> Option<Due> {
        let clock = self.track_clock(learner, cohort).filter(|clock| !clock.started)?;
        catch_up_due(timing, clock.joined, after)
    }

    /// "Day 4 of 28 of your track" for `/progress`, on a track.
    pub(super) fn track_progress_line(
        &self,
        learner: &Learner,
        pack: Option<&Pack>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let cohort = cohort_of(&self.settings, learner)?;
        let (track, clock) = (cohort.track.as_ref()?, self.track_clock(learner, cohort)?);
        let length = i64::from(track.length(pack.map_or(track.days().len(), |pack| pack.lessons.len())));
        let day = clock.day(self.local_date(learner, now)).max(0);
        let key = if day > length { "progress.track_done" } else { "progress.track_day" };
        Some(fill(learner.lang, key, &[("day", &day.to_string()), ("length", &length.to_string())]))
    }
}
