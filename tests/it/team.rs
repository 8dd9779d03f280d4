//! The learner's side of the team loop against the fake Bot API: the weekly team question at its
//! slot, the answer and the choice to share it, free text with a reflection open, `/idea` with
//! and without a lead, "from your colleagues" once per edition without an erased author's
//! answer, the new privacy notice once for a learner from before it, and `/mydata` and
//! `/forget` over ideas and team answers.

use chrono::Utc;
use fake_telegram::TgUser;
use nudge::domain::{AnswerKind, CohortState, ColleaguesEdition, DeliverySeq, Lead, LearnerId, Note, NoteKind};
use nudge::i18n::Lang;
use nudge::store::StorageExt;

use crate::helpers::{TestApp, TestOptions, WAIT, distant_schedule, spawn_app_with, texts};

/// Team questions every day at 09:00, and no regular slot a test could reach: each tick brings
/// the team question alone.
async fn team_questions_only() -> TestApp {
    spawn_app_with(TestOptions {
        schedule: distant_schedule(),
        team_question_schedule: "0 9 * * *".to_owned(),
        ..TestOptions::default()
    })
    .await
}

/// The notes of learner `id` in the store.
fn notes_of(app: &TestApp, id: i64) -> Vec<Note> {
    let notes = app.service.store().notes().filter_map(Result::ok);
    notes.filter(|note| note.learner == LearnerId::new(id)).collect()
}

/// Makes learner `id` a lead of the test cohort, through the store.
fn seed_lead(app: &TestApp, id: i64) {
    let lead = Lead {
        id: LearnerId::new(id),
        name: "Lee".to_owned(),
        lang: Lang::En,
        cohorts: vec!["desk".to_owned()],
        joined_at: Utc::now(),
    };
    app.service.store().transact(LearnerId::new(id), &mut |tx| tx.put_lead(&lead)).expect("the lead is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_question_comes_at_its_slot_once_and_a_shared_answer_is_kept_without_a_name() {
    let app = team_questions_only().await;
    let ann = TgUser::new(51);
    app.enrol(&ann).await;
    let learner = app.service.store().learner(LearnerId::new(51)).unwrap().unwrap();
    let due = learner.next_nudge.expect("the team question is scheduled");
    assert!(due.slot.starts_with("team:"), "{}", due.slot);

    assert_eq!(app.tick_at(due.at).await, 1);
    let sent = app.messages(51, 3).await;
    assert!(sent[2].plain_text.contains("How did you positively surprise a customer this week?"), "{:?}", texts(&sent));
    assert_eq!(app.tick_at(due.at).await, 0, "the slot is claimed once");

    app.learner_says(&ann, "I fixed a <billing> error before the customer noticed");
    let sent = app.messages(51, 4).await;
    assert!(sent[3].plain_text.contains("Share your answer with your team?"));
    assert_eq!(sent[3].button_labels(), ["🤝 Share, without my name", "Keep it to myself"]);
    let update = app.press(&ann, "Share, without my name");
    app.confirmed(update).await;
    let shared = app.fake.wait_until(WAIT, |fake| {
        fake.sent_to(51).get(3).is_some_and(|m| m.plain_text.contains("Shared with your team") && m.buttons.is_empty())
    });
    assert!(shared.await, "the choice replaces the buttons: {:?}", texts(&app.fake.sent_to(51)));
    app.messages(51, 4).await;

    let notes = notes_of(&app, 51);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].kind, notes[0].shared), (NoteKind::TeamAnswer, true));
    assert_eq!(notes[0].text, "I fixed a <billing> error before the customer noticed");
    assert_eq!(app.service.store().answers().count(), 0, "a team answer is a note, not a lesson answer");

    let next_day = app.next_nudge(51);
    app.tick_at(next_day).await;
    let sent = app.messages(51, 5).await;
    assert!(sent[4].plain_text.contains("A question for the team"), "the next slot's question");
    app.stop().await;
}

/// A team question every day at the same time as the lesson slot: one entry brings both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_reflection_open_text_answers_the_newest_question_and_a_reply_the_team_question() {
    let app =
        spawn_app_with(TestOptions { team_question_schedule: "0 9 * * *".to_owned(), ..TestOptions::default() }).await;
    let ann = TgUser::new(52);
    app.enrol(&ann).await;
    assert_eq!(app.tick_at(app.next_nudge(52)).await, 1);
    let sent = app.messages(52, 5).await;
    assert!(sent[2].plain_text.contains("A question for the team"), "{:?}", texts(&sent));
    assert!(sent[3].plain_text.contains("What for?") && !sent[4].buttons.is_empty(), "{:?}", texts(&sent));

    // The next day: the team question again, then the lesson goes on to its reflection, which
    // is the newest question.
    assert_eq!(app.tick_at(app.next_nudge(52)).await, 1);
    let sent = app.messages(52, 7).await;
    assert!(sent[5].plain_text.contains("A question for the team"), "{:?}", texts(&sent));
    assert!(sent[6].plain_text.contains("What went well?"), "{:?}", texts(&sent));
    let team_question = sent[5].message_id;

    app.learner_says(&ann, "I kept my promise to call back");
    let sent = app.messages(52, 9).await;
    assert!(sent[7].plain_text.contains("Thanks, noted.") && sent[8].plain_text.contains("What will you try?"));
    let update = app.fake.user_replies(&ann, team_question, "A customer got a refund before asking");
    let sent = app.messages(52, 10).await;
    assert!(sent[9].plain_text.contains("Share your answer"), "{:?}", texts(&sent));
    app.confirmed(update).await;

    let answers: Vec<_> = app.service.store().answers().collect::<Result<_, _>>().unwrap();
    let reflections: Vec<&str> = answers
        .iter()
        .filter_map(|answer| match &answer.kind {
            AnswerKind::Reflect { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reflections, ["I kept my promise to call back"]);
    let notes = notes_of(&app, 52);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].text.as_str(), notes[0].shared), ("A customer got a refund before asking", false));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_colleagues_message_comes_once_with_at_most_three_answers_and_none_of_an_erased_author() {
    let app = spawn_app_with(TestOptions::default()).await;
    let learners: Vec<TgUser> = (71..=75).map(TgUser::new).collect();
    for learner in &learners {
        app.enrol(learner).await;
    }
    let mut answers = Vec::new();
    for id in 71..=74 {
        let note = Note {
            learner: LearnerId::new(id),
            delivery: DeliverySeq::new(1_000 + id as u64),
            cohort: "desk".to_owned(),
            at: Utc::now(),
            kind: NoteKind::TeamAnswer,
            text: format!("example {id}"),
            shared: true,
        };
        app.service.store().with_learner(LearnerId::new(id), |tx| tx.put_note(&note)).unwrap();
        answers.push((note.learner, note.delivery));
    }
    answers.reverse();
    answers.truncate(3);
    let edition = ColleaguesEdition { made_at: Utc::now(), answers };
    let state = CohortState { colleagues: Some(edition), ..CohortState::default() };
    app.service.store().put_cohort_state("desk", &state).unwrap();

    app.learner_says(&learners[2], "/forget");
    app.messages(73, 3).await;
    let update = app.press(&learners[2], "Yes, erase everything");
    app.confirmed(update).await;
    assert!(notes_of(&app, 73).is_empty(), "the author's answer is erased with them");

    let due = [71, 72, 74, 75].map(|id| app.next_nudge(id)).into_iter().max().unwrap();
    assert_eq!(app.tick_at(due).await, 4);
    for id in [71, 72, 74, 75] {
        let sent = app.messages(id, 5).await;
        let colleagues = &sent[2];
        assert!(colleagues.plain_text.contains("From your colleagues"), "{id}: {:?}", texts(&sent));
        assert!(colleagues.plain_text.contains("example 74") && colleagues.plain_text.contains("example 72"));
        assert!(!colleagues.plain_text.contains("example 73"), "the erased author's answer is left out");
        assert!(!colleagues.plain_text.contains("example 71"), "at most three answers were picked");
        assert!(!colleagues.plain_text.contains("Learner"), "no names: {}", colleagues.plain_text);
        assert!(sent[3].plain_text.contains("What for?"), "the lesson follows within the cap");
    }
    let next_day = [71, 72, 74, 75].map(|id| app.next_nudge(id)).into_iter().max().unwrap();
    app.tick_at(next_day).await;
    for id in [71, 72, 74, 75] {
        let sent = app.messages(id, 6).await;
        let editions = sent.iter().filter(|m| m.plain_text.contains("From your colleagues")).count();
        assert_eq!(editions, 1, "{id}: never twice for one edition: {:?}", texts(&sent));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_from_before_the_new_notice_gets_it_once_with_their_next_message() {
    let app = spawn_app_with(TestOptions::default()).await;
    let ann = TgUser::new(81);
    app.enrol(&ann).await;
    app.service
        .store()
        .with_learner(LearnerId::new(81), |tx| {
            let mut learner = tx.learner()?.expect("enrolled");
            learner.notice_version = 0;
            tx.put_learner(&learner)
        })
        .unwrap();

    app.learner_says(&ann, "/progress");
    let sent = app.messages(81, 4).await;
    assert!(sent[2].plain_text.contains("Lessons:"), "{:?}", texts(&sent));
    assert!(sent[3].plain_text.contains("What's new") && sent[3].plain_text.contains("fewer than 5 people"));
    app.learner_says(&ann, "/progress");
    let sent = app.messages(81, 5).await;
    assert_eq!(sent.iter().filter(|m| m.plain_text.contains("What's new")).count(), 1, "once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ideas_need_a_lead_and_with_team_answers_are_in_mydata_and_gone_after_forget() {
    let app = team_questions_only().await;
    let ann = TgUser::new(91);
    app.enrol(&ann).await;
    app.learner_says(&ann, "/idea more headsets for the evening shift");
    let sent = app.messages(91, 3).await;
    assert!(sent[2].plain_text.contains("no lead in nudge yet"), "{:?}", texts(&sent));
    assert!(notes_of(&app, 91).is_empty(), "kept nowhere");

    seed_lead(&app, 99);
    let update = app.learner_says(&ann, "/idea more headsets for the evening shift");
    let sent = app.messages(91, 4).await;
    assert!(sent[3].plain_text.contains("next weekly digest, without your name"));
    app.confirmed(update).await;
    assert!(app.fake.sent_to(99).is_empty(), "never a message to the lead in real time");

    app.tick_at(app.next_nudge(91)).await;
    app.messages(91, 5).await;
    app.learner_says(&ann, "A customer laughed at the end of the call");
    app.messages(91, 6).await;
    app.press(&ann, "Keep it to myself");
    let kept = app.fake.wait_until(WAIT, |fake| fake.sent_to(91).get(5).is_some_and(|m| m.plain_text.contains("Kept")));
    assert!(kept.await);

    app.learner_says(&ann, "/mydata");
    let sent = app.messages(91, 7).await;
    let document = sent[6].document.clone().expect("a file");
    let export: serde_json::Value = serde_json::from_str(document.content_utf8().expect("text")).expect("JSON");
    let notes = export["team_notes"].as_array().expect("team notes in the export");
    let kinds: Vec<(&str, &str, bool)> = notes
        .iter()
        .map(|note| (note["kind"].as_str().unwrap(), note["text"].as_str().unwrap(), note["shared"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("idea", "more headsets for the evening shift", false),
            ("team_answer", "A customer laughed at the end of the call", false)
        ]
    );

    app.learner_says(&ann, "/forget");
    app.messages(91, 8).await;
    let update = app.press(&ann, "Yes, erase everything");
    app.confirmed(update).await;
    assert!(notes_of(&app, 91).is_empty(), "ideas and team answers are erased");
    assert!(app.service.store().notes().next().is_none());
    app.stop().await;
}
