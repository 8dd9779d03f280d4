//! The team loop's share of a learner's scheduled slots, as pure decisions: when the weekly
//! team question and the "from your colleagues" message go out, fitted into the same daily cap,
//! quiet hours and days off as every nudge.
//!
//! A learner has one agenda entry: the earlier of their next regular slot and their next
//! team-question slot ([`agenda_entry`]). When it falls due, whatever of the two is due then is
//! claimed (the service does that) and [`plan_entry`] decides what goes. The team question goes
//! at its own slot if the cap has room, else it waits for the learner's next regular slot with
//! room; the colleagues' message goes only at a regular slot. Rendering and the store stay with
//! the service: it hands in the messages ready-made.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::planner::{count_today, room_today};
use super::{Draft, Extra, Outcome, SlotContext, plan_slot};
use crate::domain::{Learner, NextNudge, OutMessage, Outgoing, Purpose, TeamSlot};
use crate::schedule::agenda::{Due, team_slot_key};
use crate::schedule::policy::Policy;

/// How long a team question that found the cap full waits for a slot with room: a week, after
/// which the next week's question is due anyway.
pub(crate) const WAITING_FOR: Duration = Duration::days(7);

/// A "from your colleagues" edition newer than what the learner had.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColleaguesOffer {
    /// When the edition was made (the learner's record keeps it once dealt with).
    pub made_at: DateTime<Utc>,
    /// The message, rendered from the answers still there at send time; `None` when fewer
    /// than two learners' answers are left (some were erased or unshared since): nothing is
    /// sent, and the edition counts as dealt with.
    pub message: Option<OutMessage>,
}

/// What the team loop brings to one due agenda entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TeamContext {
    /// The entry is (also) one of the cohort's regular slots, claimed now: the lesson, a
    /// waiting team question and the colleagues' message may go.
    pub regular: bool,
    /// The team-question slot due at this entry, claimed now.
    pub question_slot: Option<TeamSlot>,
    /// The team question as this learner gets it.
    pub question: OutMessage,
    /// An edition of "from your colleagues" the learner has not had, if there is one.
    pub colleagues: Option<ColleaguesOffer>,
}

/// The learner's agenda entry: the earlier of their next regular slot and their next
/// team-question slot. On a tie the regular slot names the entry, and the team question
/// comes with it (the service claims both when the entry is due).
pub(crate) fn agenda_entry(regular: Option<&Due>, team: Option<&Due>) -> Option<NextNudge> {
    let regular_entry = || regular.map(|due| NextNudge { at: due.at, slot: due.slot.key() });
    let team_entry = || team.map(|due| NextNudge { at: due.at, slot: team_slot_key(&due.slot) });
    match (regular, team) {
        (Some(regular), Some(team)) if team.at < regular.at => team_entry(),
        (Some(_), _) => regular_entry(),
        (None, _) => team_entry(),
    }
}

/// True when an edition made at `made_at` is news to the learner: made after they joined and
/// after the last edition they were dealt. (Someone who joins after it was made waits for the
/// next one: last week's examples are no welcome.)
pub(crate) fn colleagues_is_new(learner: &Learner, made_at: DateTime<Utc>) -> bool {
    made_at > learner.team.colleagues.unwrap_or(learner.enrolled_at)
}

/// Plans one due agenda entry: the team question (from this entry's team slot, or one that
/// waited), then at a regular slot the colleagues' message and the regular plan
/// ([`plan_slot`]). Each counts against the daily cap; nothing goes in quiet hours or on a
/// day off. Updates the learner's team state; the outcome's drafts are what to send.
pub(crate) fn plan_entry(learner: &mut Learner, ctx: &SlotContext<'_>, team: &TeamContext) -> Outcome {
    if let Some(slot) = &team.question_slot {
        learner.team.waiting = Some(slot.clone());
    }
    learner.team.waiting = learner.team.waiting.take().filter(|waiting| ctx.now - waiting.at < WAITING_FOR);
    let local = ctx.now.with_timezone(&ctx.tz).naive_local();
    let mut outcome = Outcome::default();
    if !ctx.policy.allows(local) {
        return outcome;
    }
    let today = local.date();
    if learner.team.waiting.is_some() && room_today(learner, ctx.policy, today) > 0 {
        learner.team.waiting = None;
        outcome.drafts.push(message_draft(Purpose::TeamQuestion, &team.question));
        count_today(learner, today, 1);
    }
    if team.regular {
        if let Some(offer) = team.colleagues.as_ref().filter(|offer| colleagues_is_new(learner, offer.made_at)) {
            add_colleagues(learner, ctx.policy, today, offer, &mut outcome);
        }
        outcome.drafts.extend(plan_slot(learner, ctx).drafts);
    }
    outcome
}

/// The colleagues' message, if the cap has room; an edition with too few answers left is
/// dealt with at once, without a message.
fn add_colleagues(
    learner: &mut Learner,
    policy: &Policy,
    today: NaiveDate,
    offer: &ColleaguesOffer,
    outcome: &mut Outcome,
) {
    match &offer.message {
        None => learner.team.colleagues = Some(offer.made_at),
        Some(message) if room_today(learner, policy, today) > 0 => {
            learner.team.colleagues = Some(offer.made_at);
            outcome.drafts.push(message_draft(Purpose::Colleagues, message));
            count_today(learner, today, 1);
        }
        Some(_) => {}
    }
}

fn message_draft(purpose: Purpose, message: &OutMessage) -> Draft {
    Draft { purpose, extra: Extra::Ready(Outgoing::Send { message: message.clone() }), wait: None }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::convert::Infallible;

    use chrono::{NaiveTime, Weekday};
    use chrono_tz::Tz;
    use proptest::prelude::*;

    use super::*;
    use crate::content::Pack;
    use crate::domain::DeliverySeq;
    use crate::engine::apply;
    use crate::render;
    use crate::schedule::agenda::{Timing, due_from, is_team_slot_key, next_due};
    use crate::schedule::cron::CronSpec;
    use crate::schedule::policy::QuietHours;
    use crate::testkit::{QUIET_HOURS, ZONES, at, demo_pack, id, learner};

    /// Friday 27 November 2026, 14:00 in Amsterdam.
    const FRIDAY_14: &str = "2026-11-27T13:00:00Z";

    fn team(regular: bool, slot_at: Option<DateTime<Utc>>, colleagues: Option<ColleaguesOffer>) -> TeamContext {
        TeamContext {
            regular,
            question_slot: slot_at.map(|at| TeamSlot { slot: format!("team:{at}"), at }),
            question: render::text("Q?".to_owned()),
            colleagues,
        }
    }

    fn purposes(outcome: &Outcome) -> Vec<&Purpose> {
        outcome.drafts.iter().map(|draft| &draft.purpose).collect()
    }

    fn plan(learner: &mut Learner, pack: &Pack, policy: &Policy, now: DateTime<Utc>, team: &TeamContext) -> Outcome {
        let ctx = SlotContext {
            pack,
            policy,
            tz: chrono_tz::Europe::Amsterdam,
            now,
            lessons: crate::engine::NewLessons::OnePerSlot,
        };
        let outcome = plan_entry(learner, &ctx, team);
        let mut next = 0;
        let Ok(_) = apply(learner, outcome.clone(), now, |_| {
            next += 1;
            Ok::<_, Infallible>(DeliverySeq::new(next))
        });
        outcome
    }

    fn offer(made_at: &str, message: bool) -> ColleaguesOffer {
        ColleaguesOffer { made_at: at(made_at), message: message.then(|| render::text("From colleagues".to_owned())) }
    }

    #[test]
    fn the_entry_is_the_earlier_slot_and_a_tie_goes_to_the_regular_one() {
        let daily = CronSpec::parse("0 9 * * *").unwrap();
        let friday = CronSpec::parse("0 14 * * Fri").unwrap();
        let policy = Policy::default();
        let timing = |schedule| Timing {
            schedule,
            cohort_tz: chrono_tz::Europe::Amsterdam,
            policy: &policy,
            learner_tz: chrono_tz::Europe::Amsterdam,
            preferred: None,
        };
        let friday_10 = at("2026-11-27T09:00:00Z");
        let (regular, question) = (next_due(&timing(&daily), friday_10), next_due(&timing(&friday), friday_10));
        let entry = agenda_entry(regular.as_ref(), question.as_ref()).unwrap();
        assert_eq!((entry.at, entry.slot.as_str()), (at(FRIDAY_14), "team:2026-11-27T14:00:00"));
        let thursday = at("2026-11-26T09:00:00Z");
        let entry = agenda_entry(next_due(&timing(&daily), thursday).as_ref(), question.as_ref()).unwrap();
        assert_eq!(entry.slot, "2026-11-27T09:00:00", "Friday's nudge comes before the question");
        let same = next_due(&timing(&daily), thursday);
        let tie = agenda_entry(same.as_ref(), same.as_ref()).unwrap();
        assert!(!is_team_slot_key(&tie.slot), "on a tie the regular slot names the entry");
        assert_eq!(agenda_entry(None, question.as_ref()).map(|entry| entry.at), Some(at(FRIDAY_14)));
        assert_eq!(agenda_entry(None, None), None);
    }

    #[test]
    fn at_its_own_slot_the_team_question_goes_counts_against_the_cap_and_opens() {
        let (pack, policy, now) = (demo_pack(), Policy::default(), at(FRIDAY_14));
        let mut learner = learner(id(1));
        let outcome = plan(&mut learner, &pack, &policy, now, &team(false, Some(now), None));
        assert_eq!(purposes(&outcome), [&Purpose::TeamQuestion]);
        assert_eq!(learner.progress.today.map(|day| day.messages), Some(1));
        assert_eq!(
            learner.team.open.as_ref().map(|open| (open.delivery, open.asked_at)),
            Some((DeliverySeq::new(1), now))
        );
        assert_eq!(learner.team.waiting, None);
    }

    #[test]
    fn with_the_cap_full_the_team_question_waits_for_the_next_regular_slot_and_goes_first() {
        let (pack, now) = (demo_pack(), at(FRIDAY_14));
        let policy = Policy { max_messages_per_day: 2, ..Policy::default() };
        let mut learner = learner(id(1));
        let morning = plan(&mut learner, &pack, &policy, at("2026-11-27T08:00:00Z"), &team(true, None, None));
        assert_eq!(morning.drafts.len(), 2, "lesson and quiz fill the day");
        let at_slot = plan(&mut learner, &pack, &policy, now, &team(false, Some(now), None));
        assert!(at_slot.drafts.is_empty(), "the cap is full: {:?}", purposes(&at_slot));
        assert!(learner.team.waiting.is_some());
        let saturday = at("2026-11-28T08:00:00Z");
        let next = plan(&mut learner, &pack, &policy, saturday, &team(true, None, None));
        assert_eq!(purposes(&next)[0], &Purpose::TeamQuestion);
        assert!(next.drafts.len() <= 2, "the question counts against the day's cap");
        assert_eq!(learner.team.waiting, None);
    }

    #[test]
    fn nothing_goes_in_quiet_hours_or_on_a_day_off_and_a_week_old_question_is_dropped() {
        let pack = demo_pack();
        let policy = Policy { days_off: vec![Weekday::Sat, Weekday::Sun], ..Policy::default() };
        let mut learner = learner(id(1));
        let late = at("2026-11-27T21:30:00Z");
        assert!(plan(&mut learner, &pack, &policy, late, &team(true, Some(late), None)).drafts.is_empty());
        let saturday = at("2026-11-28T08:00:00Z");
        assert!(plan(&mut learner, &pack, &policy, saturday, &team(true, None, None)).drafts.is_empty());
        assert!(learner.team.waiting.is_some(), "it still waits");
        let monday = at("2026-11-30T08:00:00Z");
        assert_eq!(
            purposes(&plan(&mut learner, &pack, &policy, monday, &team(true, None, None)))[0],
            &Purpose::TeamQuestion
        );
        let mut other = crate::testkit::learner(id(2));
        other.team.waiting = Some(TeamSlot { slot: "team:old".to_owned(), at: monday - WAITING_FOR });
        let outcome = plan(&mut other, &pack, &policy, monday, &team(true, None, None));
        assert!(!purposes(&outcome).contains(&&Purpose::TeamQuestion), "a question a week old is next week's now");
    }

    #[test]
    fn the_colleagues_message_goes_once_at_a_regular_slot_within_the_cap() {
        let (pack, policy) = (demo_pack(), Policy::default());
        let mut learner = learner(id(1));
        let edition = offer("2026-11-30T07:00:00Z", true);
        let question_only = at("2026-11-30T08:00:00Z");
        let outcome =
            plan(&mut learner, &pack, &policy, question_only, &team(false, Some(question_only), Some(edition.clone())));
        assert_eq!(purposes(&outcome), [&Purpose::TeamQuestion], "not at a team slot alone");
        let regular = at("2026-11-30T09:00:00Z");
        let outcome = plan(&mut learner, &pack, &policy, regular, &team(true, None, Some(edition.clone())));
        assert_eq!(purposes(&outcome)[0], &Purpose::Colleagues);
        assert!(outcome.drafts.len() <= 2, "{:?}", purposes(&outcome));
        let again = plan(&mut learner, &pack, &policy, at("2026-12-01T08:00:00Z"), &team(true, None, Some(edition)));
        assert!(!purposes(&again).contains(&&Purpose::Colleagues), "never twice for one edition");
    }

    #[test]
    fn an_edition_with_too_few_answers_left_or_older_than_the_learner_sends_nothing() {
        let (pack, policy, now) = (demo_pack(), Policy::default(), at("2026-11-30T08:00:00Z"));
        let mut learner = learner(id(1));
        let outcome =
            plan(&mut learner, &pack, &policy, now, &team(true, None, Some(offer("2026-11-30T07:00:00Z", false))));
        assert!(!purposes(&outcome).contains(&&Purpose::Colleagues));
        assert_eq!(learner.team.colleagues, Some(at("2026-11-30T07:00:00Z")), "dealt with, so not looked at again");
        let mut newcomer = crate::testkit::learner(id(2));
        newcomer.enrolled_at = at("2026-11-30T07:30:00Z");
        assert!(!colleagues_is_new(&newcomer, at("2026-11-30T07:00:00Z")));
        assert!(colleagues_is_new(&newcomer, at("2026-12-07T07:00:00Z")));
    }

    /// Regular schedules and weekly team-question schedules for the property test.
    const SCHEDULES: [&str; 5] =
        ["0 9 * * *", "0 8,13 * * Mon-Fri", "*/30 7-19 * * *", "0 9 * * Sat,Sun", "0 14 * * *"];
    const TEAM_SCHEDULES: [&str; 4] = ["0 14 * * Fri", "0 9 * * Mon", "45 7 * * Wed", "0 14 * * Sun"];

    #[derive(Debug, Clone)]
    struct Scenario {
        tz: Tz,
        schedule: &'static str,
        team_schedule: &'static str,
        policy: Policy,
        preferred: Option<NaiveTime>,
        start: DateTime<Utc>,
    }

    fn scenario() -> impl Strategy<Value = Scenario> {
        (0..ZONES.len(), 0..SCHEDULES.len(), 0..TEAM_SCHEDULES.len(), (1u32..=4, 0..QUIET_HOURS.len(), 0usize..3))
            .prop_flat_map(|picks| (Just(picks), prop::option::of((6u32..20, 0u32..4)), 0i64..365))
            .prop_map(|((zone, schedule, team, (cap, quiet, days_off)), preferred, start_day)| Scenario {
                tz: ZONES[zone],
                schedule: SCHEDULES[schedule],
                team_schedule: TEAM_SCHEDULES[team],
                policy: Policy {
                    max_messages_per_day: cap,
                    quiet_hours: QUIET_HOURS[quiet].and_then(|text| QuietHours::parse(text).ok()),
                    days_off: [vec![], vec![Weekday::Sat, Weekday::Sun], vec![Weekday::Wed]][days_off].clone(),
                    ..Policy::default()
                },
                preferred: preferred.and_then(|(hour, quarter)| NaiveTime::from_hms_opt(hour, quarter * 15, 0)),
                start: at("2026-01-01T00:00:00Z") + Duration::days(start_day),
            })
    }

    /// What a walk through the agenda sent.
    #[derive(Default)]
    struct Sent {
        per_day: HashMap<chrono::NaiveDate, u32>,
        claimed: HashSet<String>,
        team_slots: Vec<DateTime<Utc>>,
        questions: Vec<DateTime<Utc>>,
        editions: Vec<DateTime<Utc>>,
    }

    /// Walks `days` of one learner's agenda as the daemon does (one entry at a time, the slots
    /// due at it claimed once), with a new colleagues' edition every Monday at 06:00 UTC, and
    /// checks the cap and the quiet hours on every entry.
    fn walk(scenario: &Scenario, days: i64) -> Sent {
        let (pack, regular_spec, team_spec) = (
            demo_pack(),
            CronSpec::parse(scenario.schedule).unwrap(),
            CronSpec::parse(scenario.team_schedule).unwrap(),
        );
        let timing = |schedule| Timing {
            schedule,
            cohort_tz: chrono_tz::Europe::Amsterdam,
            policy: &scenario.policy,
            learner_tz: scenario.tz,
            preferred: scenario.preferred,
        };
        let (regular, team_timing) = (timing(&regular_spec), timing(&team_spec));
        let mut learner = learner(id(1));
        learner.enrolled_at = scenario.start;
        let (mut sent, mut cursor, mut seq) = (Sent::default(), scenario.start, 0);
        let end = scenario.start + Duration::days(days);
        while let Some(entry) =
            agenda_entry(next_due(&regular, cursor).as_ref(), next_due(&team_timing, cursor).as_ref())
                .filter(|entry| entry.at < end)
        {
            let now = entry.at;
            let claim = |sent: &mut Sent, key: String| sent.claimed.insert(key);
            let regular_due = due_from(&regular, now).filter(|due| due.at <= now);
            let team_due = due_from(&team_timing, now).filter(|due| due.at <= now);
            let regular_claimed = regular_due.is_some_and(|due| claim(&mut sent, due.slot.key()));
            let question_slot = team_due.filter(|due| claim(&mut sent, team_slot_key(&due.slot))).map(|due| {
                sent.team_slots.push(due.at);
                TeamSlot { slot: team_slot_key(&due.slot), at: due.at }
            });
            let made_at = monday_6_before(now);
            let colleagues = Some(ColleaguesOffer { made_at, message: Some(render::text("c".to_owned())) });
            let context = TeamContext {
                regular: regular_claimed,
                question_slot,
                question: render::text("q".to_owned()),
                colleagues,
            };
            let ctx = SlotContext {
                pack: &pack,
                policy: &scenario.policy,
                tz: scenario.tz,
                now,
                lessons: crate::engine::NewLessons::OnePerSlot,
            };
            let outcome = plan_entry(&mut learner, &ctx, &context);
            let local = now.with_timezone(&scenario.tz).naive_local();
            if !outcome.drafts.is_empty() {
                assert!(scenario.policy.allows(local), "sent at {local}, in quiet hours or on a day off");
            }
            let day = sent.per_day.entry(local.date()).or_default();
            *day += outcome.drafts.len() as u32;
            assert!(*day <= scenario.policy.max_messages_per_day, "{day} scheduled messages on {}", local.date());
            for draft in &outcome.drafts {
                match draft.purpose {
                    Purpose::TeamQuestion => sent.questions.push(now),
                    Purpose::Colleagues => {
                        assert!(regular_claimed, "the colleagues' message goes at regular slots only");
                        sent.editions.push(made_at);
                    }
                    _ => {}
                }
            }
            let Ok(_) = apply(&mut learner, outcome, now, |_| {
                seq += 1;
                Ok::<_, Infallible>(DeliverySeq::new(seq))
            });
            cursor = now;
        }
        sent
    }

    /// The Monday 06:00 UTC at or before `now`: when the walk's editions are made.
    fn monday_6_before(now: DateTime<Utc>) -> DateTime<Utc> {
        use chrono::Datelike;
        let monday = now.date_naive() - Duration::days(i64::from(now.weekday().num_days_from_monday()));
        let made = monday.and_hms_opt(6, 0, 0).unwrap_or_default().and_utc();
        if made > now { made - Duration::days(7) } else { made }
    }

    #[test]
    fn five_weeks_bring_five_team_questions_and_five_editions() {
        let scenario = Scenario {
            tz: chrono_tz::Europe::Amsterdam,
            schedule: "0 9 * * *",
            team_schedule: "0 14 * * Fri",
            policy: Policy::default(),
            preferred: None,
            start: at("2026-11-23T00:00:00Z"),
        };
        let sent = walk(&scenario, 35);
        assert_eq!((sent.team_slots.len(), sent.questions.len(), sent.editions.len()), (5, 5, 5));
        assert!(
            sent.questions
                .iter()
                .all(|at| at.with_timezone(&scenario.tz).format("%a %H:%M").to_string() == "Fri 14:00")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn the_team_question_keeps_the_cap_quiet_hours_days_off_and_comes_once_a_week(scenario in scenario()) {
            let sent = walk(&scenario, 35);
            for question in &sent.questions {
                let week = sent.team_slots.iter().filter(|slot| *slot <= question).count();
                prop_assert!(week > 0, "a team question at {question} before any team slot");
                let same_week = sent.questions.iter().filter(|other| sent.team_slots.iter().filter(|slot| *slot <= *other).count() == week).count();
                prop_assert_eq!(same_week, 1, "two team questions after the team slot number {} ({:?})", week, sent.questions);
            }
            if !sent.team_slots.is_empty() {
                prop_assert!(!sent.questions.is_empty(), "team slots {:?} reached the learner but no question went", sent.team_slots);
            }
            let editions: HashSet<_> = sent.editions.iter().collect();
            prop_assert_eq!(editions.len(), sent.editions.len(), "an edition sent twice: {:?}", sent.editions);
        }
    }
}
