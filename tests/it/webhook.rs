//! Webhook mode: Telegram posts each update to the daemon, which answers 200 once the update's
//! effects are durable, 401 without the secret token, and handles an update posted twice once.

use std::time::Duration;

use fake_telegram::{FakeTelegram, TgUser};
use nudge::domain::LearnerId;
use serde_json::json;

use crate::helpers::{INVITE, TestApp, TestOptions, WEBHOOK_SECRET, spawn_app_with};
use crate::ops::free_port;

const WAIT: Duration = Duration::from_secs(10);

/// The `[telegram]` lines of a daemon that takes its updates on `port`.
pub(crate) fn webhook_lines(port: u16) -> String {
    format!(
        "mode = \"webhook\"\nwebhook_url = \"http://127.0.0.1:{port}/telegram\"\nwebhook_listen = \"127.0.0.1:{port}\"\n"
    )
}

/// A daemon in webhook mode on a free port, and that port.
async fn webhook_app() -> (TestApp, u16) {
    let port = free_port();
    let app = spawn_app_with(TestOptions { telegram_extra: webhook_lines(port), ..TestOptions::default() }).await;
    (app, port)
}

/// What `nudge webhook set` does in a deploy step: tells the fake where to post, with the secret.
pub(crate) async fn register_webhook(fake: &FakeTelegram, port: u16) {
    let url = format!("{}/bot123456:TEST-TOKEN/setWebhook", fake.api_url());
    let body = json!({ "url": format!("http://127.0.0.1:{port}/telegram"), "secret_token": WEBHOOK_SECRET });
    let answer = reqwest::Client::new().post(url).json(&body).send().await.expect("the fake answers");
    assert!(answer.status().is_success(), "setWebhook: {}", answer.status());
}

/// An update as Telegram posts it: learner `id` sends `text`.
pub(crate) fn message_update(update_id: i64, id: i64, text: &str) -> serde_json::Value {
    let user = json!({ "id": id, "is_bot": false, "first_name": "Sam", "language_code": "en" });
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": { "id": id, "type": "private", "first_name": "Sam" },
            "from": user,
            "text": text,
        }
    })
}

/// Posts `update` to the daemon's webhook on `port` with `secret` (none: no header); the status.
pub(crate) async fn post(port: u16, update: &serde_json::Value, secret: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/telegram")).json(update);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.expect("the webhook answers").status().as_u16()
}

fn enrolled(app: &TestApp, id: i64) -> bool {
    app.service.store().learner(LearnerId::new(id)).expect("the store reads").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_posts_an_update_and_the_learner_is_answered_with_no_polling() {
    let (app, port) = webhook_app().await;
    register_webhook(&app.fake, port).await;
    let learner = TgUser::new(42);
    app.learner_says(&learner, &format!("/start {INVITE}"));
    assert!(app.fake.wait_until(WAIT, |fake| fake.stats().webhook_posts == 1).await, "the update was posted");
    assert!(enrolled(&app, 42), "Telegram got 200 only once the learner was recorded");
    app.messages(42, 2).await;
    assert_eq!(app.fake.pending_updates(), 0, "nothing waits at Telegram");
    assert_eq!(app.fake.stats().webhook_failures, 0);
    assert_eq!(app.fake.stats().calls("getUpdates"), 0, "a daemon in webhook mode never polls");
    assert_eq!(app.metrics.updates.get(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_the_secret_token_gets_401_and_changes_nothing() {
    let (app, port) = webhook_app().await;
    let update = message_update(7, 43, &format!("/start {INVITE}"));
    assert_eq!(post(port, &update, None).await, 401, "no secret");
    assert_eq!(post(port, &update, Some("test-webhook-secreT")).await, 401, "a wrong secret");
    assert_eq!(post(port, &update, Some("test-webhook-secret-and-more")).await, 401, "a longer one");
    assert_eq!(app.metrics.webhook_refused.get(), 3);
    assert_eq!(app.metrics.updates.get(), 0, "no refused update was handled");
    assert!(!enrolled(&app, 43));
    assert_eq!(post(port, &update, Some(WEBHOOK_SECRET)).await, 200, "the right secret");
    assert!(enrolled(&app, 43));
    app.messages(43, 2).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_telegram_posts_again_is_handled_once() {
    let (app, port) = webhook_app().await;
    let update = message_update(9, 44, &format!("/start {INVITE}"));
    assert_eq!(post(port, &update, Some(WEBHOOK_SECRET)).await, 200);
    app.messages(44, 2).await;
    assert_eq!(post(port, &update, Some(WEBHOOK_SECRET)).await, 200, "Telegram hears it was handled");
    app.messages(44, 2).await;
    assert_eq!(app.metrics.webhook_duplicates.get(), 1);
    assert_eq!(app.metrics.updates.get(), 1, "the second post was not handled");
    let help = message_update(10, 44, "/help");
    assert_eq!(post(port, &help, Some(WEBHOOK_SECRET)).await, 200, "the next update is handled");
    app.messages(44, 3).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_an_update_or_not_a_post_is_refused_without_harm() {
    let (app, port) = webhook_app().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/telegram");
    let garbage = client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET).body("{\"update\":");
    assert_eq!(garbage.send().await.expect("answers").status().as_u16(), 400);
    let get = client.get(&url).send().await.expect("answers");
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(app.metrics.updates.get(), 0);
    let update = message_update(11, 45, &format!("/start {INVITE}"));
    assert_eq!(post(port, &update, Some(WEBHOOK_SECRET)).await, 200, "the daemon still takes updates");
    app.messages(45, 2).await;
    app.stop().await;
}

/// Runs `nudge <args>` with the test daemon's config, the test token and `secret`.
fn nudge(app: &TestApp, args: &[&str], secret: Option<&str>) -> std::process::Output {
    let config = app.dir.as_ref().expect("dir").path().join("nudge.toml");
    std::fs::write(&config, &app.config).expect("the config is written");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nudge"));
    command.args(args).arg("--config").arg(&config).env("NUDGE_TELEGRAM_TOKEN", "123456:TEST-TOKEN");
    command.env_remove("NUDGE_WEBHOOK_SECRET").env_remove("NUDGE_TELEGRAM_API_URL").env_remove("RUST_LOG");
    if let Some(secret) = secret {
        command.env("NUDGE_WEBHOOK_SECRET", secret);
    }
    command.output().expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nudge_webhook_set_registers_the_address_once_and_delete_removes_it() {
    let (app, port) = webhook_app().await;
    let set = nudge(&app, &["webhook", "set"], Some(WEBHOOK_SECRET));
    let said = String::from_utf8_lossy(&set.stdout);
    assert!(set.status.success(), "{said} {}", String::from_utf8_lossy(&set.stderr));
    let url = format!("http://127.0.0.1:{port}/telegram");
    assert!(said.contains(&format!("posts this bot's updates to {url} now")), "{said}");
    assert_eq!(app.fake.webhook_url().as_deref(), Some(url.as_str()));
    assert_eq!(app.fake.stats().calls("setWebhook"), 1);

    let learner = TgUser::new(46);
    app.enrol(&learner).await;
    assert_eq!(app.fake.stats().webhook_posts, 1, "the fake posted the update with the secret nudge set");

    let delete = nudge(&app, &["webhook", "delete"], None);
    assert!(delete.status.success(), "{}", String::from_utf8_lossy(&delete.stderr));
    assert!(String::from_utf8_lossy(&delete.stdout).contains("has no webhook for this bot now"));
    assert_eq!(app.fake.webhook_url(), None);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_without_the_secret_token_does_not_start_and_says_which_variable() {
    let (app, _port) = webhook_app().await;
    let set = nudge(&app, &["webhook", "set"], None);
    assert_eq!(set.status.code(), Some(1));
    let error = String::from_utf8_lossy(&set.stderr);
    assert!(error.contains("NUDGE_WEBHOOK_SECRET"), "{error}");
    assert_eq!(app.fake.stats().calls("setWebhook"), 0, "nothing was registered");
    let bad = nudge(&app, &["webhook", "set"], Some("not allowed!"));
    let error = String::from_utf8_lossy(&bad.stderr);
    assert!(error.contains("NUDGE_WEBHOOK_SECRET") && !error.contains("not allowed!"), "{error}");

    let serve = nudge(&app, &["serve"], None);
    assert_eq!(serve.status.code(), Some(1), "a daemon that could never take an update does not start");
    let error = String::from_utf8_lossy(&serve.stderr);
    assert!(error.contains("NUDGE_WEBHOOK_SECRET"), "{error}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_is_answered_inside_the_webhooks_200() {
    let (app, port) = webhook_app().await;
    register_webhook(&app.fake, port).await;
    let learner = TgUser::new(47);
    app.enrol(&learner).await;
    app.tick_at(app.next_nudge(47)).await;
    app.messages(47, 4).await;
    app.press(&learner, "Fewer repeat calls");
    let answered = app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 1).await;
    assert!(answered, "the press was answered: {:?}", app.fake.callback_answers());
    let stats = app.fake.stats();
    assert_eq!(stats.webhook_methods, 1, "by the method in the 200, not by a call of its own");
    assert_eq!(stats.calls("answerCallbackQuery"), 1, "and only once");
    app.eventually("the quiz asks how sure", |service| {
        service.store().pending_for(LearnerId::new(47)).is_ok_and(|pending| pending.is_empty())
    })
    .await;
    assert!(app.fake.sent_to(47).iter().any(|message| message.button("Not sure").is_some()), "the quiz was edited");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_says_whether_telegrams_webhook_points_at_it() {
    let fake = FakeTelegram::start();
    let port = free_port();
    register_webhook(&fake, port).await;
    let options =
        TestOptions { fake: Some(fake.clone()), telegram_extra: webhook_lines(port), ..TestOptions::default() };
    let registered = spawn_app_with(options).await;
    let checked = |app: &TestApp| app.fake.stats().calls("getWebhookInfo") == 1;
    assert!(registered.fake.wait_until(WAIT, |_| registered.metrics.webhook_registered.get() == 1).await);
    assert!(checked(&registered), "asked once at start");
    let (_dir, fake) = registered.stop().await;

    let mut other = TestOptions { fake: Some(fake), ..TestOptions::default() };
    let elsewhere = free_port();
    other.telegram_extra = webhook_lines(elsewhere);
    let misdirected = spawn_app_with(other).await;
    let asked = misdirected.fake.wait_until(WAIT, |_| misdirected.metrics.webhook_registered.get() != -1).await;
    assert!(asked, "the second daemon asked Telegram too");
    assert_eq!(misdirected.metrics.webhook_registered.get(), 0, "Telegram posts to another address");
    assert_eq!(misdirected.fake.stats().calls("getWebhookInfo"), 2);
    misdirected.stop().await;
}
