//! The learner's commands: `/start`, `/help`, `/pause`, `/resume`, `/time`, `/language`,
//! `/progress` (`/idea` is with the team loop, in `team.rs`). The learner decides their own
//! pace; nothing here compares them with others.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Commit, Handled, Service, cohort_of};
use crate::chat::Person;
use crate::chat::command::{Command, PauseFor, TimeChoice};
use crate::config::Cohort;
use crate::domain::{Learner, LearnerTeam, PRIVACY_NOTICE, Prefs, Progress, Status, Step};
use crate::engine::{Outcome, srs};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::schedule::agenda::several_slots_a_day;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};
use crate::text::escape_html;

impl Service {
    pub(super) fn command(&self, from: &Person, command: &Command, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        match command {
            Command::Start { invite } => self.start(from, invite.as_deref().unwrap_or_default(), now),
            Command::Help => self.reply_only(from, now, |lang, _| tr(lang, "help.text").to_owned()),
            Command::Pause(_) | Command::Resume | Command::Time(_) | Command::Language(_) | Command::Progress => {
                self.learner_command(from, command, now)
            }
            Command::MyData => self.my_data(from, now),
            Command::Idea(text) => self.idea(from, text, now),
            Command::Forget => self.ask_forget(from, now),
            Command::Report { cohort } => self.report_command(from, cohort.clone(), now),
            Command::Team { .. } => self.reply_only(from, now, |lang, learner| {
                // A learner can give their lead an idea; someone not enrolled is told how to join.
                tr(lang, if learner.is_some() { "lead.refused" } else { "lead.refused_stranger" }).to_owned()
            }),
            Command::Unknown => self.reply_only(from, now, |lang, _| tr(lang, "chat.unknown_command").to_owned()),
        }
    }

    /// Tells someone who floods the bot that they go too fast (once per flood).
    pub(crate) fn slow_down(&self, from: &Person, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        self.reply_only(from, now, |lang, _| tr(lang, "chat.slow_down").to_owned())
    }

    /// Commands for enrolled learners; others are told how to join.
    fn learner_command(&self, from: &Person, command: &Command, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let (seqs, menu) = self.store.with_learner(from.id, |tx| {
            let Some(mut learner) = tx.learner()? else {
                let lang = from.language.unwrap_or(Lang::En);
                let mut outcome = Outcome::default();
                outcome.reply(render::text(tr(lang, "chat.not_enrolled").to_owned()));
                return Ok((self.commit(tx, None, outcome, Commit { pack: None, slot: None, now })?, None));
            };
            let lang_before = learner.lang;
            let messages = match command {
                Command::Pause(days) => vec![self.pause(tx, &mut learner, *days, now)?],
                Command::Resume => vec![self.resume(tx, &mut learner, now)?],
                Command::Time(choice) => vec![self.set_time(tx, &mut learner, choice, now)?],
                Command::Language(lang) => vec![self.set_language(&mut learner, *lang)],
                _ => {
                    let cohort = cohort_of(&self.settings, &learner);
                    self.with_goal(cohort, learner.lang, "progress.goal", self.progress_text(&learner, now))
                }
            };
            let mut outcome = Outcome::default();
            for message in messages {
                outcome.reply(message);
            }
            let menu = (learner.lang != lang_before).then(|| self.chat_menu(learner.id, learner.lang));
            Ok((self.commit(tx, Some(learner), outcome, Commit { pack: None, slot: None, now })?, menu))
        })?;
        Ok(Handled { menu, ..Handled::sending(seqs) })
    }

    fn start(&self, from: &Person, invite: &str, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        if let Some(cohort) = self.settings.cohort_by_lead_invite(invite) {
            return self.join_as_lead(from, cohort, now);
        }
        let cohort = self.settings.cohort_by_invite(invite);
        let (seqs, menu) = self.store.with_learner(from.id, |tx| {
            let existing = tx.learner()?;
            let lang =
                existing.as_ref().map(|l| l.lang).or(cohort.map(|c| c.language)).or(from.language).unwrap_or(Lang::En);
            let mut outcome = Outcome::default();
            let learner = match (existing, cohort) {
                (Some(learner), Some(cohort)) if learner.cohort == cohort.id => {
                    Some(self.greet_again(tx, learner, from, now, &mut outcome)?)
                }
                (Some(learner), Some(cohort)) => Some(self.ask_move(tx, learner, cohort, &mut outcome)?),
                (None, Some(cohort)) => Some(self.enrol(tx, None, from, cohort, lang, now, &mut outcome)?),
                (existing, None) if !invite.is_empty() => {
                    outcome.reply(render::text(fill(lang, "start.bad_invite", &[("code", invite)])));
                    existing
                }
                (Some(learner), None) => Some(self.greet_again(tx, learner, from, now, &mut outcome)?),
                (None, None) => {
                    outcome.reply(render::text(tr(lang, "start.missing_invite").to_owned()));
                    None
                }
            };
            let menu = learner.as_ref().map(|l| self.chat_menu(l.id, l.lang));
            Ok((self.commit(tx, learner, outcome, Commit { pack: None, slot: None, now })?, menu))
        })?;
        Ok(Handled { menu, ..Handled::sending(seqs) })
    }

    /// A new learner, or one switching cohorts after confirming the move (progress starts over;
    /// their past answers stay, counted in the old cohort). The welcome is in the learner's
    /// language `lang`; the pack's description, which is content, joins it when the pack is in
    /// that language too and otherwise follows as a message of its own.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enrol(
        &self,
        tx: &dyn LearnerTx,
        existing: Option<Learner>,
        from: &Person,
        cohort: &Cohort,
        lang: Lang,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Result<Learner, TxError> {
        let mut learner = Learner {
            id: from.id,
            cohort: cohort.id.clone(),
            name: from.first_name.clone(),
            lang,
            status: Status::Active,
            enrolled_at: existing.as_ref().map_or(now, |old| old.enrolled_at),
            progress: Progress::default(),
            prefs: existing.as_ref().map(|old| old.prefs.clone()).unwrap_or_default(),
            next_nudge: existing.and_then(|old| old.next_nudge),
            pending_move: None,
            notice_version: PRIVACY_NOTICE,
            team: LearnerTeam::default(),
        };
        self.start_track(&mut learner, cohort, now);
        self.reschedule(tx, &mut learner, now)?;
        let pack = self.library().pack(&cohort.pack).cloned();
        let programme = pack.as_ref().map_or(cohort.pack.clone(), |p| p.title.clone());
        let when = self.next_nudge_text(&learner, now);
        let description = pack.as_ref().map_or("", |p| p.description.trim());
        let args = [("name", from.first_name.as_str()), ("programme", programme.as_str()), ("when", when.as_str())];
        let separate_description = pack.as_ref().is_some_and(|p| p.language != lang) && !description.is_empty();
        let welcome = if separate_description {
            fill(lang, "start.welcome_short", &args)
        } else {
            let args = [args.as_slice(), &[("description", description)]].concat();
            fill(lang, "start.welcome", &args)
        };
        for message in self.with_goal(Some(cohort), lang, "start.goal", welcome) {
            outcome.reply(message);
        }
        if separate_description {
            outcome.reply(render::text(escape_html(description)));
        }
        let min = crate::report::DEFAULT_MIN_GROUP.to_string();
        outcome.reply(render::text(fill(lang, "start.privacy", &[("min", &min)])));
        Ok(learner)
    }

    /// `/start` from someone already enrolled: reactivates them if needed.
    fn greet_again(
        &self,
        tx: &dyn LearnerTx,
        mut learner: Learner,
        from: &Person,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Result<Learner, TxError> {
        let key = if learner.status == Status::Active { "start.already" } else { "start.rejoined" };
        self.activate(&mut learner, now);
        learner.name = from.first_name.clone();
        self.reschedule(tx, &mut learner, now)?;
        let programme = self.programme_title(&learner);
        let when = self.next_nudge_text(&learner, now);
        outcome.reply(render::text(fill(
            learner.lang,
            key,
            &[("name", &learner.name), ("programme", &programme), ("when", &when)],
        )));
        Ok(learner)
    }

    /// The title of the learner's programme (their cohort's pack), or the cohort id.
    pub(super) fn programme_title(&self, learner: &Learner) -> String {
        self.pack_of(&learner.cohort).map_or_else(|| learner.cohort.clone(), |pack| pack.title.clone())
    }

    fn pause(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        days: PauseFor,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::OutMessage, TxError> {
        let lang = learner.lang;
        let until = match days {
            PauseFor::Indefinitely => None,
            PauseFor::Days(days) => Some(now + Duration::days(i64::from(days))),
            PauseFor::Invalid => return Ok(render::text(tr(lang, "pause.bad").to_owned())),
        };
        self.pause_track(learner, now);
        learner.status = Status::Paused { until };
        self.reschedule(tx, learner, now)?;
        Ok(render::text(match until {
            Some(until) => {
                let date = until.with_timezone(&self.learner_tz(learner)).format("%d-%m-%Y").to_string();
                fill(lang, "pause.until", &[("date", &date)])
            }
            None => tr(lang, "pause.indefinite").to_owned(),
        }))
    }

    fn resume(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::OutMessage, TxError> {
        let key = if matches!(learner.status, Status::Paused { .. }) { "resume.done" } else { "resume.not_paused" };
        self.activate(learner, now);
        self.reschedule(tx, learner, now)?;
        let when = self.next_nudge_text(learner, now);
        Ok(render::text(fill(learner.lang, key, &[("when", &when)])))
    }

    fn set_time(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        choice: &TimeChoice,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::OutMessage, TxError> {
        let lang = learner.lang;
        let Some(cohort) = cohort_of(&self.settings, learner).cloned() else {
            return Ok(render::text(tr(lang, "chat.not_enrolled").to_owned()));
        };
        let message = match choice {
            TimeChoice::Show => self.describe_time(learner, &cohort),
            TimeChoice::Default => {
                learner.prefs = Prefs::default();
                self.reschedule(tx, learner, now)?;
                fill(lang, "time_cmd.reset", &[("when", &self.next_nudge_text(learner, now))])
            }
            TimeChoice::BadTime => tr(lang, "time_cmd.bad").to_owned(),
            TimeChoice::BadZone(zone) => fill(lang, "time_cmd.bad_zone", &[("zone", zone)]),
            TimeChoice::Set { time, zone } => self.apply_time(tx, learner, &cohort, *time, *zone, now)?,
        };
        Ok(render::text(message))
    }

    /// Sets the learner's own time (and zone), unless it falls in quiet hours or leaves no slot
    /// that could reach them; the reply says which, or when the next nudge now comes.
    fn apply_time(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        cohort: &Cohort,
        time: NaiveTime,
        zone: Option<Tz>,
        now: DateTime<Utc>,
    ) -> Result<String, TxError> {
        let lang = learner.lang;
        let shown = time.format("%H:%M").to_string();
        if let Some(quiet) = cohort.policy.quiet_hours.filter(|quiet| quiet.contains(time)) {
            return Ok(fill(lang, "time_cmd.quiet", &[("time", &shown), ("quiet", &quiet.to_string())]));
        }
        let mut wanted = learner.prefs.clone();
        wanted.time = Some(time);
        if let Some(zone) = zone {
            wanted.timezone = Some(zone.name().to_owned());
        }
        let zone = zone.unwrap_or_else(|| self.learner_tz(learner));
        if !self.time_reaches_learner(cohort, zone, time, now) {
            return Ok(fill(lang, "time_cmd.no_slot", &[("time", &shown)]));
        }
        learner.prefs = wanted;
        self.reschedule(tx, learner, now)?;
        let when = self.next_nudge_text(learner, now);
        let key = if several_slots_a_day(&cohort.schedule, cohort.timezone, now) {
            "time_cmd.set_many"
        } else {
            "time_cmd.set"
        };
        Ok(fill(lang, key, &[("time", &shown), ("zone", zone.name()), ("when", &when)]))
    }

    fn describe_time(&self, learner: &Learner, cohort: &Cohort) -> String {
        let zone = self.learner_tz(learner).name().to_owned();
        match learner.prefs.time {
            Some(time) => {
                fill(learner.lang, "time_cmd.show", &[("time", &time.format("%H:%M").to_string()), ("zone", &zone)])
            }
            None => fill(learner.lang, "time_cmd.show_default", &[("zone", cohort.timezone.name())]),
        }
    }

    fn set_language(&self, learner: &mut Learner, lang: Option<Lang>) -> crate::domain::OutMessage {
        match lang {
            Some(lang) => {
                learner.lang = lang;
                render::text(tr(lang, "language.set").to_owned())
            }
            None => render::language_choice(learner.lang),
        }
    }

    /// The learner's own progress: lessons, mastered quizzes, days active, next review.
    pub(crate) fn progress_text(&self, learner: &Learner, now: DateTime<Utc>) -> String {
        let lang = learner.lang;
        let pack = self.pack_of(&learner.cohort);
        let total = pack.as_ref().map_or(0, |pack| pack.lessons.len());
        let quizzes = pack.as_ref().map_or(0, |pack| pack.n_quizzes());
        let progress = &learner.progress;
        let done = pack.as_ref().map_or(0, |pack| {
            let started = progress.lessons_started.iter().filter(|id| pack.lesson(id).is_some()).count();
            let unfinished = progress.queue.iter().any(|step| matches!(step, Step::Item { .. }));
            started.saturating_sub(usize::from(unfinished))
        });
        let mastered = progress.memory.values().filter(|memory| srs::is_mastered(memory)).count();
        let tz = self.learner_tz(learner);
        let next_review = progress
            .memory
            .values()
            .filter(|memory| !srs::is_mastered(memory))
            .map(|memory| memory.due)
            .min()
            .map(|due| due.max(now).with_timezone(&tz).naive_local());
        let review = match next_review {
            Some(due) => crate::i18n::describe_when(lang, Some(due), now.with_timezone(&tz).naive_local()),
            None => tr(lang, "progress.no_review").to_owned(),
        };
        let track = self.track_progress_line(learner, pack.as_deref(), now).unwrap_or_default();
        fill(
            lang,
            "progress.text",
            &[
                ("programme", &self.programme_title(learner)),
                ("done", &done.to_string()),
                ("total", &total.to_string()),
                ("mastered", &mastered.to_string()),
                ("quizzes", &quizzes.to_string()),
                ("days", &progress.active_days.len().to_string()),
                ("review", &review),
                ("track", &track),
            ],
        )
    }
}
