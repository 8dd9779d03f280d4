//! Admin commands over Telegram: `/report` gives configured admins a summary and the HTML
//! report as a file; every admin command refuses everyone else, enrolled or not.

use fake_telegram::TgUser;

use crate::helpers::{spawn_app, texts};

/// The admin in the test config.
const ADMIN: i64 = 1000;
/// Every command only admins may use.
const ADMIN_COMMANDS: &[&str] = &["/report", "/report desk", "/report@nudge_bot"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_command_refuses_learners_and_strangers() {
    let app = spawn_app().await;
    let (learner, stranger) = (TgUser::new(43), TgUser::new(44));
    app.enrol(&learner).await;
    for (n, command) in ADMIN_COMMANDS.iter().enumerate() {
        for (user, before) in [(&learner, 2), (&stranger, 0)] {
            app.learner_says(user, command);
            let sent = app.messages(user.id, before + n + 1).await;
            let reply = sent.last().expect("a reply");
            assert!(reply.plain_text.contains("for admins only"), "{command} from {}: {:?}", user.id, texts(&sent));
            assert!(sent.iter().all(|m| m.document.is_none()), "no report leaks to {}", user.id);
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_gets_a_summary_and_the_html_report() {
    let app = spawn_app().await;
    app.learners_answer_the_first_quiz(50..56).await;
    let admin = TgUser::new(ADMIN);
    app.learner_says(&admin, "/report");
    let sent = app.messages(ADMIN, 2).await;
    let summary = &sent[0].plain_text;
    assert!(summary.contains("Engagement report"), "{summary}");
    assert!(summary.contains("desk: 6 of 6 learners active"), "{summary}");
    assert!(summary.contains("Quizzes right first time: 100 %"), "{summary}");
    let document = sent[1].document.as_ref().expect("the report as a file");
    assert!(document.file_name.starts_with("nudge-report-") && document.file_name.ends_with(".html"));
    let page = document.content_utf8().expect("UTF-8");
    assert!(page.starts_with("<!DOCTYPE html>"), "a page");
    assert!(page.contains("Until then, the figures in words:"), "one week of data is said in words, not charted");
    assert!(page.contains("Which is a goal?"), "quiz items by their question");

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_cohort_gets_the_known_ids_in_the_admins_language_and_no_server_path() {
    let app = spawn_app().await;
    let admin = TgUser::new(ADMIN).with_language("nl");
    app.learner_says(&admin, "/report nope");
    let sent = app.messages(ADMIN, 1).await;
    assert_eq!(sent.len(), 1, "{:?}", texts(&sent));
    assert_eq!(sent[0].plain_text, "Er is geen cohort nope. De cohorten zijn: desk.");
    let root = app.dir.as_ref().expect("dir").path().display().to_string();
    assert!(!sent[0].plain_text.contains(&root) && !sent[0].plain_text.contains(".toml"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_too_small_to_report_stays_hidden_in_the_chat() {
    let app = spawn_app().await;
    app.enrol(&TgUser::new(60)).await;
    app.learner_says(&TgUser::new(ADMIN), "/report");
    let sent = app.messages(ADMIN, 2).await;
    assert!(sent[0].plain_text.contains("desk: fewer than 5 learners"), "{}", sent[0].plain_text);
    let page = sent[1].document.as_ref().and_then(|d| d.content_utf8()).expect("the page");
    assert!(!page.contains("Which is a goal?"), "no figures about one learner");
    app.stop().await;
}
