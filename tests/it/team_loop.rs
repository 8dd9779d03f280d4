//! The whole team loop through the chat, both sides at once: learners answer the weekly team
//! question and choose to share, one sends an idea, the lead's digest carries exactly what was
//! shared (and no names), the next regular slot brings "from your colleagues" once, and an
//! author who asks to be forgotten is gone from the next digest.

use fake_telegram::TgUser;

use crate::helpers::{TestApp, TestOptions, WAIT, spawn_app_with, texts};

const LEAD: i64 = 555_000_222;
const FIRST: i64 = 987_650_001;

/// A cohort with a lead invite, a digest ticked by hand, and the team question at the same
/// slot as the lessons (09:00 every day).
async fn app() -> TestApp {
    spawn_app_with(TestOptions {
        cohort_extra: "lead_invite = \"LEAD-1\"\ndigest = \"*/2 * * * * *\"\n".to_owned(),
        team_question_schedule: "0 9 * * *".to_owned(),
        team: true,
        ..TestOptions::default()
    })
    .await
}

/// The texts chat `id` got that contain `needle`.
fn count_containing(app: &TestApp, id: i64, needle: &str) -> usize {
    app.fake.sent_to(id).iter().filter(|message| message.plain_text.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_team_answers_and_an_idea_reach_the_digest_and_colleagues_once_and_forget_removes_them() {
    let app = app().await;
    let lead = TgUser::new(LEAD);
    app.learner_says(&lead, "/start LEAD-1");
    app.messages(LEAD, 2).await;
    let team: Vec<TgUser> = (0..6).map(|idx| TgUser::new(FIRST + idx)).collect();
    for learner in &team {
        app.enrol(learner).await;
    }
    let due = team.iter().map(|learner| app.next_nudge(learner.id)).max().expect("six learners");
    assert_eq!(app.tick_at(due).await, 6);
    for learner in &team {
        let sent = app.messages(learner.id, 5).await;
        assert!(sent[2].plain_text.contains("A question for the team"), "{:?}", texts(&sent));
    }

    let answers = ["I called a customer back before they asked", "We fixed a billing error in one call"];
    for (learner, answer) in team.iter().zip(answers) {
        app.learner_says(learner, answer);
        app.messages(learner.id, 6).await;
        let update = app.press(learner, "Share, without my name");
        app.confirmed(update).await;
    }
    app.learner_says(&team[2], "Kept between me and the customer");
    app.messages(team[2].id, 6).await;
    let update = app.press(&team[2], "Keep it to myself");
    app.confirmed(update).await;
    app.learner_says(&team[3], "/idea A shared list of answers to the questions customers ask most");
    assert!(app.messages(team[3].id, 6).await[5].plain_text.contains("Your idea goes to your team lead"));

    let first_slot = chrono::Utc::now() + chrono::Duration::seconds(2);
    assert_eq!(app.digest_at(first_slot).await, 1);
    let digest = app.messages(LEAD, 4).await[2].plain_text.clone();
    assert!(digest.contains("Shared by the team (2, without names)"), "{digest}");
    for expected in [answers[0], answers[1], "A shared list of answers to the questions customers ask most"] {
        assert!(digest.contains(expected), "{expected:?} missing from: {digest}");
    }
    assert!(!digest.contains("Kept between me"), "a kept answer stays with its author: {digest}");
    for learner in &team {
        assert!(!digest.contains(&learner.first_name) && !digest.contains(&learner.id.to_string()), "{digest}");
    }

    let next = team.iter().map(|learner| app.next_nudge(learner.id)).max().expect("six learners");
    app.tick_at(next).await;
    for learner in &team {
        let arrived = app.fake.wait_until(WAIT, |_| count_containing(&app, learner.id, "From your colleagues") == 1);
        assert!(arrived.await, "{}: {:?}", learner.id, texts(&app.fake.sent_to(learner.id)));
    }
    let colleagues: Vec<String> = app.fake.sent_to(team[5].id).iter().map(|m| m.plain_text.clone()).collect();
    let message = colleagues.iter().find(|text| text.contains("From your colleagues")).expect("the message");
    assert!(message.contains(answers[0]) && message.contains(answers[1]) && !message.contains("Kept between"));
    let later = team.iter().map(|learner| app.next_nudge(learner.id)).max().expect("six learners");
    app.tick_at(later).await;
    app.at_least(team[5].id, colleagues.len() + 1).await;
    for learner in &team {
        assert_eq!(count_containing(&app, learner.id, "From your colleagues"), 1, "never twice for one edition");
    }

    // After the digest: one learner shares a new answer and then asks to be forgotten; another
    // shares one too. The next digest has the second and not the first. (The first digest was
    // taken at a slot a moment ahead: what comes next must come after it, by the clock too.)
    while chrono::Utc::now() <= first_slot {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    share_new_answer(&app, &team[4], "Gone with me").await;
    let before = app.fake.sent_to(team[4].id).len();
    app.learner_says(&team[4], "/forget");
    let asked = app.fake.wait_until(WAIT, |fake| fake.sent_to(team[4].id).len() > before);
    assert!(asked.await, "{:?}", texts(&app.fake.sent_to(team[4].id)));
    let update = app.press(&team[4], "Yes, erase everything");
    app.confirmed(update).await;
    app.eventually("the author is erased", |service| {
        service.store().learner(nudge::domain::LearnerId::new(team[4].id)).ok().flatten().is_none()
    })
    .await;
    share_new_answer(&app, &team[1], "Listening first, then the fix").await;
    // A slot surely after the first digest's (the cron fires every 2 s).
    assert_eq!(app.digest_at(chrono::Utc::now() + chrono::Duration::seconds(6)).await, 1);
    let second = app.messages(LEAD, 6).await[4].plain_text.clone();
    assert!(second.contains("Shared by the team (1, without names)\n• Listening first, then the fix"), "{second}");
    assert!(!second.contains("Gone with me"), "the forgotten author's answer is gone: {second}");
    app.stop().await;
}

/// `learner` replies to their newest team question with `answer` (a Telegram reply: a
/// reflection asked after it would otherwise take plain text) and shares it.
async fn share_new_answer(app: &TestApp, learner: &TgUser, answer: &str) {
    let asked_before = count_containing(app, learner.id, "Share your answer");
    let sent = app.fake.sent_to(learner.id);
    let question =
        sent.iter().rev().find(|m| m.plain_text.contains("A question for the team")).expect("a team question");
    app.fake.user_replies(learner, question.message_id, answer);
    let asked = app.fake.wait_until(WAIT, |_| count_containing(app, learner.id, "Share your answer") > asked_before);
    assert!(asked.await, "{:?}", texts(&app.fake.sent_to(learner.id)));
    let update = app.press(learner, "Share, without my name");
    app.confirmed(update).await;
    app.eventually("the answer is shared", |service| {
        service.store().notes().filter_map(Result::ok).any(|note| note.text == answer && note.shared)
    })
    .await;
}
