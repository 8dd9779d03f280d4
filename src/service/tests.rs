use super::*;
use crate::domain::{AnswerKind, NextNudge, Outgoing, PracticeOutcome};
use crate::store::Store;
use crate::testkit::{at, demo_pack, id, item, library, person, settings};

fn service() -> Service {
    Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings()), library(demo_pack()))
}

/// Monday 23 November 2026, 10:00 in Amsterdam.
fn now() -> DateTime<Utc> {
    at("2026-11-23T09:00:00Z")
}

fn say(service: &Service, id: i64, text: &str) -> Handled {
    service.handle(&Incoming::from_text(person(LearnerId::new(id)), text, None), now()).unwrap()
}

fn reply(service: &Service, id: i64, text: &str, to_message: i64) -> Handled {
    let incoming =
        Incoming::Text { from: person(LearnerId::new(id)), text: text.to_owned(), reply_to: Some(to_message) };
    service.handle(&incoming, now()).unwrap()
}

/// Both taps of a quiz answer: option `data`, then "sure".
fn answer(service: &Service, id: i64, data: &str, message_id: i64) -> Handled {
    service.press_quiz_sure(&person(LearnerId::new(id)), data, message_id, now())
}

fn press(service: &Service, id: i64, data: &str, message_id: i64) -> Handled {
    let incoming = Incoming::Press {
        from: person(LearnerId::new(id)),
        query_id: "q".to_owned(),
        message_id: Some(message_id),
        data: data.to_owned(),
    };
    service.handle(&incoming, now()).unwrap()
}

/// The text of delivery `seq` (sends and edits alike).
fn html(service: &Service, id: i64, seq: DeliverySeq) -> String {
    match service.store().delivery(LearnerId::new(id), seq).unwrap().unwrap().outgoing.unwrap() {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => message.html,
        Outgoing::Document { caption, .. } => caption,
    }
}

fn data_of(service: &Service, id: i64, seq: DeliverySeq, button: usize) -> String {
    match service.store().delivery(LearnerId::new(id), seq).unwrap().unwrap().outgoing.unwrap() {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => message.buttons.concat()[button].data.clone(),
        Outgoing::Document { .. } => panic!("no buttons here"),
    }
}

fn learner(service: &Service, id: i64) -> Learner {
    service.store().learner(LearnerId::new(id)).unwrap().unwrap()
}

/// Enrols learner `id` and sends them their first nudge; returns its deliveries.
fn enrolled_and_nudged(service: &Service, id: i64) -> Vec<DeliverySeq> {
    say(service, id, "/start JOIN");
    let next = learner(service, id).next_nudge.unwrap();
    service.nudge_due(LearnerId::new(id), &next, next.at).unwrap()
}

#[test]
fn start_with_a_known_invite_enrols_welcomes_and_schedules() {
    let service = service();
    let handled = say(&service, 7, "/start JOIN");
    let learner = learner(&service, 7);
    assert_eq!(learner.cohort, "desk");
    assert_eq!(handled.to_send.len(), 2, "welcome and privacy notice");
    assert!(html(&service, 7, handled.to_send[0]).contains("Demo pack"));
    assert!(html(&service, 7, handled.to_send[0]).contains("tomorrow at 09:00"));
    let next = learner.next_nudge.unwrap();
    assert_eq!(next.at, at("2026-11-24T08:00:00Z"));
    assert!(service.store().has_agenda(&next, LearnerId::new(7)));
}

#[test]
fn a_learner_named_like_a_placeholder_is_greeted_by_that_name() {
    let service = service();
    let from = Person { first_name: "{when} <{programme}>".to_owned(), ..person(LearnerId::new(7)) };
    let handled = service.handle(&Incoming::from_text(from, "/start JOIN", None), now()).unwrap();
    let welcome = html(&service, 7, handled.to_send[0]);
    assert!(welcome.starts_with("Welcome, {when} &lt;{programme}&gt;!"), "{welcome}");
}

#[test]
fn start_with_a_wrong_or_missing_invite_is_refused_kindly() {
    let service = service();
    let wrong = say(&service, 7, "/start NOPE");
    assert!(html(&service, 7, wrong.to_send[0]).contains("I don't know the invite code “NOPE”"));
    let missing = say(&service, 8, "/start");
    assert!(html(&service, 8, missing.to_send[0]).contains("followed by your invite code"));
    assert!(service.store().learner(LearnerId::new(7)).unwrap().is_none());
    assert!(service.store().learner(LearnerId::new(8)).unwrap().is_none());
}

#[test]
fn a_due_nudge_sends_the_lesson_and_schedules_the_next() {
    let service = service();
    let first = enrolled_and_nudged(&service, 7);
    assert_eq!(first.len(), 2, "lesson and quiz");
    assert!(html(&service, 7, first[0]).contains("One &amp; only"));
    assert!(html(&service, 7, first[0]).contains("Body of &lt;one&gt;."));
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-11-25T08:00:00Z"));
}

#[test]
fn a_slot_is_sent_once_even_if_its_agenda_entry_comes_back() {
    let service = service();
    enrolled_and_nudged(&service, 7);
    let replayed = NextNudge { at: at("2026-11-24T08:00:00Z"), slot: "2026-11-24T09:00:00".to_owned() };
    service
        .store()
        .with_learner(LearnerId::new(7), |tx| {
            let mut record = tx.learner()?.unwrap();
            tx.set_agenda(record.next_nudge.as_ref(), Some(&replayed))?;
            record.next_nudge = Some(replayed.clone());
            tx.put_learner(&record)
        })
        .unwrap();
    assert!(
        service.nudge_due(LearnerId::new(7), &replayed, replayed.at).unwrap().is_empty(),
        "the slot is claimed already"
    );
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-11-25T08:00:00Z"));
}

#[test]
fn a_stale_agenda_entry_does_nothing() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let stale = NextNudge { at: at("2026-11-20T08:00:00Z"), slot: "2026-11-20T09:00:00".to_owned() };
    assert!(service.nudge_due(LearnerId::new(7), &stale, now()).unwrap().is_empty());
}

#[test]
fn a_quiz_press_is_recorded_once_and_gets_a_verdict() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    let right = data_of(&service, 7, seqs[1], 1);
    let handled = answer(&service, 7, &right, 10);
    assert_eq!(handled.toast.as_deref(), Some("✅ Right!"));
    let edit = html(&service, 7, handled.to_send[0]);
    assert!(edit.contains("Your answer: right") && edit.contains("Because."), "{edit}");
    assert!(html(&service, 7, handled.to_send[1]).contains("Think."), "the reflection follows");
    let again = press(&service, 7, &right, 10);
    assert_eq!(again.toast.as_deref(), Some("You already answered this one."));
    assert!(again.to_send.is_empty());
    let answers: Vec<_> = service.store().answers().collect::<Result<_, _>>().unwrap();
    assert_eq!(answers.len(), 1);
    let sure = Some(crate::domain::Confidence::Sure);
    assert_eq!(answers[0].kind, AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: sure });
    let memory = &learner(&service, 7).progress.memory[&item("one/quiz")];
    assert_eq!((memory.due - now()).num_days(), 3, "a right first answer comes back in 3 days");
}

#[test]
fn a_quiz_is_scheduled_with_its_packs_fitted_weights_once_a_fit_saved_them() {
    let service = service();
    let mut weights = fsrs::DEFAULT_PARAMETERS;
    weights[2] = 9.0; // a right first answer lasts nine days in this pack
    let tuning =
        crate::domain::PackTuning { weights: Some(weights.to_vec()), fitted_on: 5_000, reviews: 5_000, at: now() };
    service.store().put_tuning("demo", &tuning).unwrap();
    service.reload_parameters();
    let seqs = enrolled_and_nudged(&service, 7);
    press(&service, 7, &data_of(&service, 7, seqs[1], 1), 10);
    let memory = &learner(&service, 7).progress.memory[&item("one/quiz")];
    assert_eq!((memory.stability, (memory.due - now()).num_days()), (9.0, 9));
}

#[test]
fn a_press_on_someone_elses_quiz_or_forged_data_changes_nothing() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    say(&service, 8, "/start JOIN");
    let data = data_of(&service, 7, seqs[1], 0);
    assert_eq!(press(&service, 8, &data, 10).toast.as_deref(), Some("This button no longer works."));
    for forged in ["q:999999:0", "q:1:x", "p:1:d", "drop table", &"x".repeat(300)] {
        let handled = press(&service, 7, forged, 10);
        assert!(handled.to_send.is_empty() && !handled.recorded_answer, "{forged}");
    }
    assert_eq!(service.store().answers().count(), 0);
}

#[test]
fn reflection_answers_are_recorded_and_the_chain_continues() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    answer(&service, 7, &data_of(&service, 7, seqs[1], 0), 10);
    let first = say(&service, 7, "I listen more");
    assert!(first.recorded_answer);
    assert!(html(&service, 7, first.to_send[0]).contains("Thanks, noted."));
    assert!(html(&service, 7, first.to_send[1]).contains("Second?"));
    let second = say(&service, 7, "at the desk");
    assert!(html(&service, 7, second.to_send[1]).contains("Do it."), "practice follows the chain");
    let texts: Vec<String> = service
        .store()
        .answers()
        .filter_map(|answer| match answer.unwrap().kind {
            AnswerKind::Reflect { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["I listen more", "at the desk"]);
}

#[test]
fn a_reply_to_an_older_question_goes_to_that_question() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    let reflect = answer(&service, 7, &data_of(&service, 7, seqs[1], 1), 10).to_send[1];
    deliveries::mark_sent(&**service.store(), id(7), reflect, 55, now()).unwrap();
    say(&service, 7, "first answer");
    let added = reply(&service, 7, "one more thought", 55);
    assert!(added.recorded_answer);
    let answer = service.store().answers().filter_map(Result::ok).find(|a| a.delivery == reflect).unwrap();
    assert_eq!(
        answer.kind,
        AnswerKind::Reflect { question: 0, text: "first answer\none more thought".to_owned(), shared: false }
    );
}

#[test]
fn practice_check_ins_record_the_outcome_and_a_note() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let check = service
        .store()
        .with_learner(LearnerId::new(7), |tx| {
            let learner = tx.learner()?;
            let mut outcome = Outcome::default();
            outcome.drafts.push(Draft::content(Purpose::PracticeCheck { item: item("one/practice") }));
            let pack = service.pack_of("desk");
            service.commit(tx, learner, outcome, Commit { pack: pack.as_deref(), slot: None, now: now() })
        })
        .unwrap()[0];
    assert!(html(&service, 7, check).contains("How did it go?"));
    let handled = press(&service, 7, &data_of(&service, 7, check, 1), 20);
    assert!(handled.recorded_answer);
    assert!(html(&service, 7, handled.to_send[0]).contains("Your answer: Partly"));
    let note = say(&service, 7, "tried it twice");
    assert!(html(&service, 7, note.to_send[0]).contains("Thanks for sharing"));
    let kinds: Vec<AnswerKind> = service.store().answers().map(|a| a.unwrap().kind).collect();
    assert_eq!(
        kinds,
        [
            AnswerKind::Practice { outcome: PracticeOutcome::Partly },
            AnswerKind::PracticeNote { text: "tried it twice".to_owned() }
        ]
    );
}

#[test]
fn text_without_an_open_question_gets_a_hint() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let handled = say(&service, 7, "hello?");
    assert!(!handled.recorded_answer);
    assert!(html(&service, 7, handled.to_send[0]).contains("not waiting for an answer"));
    let stranger = say(&service, 9, "hello?");
    assert!(html(&service, 9, stranger.to_send[0]).contains("haven't joined"));
}

#[test]
fn pause_and_resume_move_the_next_nudge() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let paused = say(&service, 7, "/pause 7");
    assert!(html(&service, 7, paused.to_send[0]).contains("Paused until 30-11-2026"));
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-12-01T08:00:00Z"));
    say(&service, 7, "/pause");
    assert_eq!(learner(&service, 7).next_nudge, None, "paused until /resume");
    let resumed = say(&service, 7, "/resume");
    assert!(html(&service, 7, resumed.to_send[0]).contains("Welcome back"));
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-11-24T08:00:00Z"));
    assert!(html(&service, 7, say(&service, 7, "/pause soon").to_send[0]).contains("number of days"));
}

#[test]
fn time_sets_the_learners_own_hour_inside_the_allowed_window() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let set = say(&service, 7, "/time 07:30");
    assert!(html(&service, 7, set.to_send[0]).contains("now come at 07:30"));
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-11-24T06:30:00Z"));
    let quiet = say(&service, 7, "/time 23:00");
    assert!(html(&service, 7, quiet.to_send[0]).contains("quiet hours"));
    let zone = say(&service, 7, "/time 08:00 Europe/London");
    assert!(html(&service, 7, zone.to_send[0]).contains("Europe/London"));
    assert_eq!(learner(&service, 7).next_nudge.unwrap().at, at("2026-11-24T08:00:00Z"));
    assert!(html(&service, 7, say(&service, 7, "/time 8:00 Mars/Base").to_send[0]).contains("Mars/Base"));
    say(&service, 7, "/time default");
    assert_eq!(learner(&service, 7).prefs, crate::domain::Prefs::default());
}

#[test]
fn language_can_be_chosen_by_argument_or_button() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let dutch = say(&service, 7, "/language nl");
    assert!(html(&service, 7, dutch.to_send[0]).contains("Nederlands"));
    let choice = say(&service, 7, "/language");
    let danish = data_of(&service, 7, choice.to_send[0], 2);
    press(&service, 7, &danish, 30);
    assert_eq!(learner(&service, 7).lang, Lang::Da);
    assert!(html(&service, 7, say(&service, 7, "/help").to_send[0]).contains("Jeg sender dig"));
}

#[test]
fn progress_shows_own_figures_only() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    answer(&service, 7, &data_of(&service, 7, seqs[1], 1), 10);
    let text = html(&service, 7, say(&service, 7, "/progress").to_send[0]);
    assert!(text.contains("Lessons: 0 of 2"), "the first lesson is not finished yet: {text}");
    assert!(text.contains("Days active: 1"), "{text}");
    assert!(text.contains("Quizzes mastered: 0 of 2"), "{text}");
}

#[test]
fn inactive_learners_are_not_scheduled_until_they_start_again() {
    let service = service();
    say(&service, 7, "/start JOIN");
    deliveries::deactivate(&**service.store(), id(7), "blocked", now()).unwrap();
    assert_eq!(learner(&service, 7).next_nudge, None);
    assert_eq!(service.store().n_agenda(), 0);
    let back = say(&service, 7, "/start");
    assert!(html(&service, 7, back.to_send[0]).contains("Welcome back"));
    assert!(learner(&service, 7).next_nudge.is_some());
}

#[test]
fn rebuilding_the_agenda_keeps_overdue_entries_for_catch_up() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let due = learner(&service, 7).next_nudge.unwrap();
    let later = due.at + chrono::Duration::days(3);
    assert_eq!(service.rebuild_agenda(later).unwrap(), 0, "an overdue entry stays as it is");
    let due_now = service.store().due_agenda(later, 10).unwrap();
    assert_eq!(due_now, vec![(LearnerId::new(7), due.clone())]);
    assert_eq!(service.nudge_due(LearnerId::new(7), &due, later).unwrap().len(), 2, "one nudge for the missed days");
    assert!(service.store().due_agenda(later, 10).unwrap().is_empty());
}

#[test]
fn mydata_exports_everything_and_forget_erases_it_after_confirmation() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    answer(&service, 7, &data_of(&service, 7, seqs[1], 1), 10);
    say(&service, 7, "a private thought");
    let export = say(&service, 7, "/mydata").to_send[0];
    match service.store().delivery(LearnerId::new(7), export).unwrap().unwrap().outgoing.unwrap() {
        Outgoing::Document { content, file_name, .. } => {
            assert_eq!(file_name, "my-nudge-data.json");
            assert!(content.contains("a private thought") && content.contains("\"cohort\": \"desk\""));
            assert!(content.contains("\"confidence\": \"sure\""), "how sure they were, with the answer: {content}");
        }
        other => panic!("not a file: {other:?}"),
    }
    let question = say(&service, 7, "/forget").to_send[0];
    assert!(html(&service, 7, question).contains("cannot be undone"));
    let kept = press(&service, 7, &data_of(&service, 7, question, 1), 99);
    assert!(html(&service, 7, kept.to_send[0]).contains("Nothing was erased"));
    assert!(service.store().learner(LearnerId::new(7)).unwrap().is_some());
    let erased = press(&service, 7, &data_of(&service, 7, question, 0), 99);
    assert_eq!(erased.toast.as_deref(), Some("Erased"));
    assert!(erased.to_send.is_empty(), "the goodbye is not recorded");
    assert!(matches!(&erased.direct[..], [Outgoing::Edit { message_id: 99, .. }]));
    assert!(service.store().learner(LearnerId::new(7)).unwrap().is_none());
    assert_eq!(service.store().export(LearnerId::new(7)).unwrap().answers.len(), 0);
}

#[test]
fn a_reflection_is_shared_only_when_the_learner_says_so() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    answer(&service, 7, &data_of(&service, 7, seqs[1], 1), 10);
    let thanks = say(&service, 7, "team idea").to_send[0];
    let stored = |service: &Service| match service.store().answers().last().unwrap().unwrap().kind {
        AnswerKind::Reflect { shared, .. } => shared,
        _ => panic!("not a reflection"),
    };
    assert!(!stored(&service), "private by default");
    let shared = press(&service, 7, &data_of(&service, 7, thanks, 0), 50);
    assert!(html(&service, 7, shared.to_send[0]).contains("Shared with your team, without your name"));
    assert!(stored(&service));
    assert_eq!(
        press(&service, 8, &data_of(&service, 7, thanks, 0), 50).toast.as_deref(),
        Some("This button no longer works.")
    );
}

/// A service with two cohorts on the demo pack: `desk` (invite `JOIN`) and `sales` (`SELL`).
fn two_cohorts() -> Service {
    let text = "[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\n\n[[cohorts]]\nid = \"sales\"\npack = \"demo\"\ninvite = \"SELL\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\n";
    let settings = Settings::parse(text, std::path::Path::new("test.toml")).unwrap();
    Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings), library(demo_pack()))
}

#[test]
fn a_second_invite_asks_before_moving_and_no_keeps_everything() {
    let service = two_cohorts();
    enrolled_and_nudged(&service, 7);
    let before = learner(&service, 7);
    let question = say(&service, 7, "/start SELL").to_send[0];
    assert!(html(&service, 7, question).contains("Your answers so far stay counted in your old group"));
    assert_eq!(learner(&service, 7).progress, before.progress, "nothing moves before the answer");
    let kept = press(&service, 7, &data_of(&service, 7, question, 1), 40);
    assert!(html(&service, 7, kept.to_send[0]).contains("Nothing changed"));
    assert_eq!(learner(&service, 7), before);
    let stale = press(&service, 7, &data_of(&service, 7, question, 0), 40);
    assert_eq!(stale.toast.as_deref(), Some("This button no longer works."));
    assert_eq!(learner(&service, 7), before, "an answered question finds nothing");
}

#[test]
fn yes_moves_the_learner_and_forged_or_older_questions_find_nothing() {
    let service = two_cohorts();
    enrolled_and_nudged(&service, 7);
    let first = say(&service, 7, "/start SELL").to_send[0];
    let second = say(&service, 7, "/start SELL").to_send[0];
    let older = press(&service, 7, &data_of(&service, 7, first, 0), 40);
    assert_eq!(older.toast.as_deref(), Some("This button no longer works."));
    let forged = press(&service, 8, &data_of(&service, 7, second, 0), 41);
    assert_eq!(forged.toast.as_deref(), Some("This button no longer works."));
    assert_eq!(learner(&service, 7).cohort, "desk");
    let moved = press(&service, 7, &data_of(&service, 7, second, 0), 41);
    assert!(html(&service, 7, moved.to_send[0]).contains("You switched from Demo pack to <b>Demo pack</b>"));
    let after = learner(&service, 7);
    assert_eq!((after.cohort.as_str(), after.pending_move.is_none()), ("sales", true));
    assert!(after.progress.lessons_started.is_empty(), "the new programme starts from the beginning");
}

#[test]
fn a_welcome_too_long_for_one_message_comes_whole_in_several() {
    let mut pack = demo_pack();
    pack.description = (1..=400).map(|n| format!("Paragraph {n} of a long description.\n\n")).collect();
    let service = Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings()), library(pack));
    let handled = say(&service, 7, "/start JOIN");
    let parts: Vec<String> = handled.to_send.iter().map(|&seq| html(&service, 7, seq)).collect();
    assert_eq!(parts.len(), 5, "four parts of the welcome and the privacy notice");
    assert!(parts.iter().all(|part| crate::render::visible_len(&crate::render::text(part.clone())) <= 4096));
    assert!(parts[0].starts_with("Welcome, Learner7!") && parts[3].contains("Your first nudge comes"), "{parts:?}");
    let all = parts.concat();
    assert!((1..=400).all(|n| all.contains(&format!("Paragraph {n} of"))), "nothing is lost");
}

#[test]
fn answers_past_what_nudge_keeps_are_cut_with_a_word_to_the_learner() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    let reflect = answer(&service, 7, &data_of(&service, 7, seqs[1], 1), 10).to_send[1];
    deliveries::mark_sent(&**service.store(), id(7), reflect, 55, now()).unwrap();
    let long = "x".repeat(4000);
    let first = reply(&service, 7, &long, 55);
    assert_eq!(first.to_send.len(), 2, "thanks and the next question, nothing about length");
    for _ in 0..3 {
        assert!(!html(&service, 7, reply(&service, 7, &long, 55).to_send[0]).contains("kept the first"));
    }
    let past = reply(&service, 7, &long, 55);
    let said: Vec<String> = past.to_send.iter().map(|&seq| html(&service, 7, seq)).collect();
    assert!(said.iter().any(|text| text.contains("so I kept the first 16384")), "{said:?}");
    let answer = service.store().answers().filter_map(Result::ok).find(|a| a.delivery == reflect).unwrap();
    let AnswerKind::Reflect { text, .. } = answer.kind else { panic!("a reflection") };
    assert_eq!(text.chars().count(), 16_384);
}

#[test]
fn an_admins_report_just_after_midnight_is_dated_in_the_cohorts_zone_and_language() {
    let service = service();
    // 00:30 on 11 March in Amsterdam, still 10 March in UTC.
    let just_after_midnight = at("2026-03-10T23:30:00Z");
    let asked = AdminReport {
        admin: LearnerId::new(7),
        lang: Lang::Nl,
        request: crate::report::from_store::ReportRequest::default(),
    };
    let sent = service.admin_report(&asked, just_after_midnight);
    let Some(Outgoing::Send { message }) = sent.first() else { panic!("no summary: {sent:?}") };
    let heading = crate::i18n::fill(Lang::Nl, "admin.report_heading", &[("date", "2026-03-11")]);
    assert!(message.html.starts_with(&heading), "{}", message.html);
    let Some(Outgoing::Document { file_name, caption, content }) = sent.get(1) else { panic!("no file: {sent:?}") };
    assert_eq!(file_name, "nudge-report-2026-03-11.html");
    assert!(caption.contains("2026-03-11"), "{caption}");
    assert!(content.starts_with("<!DOCTYPE html>\n<html lang=\"nl\">"), "{content}");
    assert!(content.contains("<title>Betrokkenheidsrapport, 2026-03-11</title>"), "{content}");
    assert!(content.contains("Gemaakt 11 maart 2026, 00:30 Europe/Amsterdam"), "{content}");
    assert!(!content.contains("Engagement report"), "{content}");
}

#[test]
fn a_lesson_too_long_for_one_message_keeps_its_parts_in_order_and_the_learner_waits_on_its_quiz() {
    let body: String = (1..=300).map(|n| format!("Paragraph {n} of a long lesson.\n\n")).collect();
    let long = crate::testkit::LESSON_ONE.replace("Body of <one>.\n", &body);
    let pack = crate::testkit::pack(&[&long, crate::testkit::LESSON_TWO]);
    let service = Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings()), library(pack));
    let sent = enrolled_and_nudged(&service, 7);
    assert!(sent.len() > 2, "the lesson comes in parts, then its quiz: {sent:?}");
    assert!(sent.windows(2).all(|pair| pair[1].get() == pair[0].get() + 1), "numbered in sending order: {sent:?}");
    let quiz = *sent.last().unwrap();
    let purpose = service.store().delivery(id(7), quiz).unwrap().unwrap().purpose;
    assert!(matches!(purpose, Purpose::Quiz { .. }), "{purpose:?}");
    assert_eq!(learner(&service, 7).progress.waiting.unwrap().delivery, quiz);
    let answered = answer(&service, 7, &data_of(&service, 7, quiz, 1), 10);
    assert!(html(&service, 7, answered.to_send[1]).contains("First?"), "the lesson goes on");
}
