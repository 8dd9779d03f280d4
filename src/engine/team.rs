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
use crate::domain::{Learner, NextNudge, OutMessage, Purpose, TeamSlot};
use crate::schedule::agenda::{Due, team_slot_key};
use crate::schedule::policy::Policy;

/// How long a team question that found the cap full waits for a slot with room: a week, after
/// which the next week's question is due anyway.
pub const WAITING_FOR: Duration = Duration::days(7);

/// A "from your colleagues" edition newer than what the learner had.
#[derive(Debug, Clone, PartialEq)]
pub struct ColleaguesOffer {
    /// When the edition was made (the learner's record keeps it once dealt with).
    pub made_at: DateTime<Utc>,
    /// The message, rendered from the answers still there at send time; `None` when fewer
    /// than two learners' answers are left (some were erased or unshared since): nothing is
    /// sent, and the edition counts as dealt with.
    pub message: Option<OutMessage>,
}

/// What the team loop brings to one due agenda entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamContext {
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
pub fn agenda_entry(regular: Option<&Due>, team: Option<&Due>) -> Option<NextNudge> {
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
pub fn colleagues_is_new(learner: &Learner, made_at: DateTime<Utc>) -> bool {
    made_at > learner.team.colleagues.unwrap_or(learner.enrolled_at)
}

/// Plans one due agenda entry: the team question (from this entry's team slot, or one that
/// waited), then at a regular slot the colleagues' message and the regular plan
/// ([`plan_slot`]). Each counts against the daily cap; nothing goes in quiet hours or on a
/// day off. Updates the learner's team state; the outcome's drafts are what to send.
pub fn plan_entry(learner: &mut Learner, ctx: &SlotContext<'_>, team: &TeamContext) -> Outcome {
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
    Draft { purpose, extra: Extra::Message(message.clone()), wait: None }
}
