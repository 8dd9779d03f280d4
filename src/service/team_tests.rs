//! The learner's side of the team loop through the service: the team question at its slot and
//! its answer, routing with a reflection open, sharing, `/idea`, the colleagues' message, the
//! goal and the privacy notice for learners from before it changed.

use std::path::Path;

use chrono::Duration;

use super::team::MAX_IDEA_CHARS;
use super::*;
use crate::domain::{AnswerKind, ColleaguesEdition, Lead, NextNudge, Note, NoteKind, Outgoing};
use crate::store::Store;
use crate::testkit::{at, demo_pack, library, person};

/// Weekdays at 09:00 in Amsterdam, the team question on Fridays at 14:00 (the default), room
/// for six scheduled messages a day (so a lesson day leaves room for the team question), plus
/// `extra` cohort keys; the cohort speaks English.
fn service_with(extra: &str) -> Service {
    service_in("en", &format!("max_messages_per_day = 6\n{extra}"))
}

/// [`service_with`] for a cohort in `language`.
fn service_in(language: &str, extra: &str) -> Service {
    let config = format!(
        "[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"{language}\"\n{extra}\n"
    );
    let settings = Settings::parse(&config, Path::new("test.toml")).unwrap();
    Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings), library(demo_pack()))
}

fn learner_id(n: i64) -> LearnerId {
    LearnerId::new(n)
}

fn say_at(service: &Service, id: i64, text: &str, now: DateTime<Utc>) -> Handled {
    service.handle(&Incoming::from_text(person(learner_id(id)), text, None), now).unwrap()
}

fn reply_at(service: &Service, id: i64, text: &str, to_message: i64, now: DateTime<Utc>) -> Handled {
    let incoming = Incoming::Text { from: person(learner_id(id)), text: text.to_owned(), reply_to: Some(to_message) };
    service.handle(&incoming, now).unwrap()
}

fn press_at(service: &Service, id: i64, data: &str, now: DateTime<Utc>) -> Handled {
    let from = person(learner_id(id));
    let incoming = Incoming::Press { from, query_id: "q".to_owned(), message_id: Some(900), data: data.to_owned() };
    service.handle(&incoming, now).unwrap()
}

fn delivery(service: &Service, id: i64, seq: DeliverySeq) -> Delivery {
    service.store().delivery(learner_id(id), seq).unwrap().unwrap()
}

fn html(service: &Service, id: i64, seq: DeliverySeq) -> String {
    match delivery(service, id, seq).outgoing.unwrap() {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => message.html,
        Outgoing::Document { caption, .. } => caption,
    }
}

fn buttons(service: &Service, id: i64, seq: DeliverySeq) -> Vec<String> {
    match delivery(service, id, seq).outgoing.unwrap() {
        Outgoing::Send { message } => message.buttons.concat().into_iter().map(|button| button.data).collect(),
        Outgoing::Edit { .. } | Outgoing::Document { .. } => Vec::new(),
    }
}

fn learner(service: &Service, id: i64) -> Learner {
    service.store().learner(learner_id(id)).unwrap().unwrap()
}

/// Marks delivery `seq` sent as Telegram message `message_id`, so replies can find it.
fn sent_as(service: &Service, id: i64, seq: DeliverySeq, message_id: i64, now: DateTime<Utc>) {
    deliveries::mark_sent(&**service.store(), learner_id(id), seq, message_id, now).unwrap();
}

/// Runs learner `id`'s agenda up to and including `until`, entry by entry, as the scheduler
/// does; returns every delivery the entries made, with the entry that made it.
fn run_until(service: &Service, id: i64, until: DateTime<Utc>) -> Vec<(NextNudge, DeliverySeq)> {
    let mut made = Vec::new();
    while let Some(next) = learner(service, id).next_nudge.filter(|next| next.at <= until) {
        for seq in service.nudge_due(learner_id(id), &next, next.at).unwrap() {
            made.push((next.clone(), seq));
        }
    }
    made
}

fn purposes_of(service: &Service, id: i64, made: &[(NextNudge, DeliverySeq)]) -> Vec<Purpose> {
    made.iter().map(|(_, seq)| delivery(service, id, *seq).purpose).collect()
}

/// Monday 23 November 2026, 10:00 in Amsterdam.
fn monday() -> DateTime<Utc> {
    at("2026-11-23T09:00:00Z")
}

/// Friday 27 November 2026, 14:00 in Amsterdam: the default team-question slot.
fn friday_14() -> DateTime<Utc> {
    at("2026-11-27T13:00:00Z")
}

/// The team question learner `id` got by `until`.
fn team_question(service: &Service, id: i64, until: DateTime<Utc>) -> (NextNudge, DeliverySeq) {
    let made = run_until(service, id, until);
    let mut questions =
        made.into_iter().filter(|(_, seq)| delivery(service, id, *seq).purpose == Purpose::TeamQuestion);
    let question = questions.next().expect("a team question");
    assert!(questions.next().is_none(), "one team question");
    question
}

#[test]
fn the_team_question_comes_at_its_slot_and_its_answer_is_kept_private_until_shared() {
    let service = service_with("");
    say_at(&service, 7, "/start JOIN", monday());
    let (entry, question) = team_question(&service, 7, friday_14());
    assert_eq!((entry.at, entry.slot.as_str()), (friday_14(), "team:2026-11-27T14:00:00"));
    assert!(html(&service, 7, question).contains("How did you positively surprise a customer this week?"));
    let answered =
        say_at(&service, 7, "I called a customer back <before> they asked", friday_14() + Duration::hours(1));
    assert!(answered.recorded_answer);
    let note = service.store().notes().next().unwrap().unwrap();
    assert_eq!((note.kind, note.delivery, note.shared), (NoteKind::TeamAnswer, question, false));
    assert_eq!(note.text, "I called a customer back <before> they asked");
    let ask = answered.to_send[0];
    assert!(html(&service, 7, ask).contains("Share your answer with your team?"));
    let [share, keep] = buttons(&service, 7, ask).try_into().unwrap();
    let shared = press_at(&service, 7, &share, friday_14() + Duration::hours(2));
    assert!(html(&service, 7, shared.to_send[0]).contains("Shared with your team"));
    assert!(service.store().notes().next().unwrap().unwrap().shared);
    press_at(&service, 7, &keep, friday_14() + Duration::hours(3));
    assert!(!service.store().notes().next().unwrap().unwrap().shared, "the learner may change their mind");
    assert!(learner(&service, 7).team.open.is_none(), "answered: the next message is not a team answer");
}

#[test]
fn forged_or_stale_share_buttons_find_nothing() {
    let service = service_with("");
    say_at(&service, 7, "/start JOIN", monday());
    let (_, question) = team_question(&service, 7, friday_14());
    for data in [format!("ts:{}:y", question.get() + 1), "ts:1:x".to_owned(), format!("ts:{question}:maybe")] {
        let handled = press_at(&service, 7, &data, friday_14());
        assert_eq!(handled.toast.as_deref(), Some("This button no longer works."), "{data}");
        assert!(handled.to_send.is_empty(), "{data}");
    }
    let someone_else = press_at(&service, 8, &format!("ts:{question}:y"), friday_14());
    assert_eq!(someone_else.toast.as_deref(), Some("This button no longer works."));
    assert_eq!(service.store().notes().count(), 0);
}

#[test]
fn with_a_reflection_open_free_text_answers_the_newest_question_and_a_reply_picks_the_other() {
    let service = service_with("team_question_schedule = \"30 9 * * Fri\"");
    say_at(&service, 7, "/start JOIN", at("2026-11-26T10:00:00Z"));
    let made = run_until(&service, 7, at("2026-11-27T08:00:00Z"));
    let quiz = made
        .iter()
        .map(|(_, seq)| *seq)
        .find(|seq| matches!(delivery(&service, 7, *seq).purpose, Purpose::Quiz { .. }));
    let quiz = quiz.unwrap();
    let pressed = service.press_quiz_sure(
        &person(learner_id(7)),
        &buttons(&service, 7, quiz)[1],
        900,
        at("2026-11-27T08:05:00Z"),
    );
    let reflection = *pressed.to_send.last().unwrap();
    assert!(matches!(delivery(&service, 7, reflection).purpose, Purpose::Reflect { question: 0, .. }));
    sent_as(&service, 7, reflection, 501, at("2026-11-27T08:05:00Z"));
    let (_, question) = team_question(&service, 7, at("2026-11-27T08:30:00Z"));
    sent_as(&service, 7, question, 502, at("2026-11-27T08:30:00Z"));

    let plain = say_at(&service, 7, "A refund before they asked", at("2026-11-27T08:40:00Z"));
    let notes: Vec<Note> = service.store().notes().collect::<Result<_, _>>().unwrap();
    assert_eq!(notes.len(), 1, "the team question is the newest open question");
    assert_eq!((notes[0].delivery, notes[0].text.as_str()), (question, "A refund before they asked"));
    assert!(html(&service, 7, plain.to_send[0]).contains("Share your answer"));

    let replied = reply_at(&service, 7, "Listening first", 501, at("2026-11-27T08:45:00Z"));
    let reflections = |service: &Service| {
        let answers = service.store().answers().filter_map(Result::ok);
        answers
            .filter_map(|answer| match answer.kind {
                AnswerKind::Reflect { question, text, .. } => Some((question, text)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(reflections(&service), [(0, "Listening first".to_owned())], "a reply picks the reflection");
    assert!(
        replied
            .to_send
            .iter()
            .any(|seq| matches!(delivery(&service, 7, *seq).purpose, Purpose::Reflect { question: 1, .. }))
    );
    say_at(&service, 7, "Ask more", at("2026-11-27T08:50:00Z"));
    assert_eq!(reflections(&service).len(), 2, "now the reflection's next question is the newest");

    reply_at(&service, 7, "and I said sorry", 502, at("2026-11-27T08:55:00Z"));
    let note = service.store().notes().next().unwrap().unwrap();
    assert_eq!(note.text, "A refund before they asked\nand I said sorry", "a reply to the team question adds to it");
    assert_eq!(service.store().notes().count(), 1);
}

#[test]
fn a_cohorts_own_team_question_comes_whole_in_the_cohorts_language_and_the_default_in_the_learners() {
    let own =
        service_in("nl", "max_messages_per_day = 6\nteam_question = \"Wat deed jij deze week extra voor een klant?\"");
    say_at(&own, 7, "/start JOIN", monday());
    say_at(&own, 8, "/start JOIN", monday());
    say_at(&own, 8, "/language en", monday());
    for id in [7, 8] {
        let (_, question) = team_question(&own, id, friday_14());
        let text = html(&own, id, question);
        assert!(text.contains("Een vraag voor het team") && text.contains("Wat deed jij deze week"), "{id}: {text}");
        assert!(!text.contains("Reply with a message"), "{id}: one language: {text}");
    }
    let default = service_in("nl", "max_messages_per_day = 6");
    say_at(&default, 8, "/start JOIN", monday());
    say_at(&default, 8, "/language en", monday());
    let (_, question) = team_question(&default, 8, friday_14());
    let text = html(&default, 8, question);
    assert!(text.contains("A question for the team") && text.contains("positively surprise a customer"), "{text}");
}

#[test]
fn a_paused_learner_gets_no_team_question_while_paused() {
    let service = service_with("");
    say_at(&service, 7, "/start JOIN", monday());
    say_at(&service, 7, "/pause 7", at("2026-11-26T12:00:00Z"));
    let made = run_until(&service, 7, at("2026-12-03T12:00:00Z"));
    assert!(made.is_empty(), "{:?}", purposes_of(&service, 7, &made));
    let after = run_until(&service, 7, at("2026-12-04T13:00:00Z"));
    let purposes = purposes_of(&service, 7, &after);
    assert_eq!(purposes.iter().filter(|p| **p == Purpose::TeamQuestion).count(), 1, "{purposes:?}");
    assert_eq!(after.last().map(|(entry, _)| entry.at), Some(at("2026-12-04T13:00:00Z")), "the next Friday's");
}

#[test]
fn with_the_days_cap_used_up_the_team_question_waits_for_the_next_regular_slot() {
    let service = service_in("en", "");
    say_at(&service, 7, "/start JOIN", monday());
    let week = run_until(&service, 7, friday_14());
    assert!(!purposes_of(&service, 7, &week).contains(&Purpose::TeamQuestion), "Friday's lesson filled the cap of 3");
    assert!(learner(&service, 7).team.waiting.is_some());
    let monday_9 = at("2026-11-30T08:00:00Z");
    let next = run_until(&service, 7, monday_9);
    assert_eq!(next.first().map(|(entry, _)| entry.at), Some(monday_9), "nothing at the weekend");
    assert_eq!(purposes_of(&service, 7, &next).first(), Some(&Purpose::TeamQuestion), "first, at the next slot");
    assert!(next.len() <= 3);
}

#[test]
fn a_team_question_at_the_same_moment_as_a_nudge_comes_with_it_within_the_cap() {
    let service = service_in("en", "team_question_schedule = \"0 9 * * Fri\"");
    say_at(&service, 7, "/start JOIN", at("2026-11-26T10:00:00Z"));
    let made = run_until(&service, 7, at("2026-11-27T08:00:00Z"));
    assert!(made.iter().all(|(entry, _)| entry.at == at("2026-11-27T08:00:00Z")), "one entry for both");
    let purposes = purposes_of(&service, 7, &made);
    assert!(
        matches!(&purposes[..], [Purpose::TeamQuestion, Purpose::Lesson { .. }, Purpose::Quiz { .. }]),
        "{purposes:?}"
    );
    assert_eq!(learner(&service, 7).progress.today.map(|day| day.messages), Some(3), "all three count");
    assert!(run_until(&service, 7, at("2026-11-27T20:00:00Z")).is_empty(), "and nothing more that day");
}

#[test]
fn an_idea_needs_words_within_the_limit_and_a_lead_and_is_a_note_on_its_thanks() {
    let service = service_with("");
    say_at(&service, 7, "/start JOIN", monday());
    let reply = |text: &str| {
        let handled = say_at(&service, 7, text, monday());
        html(&service, 7, handled.to_send[0])
    };
    assert!(reply("/idea").contains("Write your idea after the command"));
    assert!(reply("/idea a shared FAQ").contains("no lead in nudge yet"));
    assert_eq!(service.store().notes().count(), 0, "nothing is kept without a lead");
    let lead = Lead {
        id: learner_id(99),
        name: "Lee".to_owned(),
        lang: Lang::En,
        cohorts: vec!["desk".to_owned()],
        joined_at: monday(),
    };
    service.store().transact(learner_id(99), &mut |tx| tx.put_lead(&lead)).unwrap();
    assert!(reply(&format!("/idea {}", "x".repeat(MAX_IDEA_CHARS + 1))).contains("keep it to 1000 characters"));
    let thanks = say_at(&service, 7, "/idea  a shared FAQ\nfor the desk ", monday());
    assert!(html(&service, 7, thanks.to_send[0]).contains("next weekly digest"));
    let notes: Vec<Note> = service.store().notes().collect::<Result<_, _>>().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].kind, notes[0].delivery, notes[0].text.as_str()),
        (NoteKind::Idea, thanks.to_send[0], "a shared FAQ\nfor the desk")
    );
    let stranger = say_at(&service, 8, "/idea hello", monday());
    assert!(html(&service, 8, stranger.to_send[0]).contains("haven't joined"));
}

#[test]
fn a_learner_from_before_the_notice_changed_gets_it_once_with_their_next_message() {
    let service = service_with("");
    say_at(&service, 7, "/start JOIN", monday());
    service
        .store()
        .with_learner(learner_id(7), |tx| {
            let old = Learner { notice_version: 0, ..tx.learner()?.unwrap() };
            tx.put_learner(&old)
        })
        .unwrap();
    let first = say_at(&service, 7, "/progress", monday());
    assert_eq!(first.to_send.len(), 2, "the reply, then the notice");
    let notice = html(&service, 7, first.to_send[1]);
    assert!(notice.contains("What's new") && notice.contains("never about fewer than 5 people"), "{notice}");
    assert_eq!(learner(&service, 7).notice_version, crate::domain::PRIVACY_NOTICE);
    assert_eq!(say_at(&service, 7, "/progress", monday()).to_send.len(), 1, "once");
    let fresh = say_at(&service, 8, "/start JOIN", monday());
    assert_eq!(fresh.to_send.len(), 2, "a new learner gets the notice with the welcome only");
}

#[test]
fn the_goal_shows_in_the_welcome_and_progress_in_the_cohorts_words() {
    let service = service_with("goal = \"Fewer repeat calls: from 10 % to 5 % by June\"");
    let welcome = say_at(&service, 7, "/start JOIN", monday());
    let text = html(&service, 7, welcome.to_send[0]);
    assert!(text.contains("Welcome") && text.contains("🎯 Your team's goal: <b>Fewer repeat calls"), "{text}");
    let progress = say_at(&service, 7, "/progress", monday());
    assert_eq!(progress.to_send.len(), 1);
    assert!(html(&service, 7, progress.to_send[0]).contains("🎯 Team goal: Fewer repeat calls"));
    say_at(&service, 7, "/language da", monday());
    let progress = say_at(&service, 7, "/progress", monday());
    assert_eq!(progress.to_send.len(), 2, "the goal is in the cohort's language, so a message of its own");
    assert!(!html(&service, 7, progress.to_send[0]).contains("🎯"));
    assert_eq!(html(&service, 7, progress.to_send[1]), "🎯 Team goal: Fewer repeat calls: from 10 % to 5 % by June");
    let plain = service_with("");
    let welcome = say_at(&plain, 7, "/start JOIN", monday());
    assert!(!html(&plain, 7, welcome.to_send[0]).contains("🎯"));
}

/// Learners 1 to 3 answer and share the team question of Friday 27 November; returns the
/// edition that names their answers, newest first.
fn three_shared_answers(service: &Service) -> ColleaguesEdition {
    let mut answers = Vec::new();
    for id in 1..=3 {
        let (_, question) = team_question(service, id, friday_14());
        let answered = say_at(service, id, &format!("example {id}"), friday_14() + Duration::minutes(id));
        let share = buttons(service, id, answered.to_send[0])[0].clone();
        press_at(service, id, &share, friday_14() + Duration::minutes(id));
        answers.push((learner_id(id), question));
    }
    answers.reverse();
    ColleaguesEdition { made_at: at("2026-11-30T07:00:00Z"), answers }
}

#[test]
fn the_colleagues_edition_goes_once_at_the_next_regular_slot_without_an_erased_answer() {
    let service = service_with("");
    for id in 1..=4 {
        say_at(&service, id, "/start JOIN", monday());
    }
    let edition = three_shared_answers(&service);
    run_until(&service, 4, friday_14());
    let state = crate::domain::CohortState { colleagues: Some(edition), ..Default::default() };
    service.store().put_cohort_state("desk", &state).unwrap();
    service.erase_learner(learner_id(2), Lang::En).unwrap();
    let monday_9 = at("2026-11-30T08:00:00Z");
    for id in [1, 3, 4] {
        let made = run_until(&service, id, monday_9);
        let colleagues: Vec<_> =
            made.iter().filter(|(_, seq)| delivery(&service, id, *seq).purpose == Purpose::Colleagues).collect();
        assert_eq!(colleagues.len(), 1, "learner {id}: {:?}", purposes_of(&service, id, &made));
        assert_eq!(colleagues[0].0.at, monday_9, "at the first regular slot after the digest");
        let text = html(&service, id, colleagues[0].1);
        assert!(
            text.contains("From your colleagues") && text.contains("example 3") && text.contains("example 1"),
            "{text}"
        );
        assert!(!text.contains("example 2"), "an erased author's answer is left out: {text}");
        assert!(!text.contains("Learner"), "no names: {text}");
        let later = run_until(&service, id, at("2026-12-02T08:00:00Z"));
        assert!(!purposes_of(&service, id, &later).contains(&Purpose::Colleagues), "never twice for one edition");
    }
}

#[test]
fn an_edition_with_one_author_left_is_not_sent() {
    let service = service_with("");
    for id in 1..=4 {
        say_at(&service, id, "/start JOIN", monday());
    }
    let edition = three_shared_answers(&service);
    run_until(&service, 4, friday_14());
    service
        .store()
        .put_cohort_state("desk", &crate::domain::CohortState { colleagues: Some(edition), ..Default::default() })
        .unwrap();
    service.erase_learner(learner_id(2), Lang::En).unwrap();
    service.erase_learner(learner_id(3), Lang::En).unwrap();
    let made = run_until(&service, 4, at("2026-11-30T08:00:00Z"));
    assert!(!purposes_of(&service, 4, &made).contains(&Purpose::Colleagues));
    assert_eq!(learner(&service, 4).team.colleagues, Some(at("2026-11-30T07:00:00Z")), "dealt with");
}
