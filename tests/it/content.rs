//! Content in a running daemon: valid edits take effect without a restart, broken ones are
//! refused and the last good version keeps serving, learners' history survives.

use fake_telegram::TgUser;

use crate::helpers::{LESSON_ONE, spawn_app};

fn lesson_title(app: &crate::helpers::TestApp) -> String {
    let library = app.service.library();
    library.pack("demo").unwrap().lessons[0].title.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_edit_is_picked_up_and_a_broken_one_is_refused() {
    let app = spawn_app().await;
    let lesson = app.pack_dir().join("01-what-for.md");

    std::fs::write(&lesson, LESSON_ONE.replace("What for?", "What is it for?")).unwrap();
    app.eventually("the edit is live", |_| lesson_title(&app) == "What is it for?").await;
    let good = app.service.library().pack("demo").cloned();

    std::fs::write(&lesson, LESSON_ONE.replace("- [x] Fewer repeat calls", "- [ ] Fewer repeat calls")).unwrap();
    // A second pack, written after the broken edit: once it is live, the reload that saw the
    // broken edit has run.
    let marker = app.pack_dir().with_file_name("marker");
    std::fs::create_dir_all(&marker).unwrap();
    std::fs::write(marker.join("pack.toml"), "title = \"Marker\"\nlanguage = \"en\"\ndescription = \"x\"\n").unwrap();
    std::fs::write(marker.join("01-a.md"), LESSON_ONE).unwrap();
    app.eventually("the reload after the broken edit ran", |service| service.library().pack("marker").is_some()).await;
    assert_eq!(app.service.library().pack("demo").cloned(), good, "the last good version keeps serving");

    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    let sent = app.messages(42, 4).await;
    assert!(sent[2].plain_text.contains("What is it for?"), "{}", sent[2].plain_text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_item_is_retired_without_harming_a_learner() {
    let app = spawn_app().await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    app.messages(42, 4).await;

    let without_reflection = LESSON_ONE.split("## Reflect").next().unwrap().to_owned();
    std::fs::write(app.pack_dir().join("01-what-for.md"), without_reflection).unwrap();
    app.eventually("the edit is live", |service| service.library().pack("demo").unwrap().lessons[0].items.len() == 1)
        .await;

    app.press(&ann, "Fewer repeat calls");
    app.tick_at(app.next_nudge(42)).await;
    let sent = app.messages(42, 6).await;
    let texts: Vec<&str> = sent.iter().map(|m| m.plain_text.as_str()).collect();
    assert!(texts[4].contains("Trust"), "the retired reflection is skipped: {texts:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcome_longer_than_telegram_allows_arrives_whole_in_several_messages() {
    let app = spawn_app().await;
    let description: String = (1..=400).map(|n| format!("Paragraph {n} of a long description.\\n\\n")).collect();
    let pack_toml = format!("title = \"Demo\"\nlanguage = \"en\"\ndescription = \"{description}\"\n");
    std::fs::write(app.pack_dir().join("pack.toml"), pack_toml).unwrap();
    app.eventually("the long description is live", |service| {
        service.library().pack("demo").is_some_and(|pack| pack.description.len() > 4096)
    })
    .await;
    let ann = TgUser::new(42);
    app.learner_says(&ann, "/start JOIN");
    let sent = app.messages(42, 5).await;
    assert_eq!(sent.len(), 5, "four parts of the welcome and the privacy notice");
    assert!(sent.iter().all(|message| message.plain_text.encode_utf16().count() <= 4096));
    let all: String = sent.iter().map(|message| message.plain_text.as_str()).collect();
    assert!((1..=400).all(|n| all.contains(&format!("Paragraph {n} of"))), "nothing is lost");
    assert!(sent[3].plain_text.contains("Your first nudge comes"));
    app.stop().await;
}
