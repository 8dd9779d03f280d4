//! The learner's data rights over Telegram: `/mydata` sends everything as a file; `/forget`
//! erases every trace, which a scan of the whole store proves.

use fake_telegram::TgUser;

use crate::helpers::spawn_app;

/// A distinctive id, so a scan for it cannot match by accident.
const ANN: i64 = 987_654_321;
const SECRET: &str = "my manager never listens to me";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mydata_sends_everything_stored_as_a_json_file() {
    let app = spawn_app().await;
    let ann = TgUser::new(ANN);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(ANN)).await;
    app.messages(ANN, 4).await;
    app.answer_quiz(&ann, "Fewer repeat calls", "Sure").await;
    app.messages(ANN, 5).await;
    app.learner_says(&ann, SECRET);
    app.messages(ANN, 7).await;
    app.learner_says(&ann, "/mydata");
    let sent = app.messages(ANN, 8).await;
    let document = sent.last().and_then(|m| m.document.clone()).expect("a file");
    let export: serde_json::Value = serde_json::from_str(document.content_utf8().expect("text")).expect("JSON");
    assert_eq!(export["learner"]["id"], ANN);
    let answers = export["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["kind"]["text"], SECRET);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_erases_every_record_of_the_learner() {
    let app = spawn_app().await;
    let (ann, bob) = (TgUser::new(ANN), TgUser::new(43));
    app.enrol(&ann).await;
    app.enrol(&bob).await;
    app.tick_at(app.next_nudge(ANN).max(app.next_nudge(43))).await;
    app.messages(ANN, 4).await;
    app.answer_quiz(&ann, "Fewer repeat calls", "Sure").await;
    app.messages(ANN, 5).await;
    app.learner_says(&ann, SECRET);
    app.messages(ANN, 7).await;
    app.press(&ann, "Share with my team");

    app.learner_says(&ann, "/forget");
    let question = app.messages(ANN, 8).await.pop().unwrap();
    assert!(question.plain_text.contains("cannot be undone"), "{}", question.plain_text);
    let update = app.press(&ann, "Yes, erase everything");
    app.confirmed(update).await;
    let done = app.fake.wait_until(crate::helpers::WAIT, |fake| {
        fake.sent_to(ANN).iter().any(|m| m.plain_text.contains("everything I kept about you is erased"))
    });
    assert!(done.await, "the goodbye replaces the question");
    let (dir, _fake) = app.stop().await;

    if crate::engine::on_postgres() {
        let rows = crate::engine::rows_mentioning(dir.path(), &[&ANN.to_string(), SECRET]);
        assert!(rows.mentions.is_empty(), "traces of the learner: {:#?}", rows.mentions);
        assert!(rows.scanned > 5, "the database still holds the other learner ({} rows)", rows.scanned);
        return;
    }
    let db = crate::helpers::open_sled_when_free(&dir.path().join("store"));
    let id_bytes = (ANN as u64).to_be_bytes();
    let id_text = ANN.to_string();
    let mut records = 0;
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        for entry in tree.iter() {
            let (key, value) = entry.unwrap();
            records += 1;
            for bytes in [&key[..], &value[..]] {
                assert!(
                    !bytes.windows(8).any(|w| w == id_bytes),
                    "the id's bytes in tree {:?}",
                    String::from_utf8_lossy(&name)
                );
                let text = String::from_utf8_lossy(bytes);
                assert!(
                    !text.contains(&id_text) && !text.contains(SECRET),
                    "a trace in {:?}: {text}",
                    String::from_utf8_lossy(&name)
                );
            }
        }
    }
    assert!(records > 5, "the store still holds the other learner ({records} records)");
}
