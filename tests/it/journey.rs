//! A learner's whole journey: enrol, get a scheduled lesson and quiz, answer with a button and
//! say how sure, reflect in free text, and find it all in the store.

use fake_telegram::TgUser;
use nudge::domain::{Answer, AnswerKind, Confidence, DeliveryState, Purpose};

use crate::helpers::{TestOptions, WAIT, spawn_app, spawn_app_with, texts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_enrols_learns_answers_and_reflects() {
    let app = spawn_app().await;
    let ann = TgUser::new(42);

    // Enrol.
    app.learner_says(&ann, "/start JOIN");
    let welcome = app.messages(42, 2).await;
    assert!(welcome[0].plain_text.contains("Welcome, Learner 42!"), "{:?}", texts(&welcome));
    assert!(welcome[1].plain_text.contains("Your data"));

    // The scheduled slot: lesson and quiz, HTML specials intact.
    let due = app.next_nudge(42);
    assert_eq!(app.tick_at(due).await, 1);
    let sent = app.messages(42, 4).await;
    let lesson = &sent[2];
    assert_eq!(lesson.parse_mode.as_deref(), Some("HTML"));
    assert!(lesson.plain_text.contains("Q&A in <2 minutes> & more."), "{}", lesson.plain_text);
    let quiz = &sent[3];
    assert_eq!(quiz.button_labels(), ["Be nice", "Fewer repeat calls"]);

    // Answer with a button: the press is answered without a verdict, recorded once, and the quiz
    // asks in place how sure the learner is; nothing else comes yet.
    let first = app.press(&ann, "Fewer repeat calls");
    app.confirmed(first).await;
    let asking = app.messages(42, 4).await;
    let asked = asking.iter().find(|m| m.message_id == quiz.message_id).unwrap();
    assert!(
        asked.plain_text.ends_with("Which is a goal?\n\nYour answer: Fewer repeat calls\n\nHow sure are you?"),
        "{}",
        asked.plain_text
    );
    assert_eq!(asked.button_labels(), ["Sure", "Not sure"]);
    assert!(app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 1).await);
    assert_eq!(app.fake.callback_answers()[0].text, None, "no verdict before the confidence");
    let recorded = app.service.store().answers().filter_map(Result::ok).collect::<Vec<_>>();
    assert!(matches!(recorded[..], [Answer { kind: AnswerKind::Quiz { confidence: None, .. }, .. }]));

    // "Not sure": the verdict replaces the buttons, and the lesson goes on.
    app.press(&ann, "Not sure");
    let after = app.messages(42, 5).await;
    let answered_quiz = after.iter().find(|m| m.message_id == quiz.message_id).unwrap();
    assert!(answered_quiz.buttons.is_empty(), "buttons are replaced by the verdict");
    assert!(
        answered_quiz.plain_text.contains("✅ Right!\nYou weren't sure, so it will come back a little sooner.")
            && answered_quiz.plain_text.contains("A goal you can measure."),
        "{}",
        answered_quiz.plain_text
    );
    assert!(app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 2).await);
    assert_eq!(app.fake.callback_answers()[1].text.as_deref(), Some("✅ Right!"));
    assert!(after[4].plain_text.contains("What went well?"), "{:?}", texts(&after));

    // Reflect: two answers, the chain goes on, then the practice assignment.
    app.learner_says(&ann, "I solved a billing issue in one call");
    let chain = app.messages(42, 7).await;
    assert!(chain[5].plain_text.contains("Thanks, noted."));
    assert!(chain[6].plain_text.contains("What will you try?"));
    let last = app.learner_says(&ann, "Ask more questions");
    let end = app.messages(42, 9).await;
    assert!(end[8].plain_text.contains("Ask one customer what they need."), "{:?}", texts(&end));
    app.confirmed(last).await;
    assert_eq!(app.metrics.answers.get(), 3, "one quiz and two reflection answers counted");

    // The store has it all, once.
    let store = app.service.store();
    let answers: Vec<_> = store.answers().collect::<Result<_, _>>().unwrap();
    assert_eq!(answers.len(), 3);
    let not_sure = Some(Confidence::NotSure);
    assert!(matches!(
        answers[0].kind,
        AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence } if confidence == not_sure
    ));
    assert!(matches!(&answers[1].kind, AnswerKind::Reflect { question: 0, text, .. } if text.contains("billing")));
    let sent_prompts = |service: &nudge::service::Service| {
        let deliveries = service.store().deliveries().filter_map(Result::ok);
        deliveries.filter(|d| d.purpose.is_prompt() && matches!(d.state, DeliveryState::Sent { .. })).count()
    };
    app.eventually("lesson, quiz, two reflection questions and practice recorded as sent", |service| {
        sent_prompts(service) == 5
    })
    .await;
    assert!(store.deliveries().filter_map(Result::ok).any(|d| matches!(d.purpose, Purpose::Practice { .. })));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_without_confidence_answers_a_quiz_in_one_tap() {
    let options = TestOptions { cohort_extra: "confidence = false\n".to_owned(), ..TestOptions::default() };
    let app = spawn_app_with(options).await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    let quiz = app.messages(42, 4).await[3].clone();

    app.press(&ann, "Fewer repeat calls");

    let after = app.messages(42, 5).await;
    let answered = after.iter().find(|m| m.message_id == quiz.message_id).unwrap();
    assert!(answered.buttons.is_empty() && answered.plain_text.contains("✅ Right!"), "{}", answered.plain_text);
    assert!(!answered.plain_text.contains("How sure"), "{}", answered.plain_text);
    assert!(after[4].plain_text.contains("What went well?"), "{:?}", texts(&after));
    assert!(app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 1).await);
    assert_eq!(app.fake.callback_answers()[0].text.as_deref(), Some("✅ Right!"));
    app.stop().await;
}
