//! Property tests of the planner and the agenda over random schedules, time zones (DST changes
//! included), policies and learner behaviour: the daily cap and quiet hours are never broken,
//! no slot is proposed twice, and every due review is eventually sent.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::{Outcome, SlotContext, answers, apply, plan_slot, session, srs};
use crate::content::Pack;
use crate::domain::{DeliverySeq, ItemId, Learner, Purpose};
use crate::schedule::agenda::{Timing, next_due};
use crate::schedule::cron::CronSpec;
use crate::schedule::policy::{Policy, QuietHours};
use crate::testkit::{QUIET_HOURS, ZONES, learner, pack};

const SCHEDULES: [&str; 6] =
    ["0 9 * * *", "30 2 * * *", "0 8,13 * * Mon-Fri", "*/30 7-19 * * *", "0 9 * * Sat,Sun", "0 12 * * Tue,Thu"];

/// What the simulated learner does with each prompt, in turn.
#[derive(Debug, Clone, Copy)]
enum Act {
    Right,
    Wrong,
    Ignore,
}

#[derive(Debug, Clone)]
struct Scenario {
    tz: Tz,
    schedule: &'static str,
    policy: Policy,
    preferred: Option<NaiveTime>,
    start: DateTime<Utc>,
    acts: Vec<Act>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        0..ZONES.len(),
        0..SCHEDULES.len(),
        (1u32..=5, 1u32..=3, 0..QUIET_HOURS.len(), 0usize..3),
        prop::option::of((6u32..22, 0u32..4)),
        0i64..730,
        prop::collection::vec(prop_oneof![Just(Act::Right), Just(Act::Wrong), Just(Act::Ignore)], 1..50),
    )
        .prop_map(|(zone, schedule, (cap, reviews, quiet, days_off), preferred, start_day, acts)| Scenario {
            tz: ZONES[zone],
            schedule: SCHEDULES[schedule],
            policy: Policy {
                max_messages_per_day: cap,
                max_reviews_per_slot: reviews,
                quiet_hours: QUIET_HOURS[quiet].and_then(|text| QuietHours::parse(text).ok()),
                days_off: [vec![], vec![Weekday::Sat, Weekday::Sun], vec![Weekday::Wed]][days_off].clone(),
                target_retention: 0.9,
            },
            preferred: preferred.and_then(|(hour, quarter)| NaiveTime::from_hms_opt(hour, quarter * 15, 0)),
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default().and_time(NaiveTime::MIN).and_utc()
                + Duration::days(start_day),
            acts,
        })
}

fn test_pack() -> Pack {
    let lessons: Vec<String> = (0..6)
        .map(|idx| {
            let mut text = format!("+++\nid = \"l{idx}\"\ntitle = \"L{idx}\"\n+++\nBody {idx}.\n\n## Quiz\nQ{idx}?\n- [x] a\n- [ ] b\n> e\n");
            if idx % 2 == 0 {
                text.push_str("\n## Reflect\nIntro.\n1. First?\n2. Second?\n");
            }
            if idx % 3 == 0 {
                text.push_str("\n## Practice {days=1}\nDo it.\n");
            }
            text
        })
        .collect();
    let refs: Vec<&str> = lessons.iter().map(String::as_str).collect();
    pack(&refs)
}

/// Runs the learner through the scenario; checks the invariants on every slot.
struct Run<'a> {
    scenario: &'a Scenario,
    pack: &'a Pack,
    learner: Learner,
    seq: DeliverySeq,
    act: usize,
    per_day: HashMap<NaiveDate, u32>,
    slots_seen: HashSet<String>,
    reviews_sent: usize,
    /// From this point the learner answers everything right, so reviews can catch up.
    engaged: bool,
}

impl Run<'_> {
    fn slot(&mut self, now: DateTime<Utc>, slot_key: String) {
        assert!(self.slots_seen.insert(slot_key.clone()), "slot {slot_key} proposed twice");
        let ctx = SlotContext {
            pack: self.pack,
            policy: &self.scenario.policy,
            tz: self.scenario.tz,
            now,
            lessons: crate::engine::NewLessons::OnePerSlot,
        };
        let outcome = plan_slot(&mut self.learner, &ctx);
        let local = now.with_timezone(&self.scenario.tz).naive_local();
        if !outcome.drafts.is_empty() {
            assert!(self.scenario.policy.allows(local), "a nudge at {local} in quiet hours or on a day off");
        }
        let sent = self.per_day.entry(local.date()).or_default();
        *sent += outcome.drafts.len() as u32;
        assert!(*sent <= self.scenario.policy.max_messages_per_day, "{sent} scheduled messages on {}", local.date());
        let mut seen = HashSet::new();
        for draft in &outcome.drafts {
            assert!(seen.insert(format!("{draft:?}")), "the same prompt twice in one slot: {draft:?}");
        }
        self.respond(outcome, now);
    }

    fn respond(&mut self, outcome: Outcome, now: DateTime<Utc>) {
        let mut pending = vec![outcome];
        while let Some(outcome) = pending.pop() {
            let seq = &mut self.seq;
            let Ok(numbered) = apply(&mut self.learner, outcome, now, |_| Ok::<_, Infallible>(next_seq(seq)));
            for numbered in numbered {
                if let Some(next) = self.answer(&numbered.draft.purpose, numbered.seq, now) {
                    pending.push(next);
                }
            }
        }
    }

    fn answer(&mut self, purpose: &Purpose, seq: DeliverySeq, now: DateTime<Utc>) -> Option<Outcome> {
        let act = if self.engaged { Act::Right } else { self.scenario.acts[self.act % self.scenario.acts.len()] };
        self.act += 1;
        if matches!(purpose, Purpose::Quiz { review: true, .. }) {
            self.reviews_sent += 1;
        }
        match (purpose, act) {
            (_, Act::Ignore) => None,
            (Purpose::Quiz { item, .. }, act) => {
                let right = matches!(act, Act::Right);
                Some(answers::quiz_answered(
                    &mut self.learner,
                    Some(self.pack),
                    item,
                    seq,
                    right,
                    &Default::default(),
                    now,
                ))
            }
            (Purpose::Reflect { .. }, _) => {
                // A reply to the question, as the service routes it: to the question open under
                // this delivery.
                let open = session::question_for_text(&self.learner, Some(seq), now)?;
                Some(answers::question_answered(&mut self.learner, Some(self.pack), &open, now))
            }
            _ => None,
        }
    }
}

fn next_seq(seq: &mut DeliverySeq) -> DeliverySeq {
    *seq = DeliverySeq::new(seq.get() + 1);
    *seq
}

fn run<'a>(scenario: &'a Scenario, pack: &'a Pack, days: i64, engaged_days: i64) -> (Run<'a>, bool) {
    let schedule = CronSpec::parse(scenario.schedule).unwrap_or_else(|error| panic!("{error}"));
    let timing = Timing {
        schedule: &schedule,
        cohort_tz: chrono_tz::Europe::Amsterdam,
        policy: &scenario.policy,
        learner_tz: scenario.tz,
        preferred: scenario.preferred,
    };
    let mut state = Run {
        scenario,
        pack,
        learner: learner(crate::testkit::id(1)),
        seq: DeliverySeq::new(0),
        act: 0,
        per_day: HashMap::new(),
        slots_seen: HashSet::new(),
        reviews_sent: 0,
        engaged: false,
    };
    let end = scenario.start + Duration::days(days);
    let engaged_from = end - Duration::days(engaged_days);
    let mut cursor = scenario.start;
    let mut engaged_slots = false;
    while let Some(due) = next_due(&timing, cursor).filter(|due| due.at < end) {
        if due.at >= engaged_from {
            state.engaged = true;
            engaged_slots = true;
        }
        state.slot(due.at, due.slot.key());
        cursor = due.at;
    }
    (state, engaged_slots)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_cap_quiet_hours_and_slots_hold_in_any_schedule_and_zone(scenario in scenario()) {
        run(&scenario, &test_pack(), 45, 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_due_review_is_eventually_sent(scenario in scenario()) {
        let pack = test_pack();
        let (state, engaged_slots) = run(&scenario, &pack, 120, 60);
        let end = scenario.start + Duration::days(120);
        if engaged_slots {
            let overdue: Vec<(&ItemId, DateTime<Utc>)> = state
                .learner
                .progress
                .memory
                .iter()
                .filter(|(_, memory)| {
                    // A review that is out waits for its answer: it was sent.
                    !srs::is_mastered(memory) && memory.asked.is_none() && memory.due < end - Duration::days(21)
                })
                .map(|(item, memory)| (item, memory.due))
                .collect();
            prop_assert!(overdue.is_empty(), "reviews never sent: {overdue:?} ({} reviews sent, weekday of end {:?})", state.reviews_sent, end.weekday());
        }
    }
}
