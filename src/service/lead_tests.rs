//! The lead side of the team loop over a temporary store: joining with a lead invite, the
//! learner asked first, the lead's commands, and the digest slot (once per lead and slot, the
//! notes since the last one, the colleagues edition).

use std::path::Path;

use super::lead_chat::LeadAsk;
use super::*;
use crate::chat::callback::Callback;
use crate::domain::{CohortState, Lead, Note, NoteKind, Outgoing};
use crate::schedule::cron::Slot;
use crate::store::Store;
use crate::testkit::{at, demo_pack, id, library, person, seq};

/// The admin in [`settings`].
const ADMIN: i64 = 1000;

/// Two cohorts on the demo pack, each with a lead invite and a goal; one admin.
fn settings() -> Settings {
    let cohort = |id: &str, lang: &str| {
        format!(
            "[[cohorts]]\nid = \"{id}\"\npack = \"demo\"\ninvite = \"JOIN-{id}\"\nlead_invite = \"LEAD-{id}\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"{lang}\"\ngoal = \"Fewer repeat calls\"\ndigest = \"0 8 * * Mon\"\n"
        )
    };
    let text = format!("[telegram]\nadmins = [{ADMIN}]\n\n{}\n{}", cohort("desk", "en"), cohort("sales", "nl"));
    Settings::parse(&text, Path::new("test.toml")).expect("test settings parse")
}

fn service() -> Service {
    Service::new(Arc::new(Store::temporary().expect("store")), Arc::new(settings()), library(demo_pack()))
}

/// Monday 23 November 2026, 10:00 in Amsterdam.
fn now() -> DateTime<Utc> {
    at("2026-11-23T09:00:00Z")
}

fn say(service: &Service, id: i64, text: &str) -> Handled {
    service.handle(&Incoming::from_text(person(LearnerId::new(id)), text, None), now()).expect("handled")
}

fn press(service: &Service, id: i64, data: &str) -> Handled {
    let incoming = Incoming::Press {
        from: person(LearnerId::new(id)),
        query_id: "q".to_owned(),
        message_id: Some(77),
        data: data.to_owned(),
    };
    service.handle(&incoming, now()).expect("handled")
}

/// What delivery `seq` of `id` says (a file: its caption).
fn html(service: &Service, id: i64, seq: DeliverySeq) -> String {
    match service.store().delivery(LearnerId::new(id), seq).expect("store").and_then(|d| d.outgoing) {
        Some(Outgoing::Send { message } | Outgoing::Edit { message, .. }) => message.html,
        Some(Outgoing::Document { caption, .. }) => caption,
        None => String::new(),
    }
}

fn texts(service: &Service, id: i64, seqs: &[DeliverySeq]) -> Vec<String> {
    seqs.iter().map(|&seq| html(service, id, seq)).collect()
}

fn lead(service: &Service, id: i64) -> Option<Lead> {
    service.store().lead(LearnerId::new(id)).expect("store")
}

/// A note of learner `learner` at `at`.
fn note(learner: i64, delivery: u64, at_text: &str, kind: NoteKind, text: &str) -> Note {
    Note {
        learner: LearnerId::new(learner),
        delivery: seq(delivery),
        cohort: "desk".to_owned(),
        at: at(at_text),
        kind,
        text: text.to_owned(),
        shared: true,
    }
}

fn put_note(service: &Service, note: &Note) {
    service.store().with_learner(note.learner, |tx| tx.put_note(note)).expect("note");
}

/// The digest slot of Monday 30 November 2026, 08:00 in Amsterdam.
fn monday_slot() -> Slot {
    let cohort = settings().cohorts.remove(0);
    cohort.team.digest.latest_between(cohort.timezone, None, at("2026-11-30T07:30:00Z")).expect("a slot")
}

#[test]
fn a_stranger_with_a_lead_invite_becomes_a_lead_and_every_admin_is_told() {
    let service = service();
    let handled = say(&service, 7, "/start LEAD-desk");
    let lead = lead(&service, 7).expect("a lead");
    assert_eq!((lead.cohorts.as_slice(), lead.lang), (["desk".to_owned()].as_slice(), Lang::En));
    assert!(service.store().learner(id(7)).expect("store").is_none(), "not enrolled as a learner");
    let greeting = texts(&service, 7, &handled.to_send);
    assert!(
        greeting[0].contains("team lead of <b>desk</b>") && greeting[1].contains("at least 5 learners"),
        "{greeting:?}"
    );
    assert_eq!(handled.menu, Some(ChatMenu { lang: Lang::En, admin: false, lead: true }));
    let [notice] = handled.others.as_slice() else { panic!("one admin told: {:?}", handled.others) };
    assert_eq!(notice.learner, id(ADMIN));
    let told = html(&service, ADMIN, notice.seqs[0]);
    assert!(told.contains("Learner7 (Telegram id 7)") && told.contains("nudge lead remove 7"), "{told}");
}

#[test]
fn a_lead_who_sends_another_cohorts_lead_invite_leads_both_in_their_own_language() {
    let service = service();
    say(&service, 7, "/start LEAD-desk");
    let again = say(&service, 7, "/start LEAD-desk");
    assert!(html(&service, 7, again.to_send[0]).contains("already lead"));
    assert!(again.others.is_empty(), "nobody new: the admins are not told again");
    let second = say(&service, 7, "/start LEAD-sales");
    assert_eq!(lead(&service, 7).expect("a lead").cohorts, ["desk", "sales"]);
    assert!(html(&service, 7, second.to_send[0]).contains("team lead of <b>sales</b>"), "in English, the lead's");
    assert_eq!(second.others.len(), 1);
    let learner_invite = say(&service, 7, "/start JOIN-desk");
    assert!(html(&service, 7, learner_invite.to_send[0]).contains("don't take part as a learner"));
    assert!(service.store().learner(id(7)).expect("store").is_none());
}

#[test]
fn a_learner_is_asked_first_no_keeps_everything_and_yes_leaves_the_learner_role() {
    let service = service();
    say(&service, 8, "/start JOIN-desk");
    let asked = say(&service, 8, "/start LEAD-sales");
    assert!(lead(&service, 8).is_none() && asked.others.is_empty(), "nothing changes before the answer");
    let question = service.store().delivery(id(8), asked.to_send[0]).expect("store").expect("asked");
    let Some(Outgoing::Send { message }) = &question.outgoing else { panic!("a question") };
    let [yes, no] = [0, 1].map(|idx| message.buttons[0][idx].data.clone());
    assert_eq!(Callback::decode(&yes), Some(Callback::LeadSwitch { seq: question.seq, confirm: true }));

    let kept = press(&service, 8, &no);
    assert!(html(&service, 8, kept.to_send[0]).contains("you stay a learner"));
    assert!(service.store().learner(id(8)).expect("store").is_some());
    assert_eq!(press(&service, 8, &yes).toast.as_deref(), Some("This button no longer works."), "answered: stale");

    let asked = say(&service, 8, "/start LEAD-sales");
    let question = service.store().delivery(id(8), asked.to_send[0]).expect("store").expect("asked");
    let yes = Callback::LeadSwitch { seq: question.seq, confirm: true }.encode();
    assert_eq!(press(&service, 9, &yes).toast.as_deref(), Some("This button no longer works."), "not asked: stale");
    let switched = press(&service, 8, &yes);
    assert!(service.store().learner(id(8)).expect("store").is_none(), "the learner records are erased");
    let export = service.store().export(id(8)).expect("export");
    assert!(export.answers.is_empty() && export.messages.iter().all(|d| d.learner == id(8) && d.cohort.is_empty()));
    assert_eq!(lead(&service, 8).expect("a lead").cohorts, ["sales"]);
    assert_eq!(switched.menu, Some(ChatMenu { lang: Lang::Nl, admin: false, lead: true }), "the cohort's language");
    let welcome = texts(&service, 8, &switched.to_send);
    assert!(welcome[0].contains("teamleider van <b>sales</b>"), "replaces the question: {welcome:?}");
    assert_eq!(switched.others.len(), 1, "the admin is told");
}

#[test]
fn lead_commands_are_for_leads_and_learner_commands_tell_a_lead_what_they_can_do() {
    let service = service();
    say(&service, 8, "/start JOIN-desk");
    for (who, before) in [(8, "a learner"), (9, "a stranger")] {
        let refused = say(&service, who, "/team");
        assert!(html(&service, who, refused.to_send[0]).contains("for team leads"), "{before}");
        assert_eq!(refused.lead_request, None);
    }
    say(&service, 7, "/start LEAD-desk");
    let team = say(&service, 7, "/team");
    let request = LeadRequest { lead: id(7), lang: Lang::En, cohorts: vec!["desk".to_owned()], what: LeadAsk::Digest };
    assert_eq!(team.lead_request, Some(request));
    let report = say(&service, 7, "/report desk").lead_request.expect("asked");
    assert_eq!((report.what, report.cohorts.as_slice()), (LeadAsk::Report, ["desk".to_owned()].as_slice()));
    let other = say(&service, 7, "/team sales");
    assert!(html(&service, 7, other.to_send[0]).contains("You don't lead a cohort “sales”. Yours: desk."));
    let progress = say(&service, 7, "/progress");
    let text = html(&service, 7, progress.to_send[0]);
    assert!(text.contains("learner's command") && text.contains("/team – the team's digest now"), "{text}");
    let data = say(&service, 7, "/mydata");
    let export = service.store().delivery(id(7), data.to_send[0]).expect("store").and_then(|d| d.outgoing);
    assert!(matches!(export, Some(Outgoing::Document { content, .. }) if content.contains("\"lead\"")));
}

#[test]
fn a_lead_who_forgets_is_erased_and_gets_the_strangers_menu() {
    let service = service();
    say(&service, 7, "/start LEAD-desk");
    let asked = say(&service, 7, "/forget");
    assert!(html(&service, 7, asked.to_send[0]).contains("as a team lead"));
    let erased = press(&service, 7, &Callback::Forget(true).encode());
    assert!(lead(&service, 7).is_none() && service.store().export(id(7)).expect("export").messages.is_empty());
    assert_eq!(erased.menu, Some(ChatMenu { lang: Lang::En, admin: false, lead: false }));
    assert_eq!(erased.direct.len(), 1, "the goodbye, unrecorded");
}

#[test]
fn a_digest_slot_reaches_each_lead_once_with_the_notes_since_the_last_one() {
    let service = service();
    say(&service, 7, "/start LEAD-desk");
    say(&service, 8, "/start LEAD-sales");
    put_note(&service, &note(21, 5, "2026-11-20T10:00:00Z", NoteKind::Idea, "A shared FAQ"));
    put_note(&service, &note(22, 6, "2026-11-27T10:00:00Z", NoteKind::TeamAnswer, "I called back unasked"));
    put_note(&service, &note(23, 7, "2026-11-27T11:00:00Z", NoteKind::TeamAnswer, "I fixed it first time"));
    put_note(&service, &note(24, 8, "2026-11-27T12:00:00Z", NoteKind::TeamAnswer, "Private, kept"));
    service
        .store()
        .with_learner(id(24), |tx| {
            let mut private = tx.note(seq(8))?.expect("note");
            private.shared = false;
            tx.put_note(&private)
        })
        .expect("private");
    service
        .store()
        .put_cohort_state(
            "desk",
            &CohortState { last_digest: Some(at("2026-11-23T07:00:00Z")), ..CohortState::default() },
        )
        .expect("state");
    put_note(&service, &note(25, 9, "2026-11-30T07:30:00Z", NoteKind::Idea, "After the slot"));
    service.store().erase(id(23)).expect("erased");

    let slot = monday_slot();
    let cohort = service.settings().cohort("desk").expect("desk").clone();
    let batches = service.digest_slot(&cohort, &slot, at("2026-11-30T07:00:01Z")).expect("digest");
    let [batch] = batches.as_slice() else { panic!("only desk's lead: {batches:?}") };
    assert_eq!((batch.learner, batch.seqs.len()), (id(7), 2), "the message and the report");
    let digest = html(&service, 7, batch.seqs[0]);
    assert!(digest.contains("🎯 Our goal: Fewer repeat calls"), "{digest}");
    assert!(digest.contains("I called back unasked"), "shared since the last digest: {digest}");
    for absent in ["A shared FAQ", "I fixed it first time", "Private, kept", "After the slot"] {
        assert!(!digest.contains(absent), "{absent}: before the last digest, erased, private or after the slot");
    }
    assert!(digest.contains("No ideas came in since the last digest"), "{digest}");
    let delivery = service.store().delivery(id(7), batch.seqs[0]).expect("store").expect("recorded");
    assert_eq!(delivery.purpose, Purpose::Digest { cohort: "desk".to_owned() });
    assert!(!delivery.purpose.is_prompt() && delivery.cohort.is_empty(), "no report counts it");

    let state = service.store().cohort_state("desk").expect("state");
    assert_eq!(state.last_digest, Some(slot.at));
    assert_eq!(state.colleagues, None, "one learner's shared answer is not enough for colleagues");
    service.store().put_cohort_state("desk", &CohortState { last_digest: None, ..state }).expect("state");
    let again = service.digest_slot(&cohort, &slot, at("2026-11-30T07:05:00Z")).expect("digest");
    assert!(again.is_empty(), "claimed: never twice for one slot, even when the state is lost");
}

#[test]
fn the_digest_slot_makes_the_colleagues_edition_and_offers_a_stand_up_question_once() {
    let service = service();
    say(&service, 7, "/start LEAD-desk");
    for learner in [31, 32] {
        say(&service, learner, "/start JOIN-desk");
        let mut record = service.store().learner(id(learner)).expect("store").expect("enrolled");
        record.progress.lessons_started = vec!["one".to_owned()];
        service.store().with_learner(id(learner), |tx| tx.put_learner(&record)).expect("progress");
    }
    put_note(&service, &note(31, 40, "2026-11-27T10:00:00Z", NoteKind::TeamAnswer, "Called back"));
    put_note(&service, &note(32, 41, "2026-11-27T11:00:00Z", NoteKind::TeamAnswer, "Listened first"));
    let cohort = service.settings().cohort("desk").expect("desk").clone();
    let slot = monday_slot();
    let batches = service.digest_slot(&cohort, &slot, at("2026-11-30T07:00:01Z")).expect("digest");
    let digest = html(&service, 7, batches[0].seqs[0]);
    assert!(digest.contains("(from the lesson “One &amp; only”)") && digest.contains("What did we learn?"), "{digest}");
    assert!(digest.contains("fewer than 5"), "two learners: no figures: {digest}");
    let state = service.store().cohort_state("desk").expect("state");
    assert_eq!(state.standups_offered, ["one"]);
    let edition = state.colleagues.expect("two learners shared");
    assert_eq!((edition.made_at, edition.answers), (slot.at, vec![(id(32), seq(41)), (id(31), seq(40))]));

    let next = cohort.team.digest.latest_between(cohort.timezone, state.last_digest, at("2026-12-07T07:00:00Z"));
    let next = next.expect("the next Monday");
    let batches = service.digest_slot(&cohort, &next, at("2026-12-07T07:00:00Z")).expect("digest");
    let digest = html(&service, 7, batches[0].seqs[0]);
    assert!(digest.contains("no new team question is ready"), "offered once: {digest}");
    assert_eq!(service.store().cohort_state("desk").expect("state").colleagues, None, "nothing shared this week");

    let asked = LeadRequest { lead: id(7), lang: Lang::En, cohorts: vec!["desk".to_owned()], what: LeadAsk::Digest };
    let now = service.lead_request(&asked, at("2026-12-08T09:00:00Z")).expect("built");
    assert_eq!(now.seqs.len(), 2, "the message and the report");
    assert!(html(&service, 7, now.seqs[0]).contains("What did we learn?"), "/team repeats this week's question");
}
