//! Webhook mode: setWebhook/deleteWebhook/getWebhookInfo, the pusher and its retries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use fake_telegram::{FakeTelegram, TgUser};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

async fn call(fake: &FakeTelegram, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot123:secret/{method}", fake.api_url());
    let resp = reqwest::Client::new().post(url).json(&params).send().await.expect("http");
    (resp.status().as_u16(), resp.json().await.expect("json body"))
}

async fn webhook_info(fake: &FakeTelegram) -> Value {
    let (status, body) = call(fake, "getWebhookInfo", json!({})).await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

/// One POST the receiver got, and the status it answered.
#[derive(Debug, Clone)]
struct Post {
    content_type: Option<String>,
    secret: Option<String>,
    body: Value,
    status: u16,
}

/// A webhook on 127.0.0.1 that answers with scripted statuses (then 200) and keeps every POST.
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Post>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> (String, Receiver) {
        let receiver = Receiver::default();
        receiver.statuses.lock().expect("lock").extend(statuses);
        let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, receiver)
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("lock").clone()
    }

    fn count(&self) -> usize {
        self.posts.lock().expect("lock").len()
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let status = r.statuses.lock().expect("lock").pop_front().unwrap_or(200);
    let post = Post {
        content_type: header("content-type"),
        secret: header("x-telegram-bot-api-secret-token"),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        status,
    };
    r.posts.lock().expect("lock").push(post);
    StatusCode::from_u16(status).expect("status")
}

/// A URL nothing listens on.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn pushes_each_update_once_in_order_with_the_secret() {
    let fake = FakeTelegram::start();
    let (url, receiver) = Receiver::start(&[]).await;
    let ann = TgUser::new(7);
    fake.user_sends(&ann, "/start");
    fake.push_raw_update(json!({ "my_chat_member": { "x": 1 } }));
    let (_, polled) = call(&fake, "getUpdates", json!({})).await;
    let polled = polled["result"].as_array().cloned().expect("updates");
    assert_eq!(polled.len(), 2, "getUpdates without offset confirms nothing");

    let (status, body) = call(&fake, "setWebhook", json!({ "url": url, "secret_token": "s3cr3t_-X" })).await;
    assert_eq!((status, body), (200, json!({ "ok": true, "result": true, "description": "Webhook was set" })));
    assert_eq!(fake.webhook_url().as_deref(), Some(url.as_str()));
    fake.user_sends(&ann, "after the webhook");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_posts == 3).await, "{:?}", receiver.posts());

    let posts = receiver.posts();
    assert_eq!(posts.len(), 3, "exactly one POST per update: {posts:?}");
    assert_eq!(posts[0].body, polled[0], "the same JSON getUpdates returns");
    assert_eq!(posts[1].body, polled[1]);
    assert_eq!(posts[2].body["update_id"], 3);
    assert_eq!(posts[2].body["message"]["text"], "after the webhook");
    assert_eq!(posts[2].body["message"]["from"]["id"], 7);
    for post in &posts {
        assert_eq!(post.content_type.as_deref(), Some("application/json"));
        assert_eq!(post.secret.as_deref(), Some("s3cr3t_-X"));
    }
    assert_eq!((fake.pending_updates(), fake.confirmed_update_id()), (0, Some(3)));
    let info = webhook_info(&fake).await;
    assert_eq!(
        info,
        json!({ "url": url, "has_custom_certificate": false, "pending_update_count": 0, "max_connections": 40 })
    );
    let stats = fake.stats();
    assert_eq!((stats.webhook_posts, stats.webhook_failures, stats.calls("setWebhook")), (3, 0, 1));
    let set = fake.requests().into_iter().find(|r| r.method == "setWebhook").expect("recorded");
    assert_eq!((set.status, &set.params["secret_token"]), (200, &json!("s3cr3t_-X")));
    let url = format!("{}/_fake/stats", fake.api_url());
    let stats: Value = reqwest::get(url).await.expect("stats").json().await.expect("json");
    assert_eq!((&stats["webhook_posts"], &stats["webhook_failures"]), (&json!(3), &json!(0)));
}

#[tokio::test]
async fn a_refused_update_is_redelivered_until_answered_2xx() {
    let fake = FakeTelegram::start();
    let (url, receiver) = Receiver::start(&[401]).await;
    assert_eq!(call(&fake, "setWebhook", json!({ "url": url })).await.0, 200);
    let ann = TgUser::new(7);
    fake.user_sends(&ann, "one");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_posts == 1).await, "{:?}", receiver.posts());

    let posts = receiver.posts();
    assert_eq!(posts.iter().map(|p| p.status).collect::<Vec<_>>(), [401, 200], "{posts:?}");
    assert_eq!(posts[0].body, posts[1].body, "the same update again");
    assert_eq!(posts[1].body["message"]["text"], "one");
    assert_eq!(posts[0].secret, None, "no secret set, no header");
    assert_eq!((fake.stats().webhook_failures, fake.pending_updates()), (1, 0));
    let message = "Wrong response from the webhook: 401 Unauthorized";
    assert_eq!(fake.webhook_last_error().as_deref(), Some(message));
    let info = webhook_info(&fake).await;
    assert_eq!(info["last_error_message"], message);
    assert!(info["last_error_date"].as_i64().is_some_and(|d| d > 1_600_000_000), "{info}");

    fake.user_sends(&ann, "two");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_posts == 2).await);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert_eq!(posts[2].body["update_id"], 2);
    assert_eq!(fake.stats().webhook_failures, 1);
}

#[tokio::test]
async fn get_updates_conflicts_while_a_webhook_is_set() {
    let fake = FakeTelegram::start();
    let ann = TgUser::new(7);
    fake.user_sends(&ann, "one");
    fake.user_sends(&ann, "two");
    assert_eq!(call(&fake, "setWebhook", json!({ "url": closed_url() })).await.0, 200);
    let (status, body) = call(&fake, "getUpdates", json!({ "offset": 2 })).await;
    let conflict = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the \
                    webhook first";
    assert_eq!((status, body), (409, json!({ "ok": false, "error_code": 409, "description": conflict })));
    assert_eq!((fake.stats().sent_409, fake.confirmed_update_id()), (1, None), "a refused poll confirms nothing");

    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_failures >= 2).await);
    let info = webhook_info(&fake).await;
    assert_eq!((&info["last_error_message"], &info["pending_update_count"]), (&json!("Connection refused"), &json!(2)));

    let (status, body) = call(&fake, "deleteWebhook", json!({})).await;
    assert_eq!((status, body), (200, json!({ "ok": true, "result": true, "description": "Webhook was deleted" })));
    assert_eq!((fake.webhook_url(), fake.webhook_last_error()), (None, None));
    assert_eq!(
        webhook_info(&fake).await,
        json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 2 })
    );
    let (status, body) = call(&fake, "getUpdates", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let texts: Vec<&Value> =
        body["result"].as_array().expect("updates").iter().map(|u| &u["message"]["text"]).collect();
    assert_eq!(texts, [&json!("one"), &json!("two")], "the queued updates come through getUpdates");
    assert_eq!((fake.stats().sent_409, fake.stats().webhook_posts), (1, 0));
}

#[tokio::test]
async fn set_webhook_checks_its_parameters() {
    let fake = FakeTelegram::start();
    let url = closed_url();
    let unallowed = "Bad Request: secret token contains unallowed characters";
    for secret in ["has space".to_owned(), "plus+".to_owned(), "x".repeat(257)] {
        let (status, body) = call(&fake, "setWebhook", json!({ "url": url, "secret_token": secret })).await;
        assert_eq!((status, &body["description"]), (400, &json!(unallowed)), "{secret}");
    }
    for bad in ["ftp://example.org/hook", "not a url", "http://"] {
        let (status, body) = call(&fake, "setWebhook", json!({ "url": bad })).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = call(&fake, "setWebhook", json!({ "url": url, "allowed_updates": "nope" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!((fake.webhook_url(), fake.stats().rejected_400), (None, 7));
    assert_eq!(fake.stats().calls("setWebhook"), 7);

    let ok = json!({ "url": url, "secret_token": "a".repeat(256), "max_connections": 5 });
    assert_eq!(call(&fake, "setWebhook", ok).await.0, 200);
    assert_eq!(fake.webhook_url().as_deref(), Some(url.as_str()));
    let (status, body) = call(&fake, "setWebhook", json!({ "url": "" })).await;
    assert_eq!((status, &body["description"]), (200, &json!("Webhook was deleted")), "an empty url deletes");
    assert_eq!(fake.webhook_url(), None);
}

#[tokio::test]
async fn allowed_updates_and_drop_pending_updates() {
    let fake = FakeTelegram::start();
    let ann = TgUser::new(7);
    fake.user_sends(&ann, "dropped");
    let (url, receiver) = Receiver::start(&[]).await;
    let params = json!({ "url": url, "allowed_updates": ["callback_query"], "drop_pending_updates": true });
    assert_eq!(call(&fake, "setWebhook", params).await.0, 200);
    assert_eq!(fake.pending_updates(), 0, "drop_pending_updates drops the queue");
    fake.user_sends(&ann, "not allowed");
    let pressed = fake.user_presses(&ann, 1, "data");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_posts == 1 && f.pending_updates() == 0).await);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        (&posts[0].body["update_id"], &posts[0].body["callback_query"]["data"]),
        (&json!(pressed), &json!("data"))
    );
    assert_eq!(webhook_info(&fake).await["allowed_updates"], json!(["callback_query"]));
    assert_eq!(call(&fake, "setWebhook", json!({ "url": closed_url() })).await.0, 200);
    fake.user_presses(&ann, 1, "queued");
    assert_eq!(fake.pending_updates(), 1, "nothing listens there");
    assert_eq!(call(&fake, "deleteWebhook", json!({ "drop_pending_updates": true })).await.0, 200);
    assert_eq!(fake.pending_updates(), 0, "deleteWebhook drops the queue too");
}

#[tokio::test]
async fn a_webhook_that_does_not_answer_times_out_and_is_retried() {
    let fake = FakeTelegram::start();
    fake.set_webhook_timeout(Duration::from_millis(200));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let held = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            held.lock().expect("lock").push(stream); // never answered
        }
    });
    assert_eq!(call(&fake, "setWebhook", json!({ "url": url })).await.0, 200);
    fake.user_sends(&TgUser::new(7), "hello?");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_failures >= 2).await);
    assert_eq!(fake.webhook_last_error().as_deref(), Some("Read timeout expired"));
    assert!(accepted.lock().expect("lock").len() >= 2, "retried");
    assert_eq!((fake.pending_updates(), fake.stats().webhook_posts), (1, 0));
}

#[tokio::test]
async fn the_pusher_stops_with_the_server() {
    let fake = FakeTelegram::start();
    let (url, receiver) = Receiver::start(&[500; 1000]).await;
    assert_eq!(call(&fake, "setWebhook", json!({ "url": url })).await.0, 200);
    fake.user_sends(&TgUser::new(7), "hello");
    assert!(fake.wait_until(WAIT, |f| f.stats().webhook_failures >= 2).await);
    fake.shutdown();
    // A POST already on the wire may still reach the receiver, but none is settled any more.
    let after = fake.stats().webhook_failures;
    let again = fake.wait_until(Duration::from_millis(1500), |f| f.stats().webhook_failures > after).await;
    assert!(!again, "no delivery after shutdown ({after} before)");
    assert!(receiver.count() as u64 <= after + 1);
    let message = "Wrong response from the webhook: 500 Internal Server Error";
    assert_eq!(fake.webhook_last_error().as_deref(), Some(message));
}

/// A webhook that answers every update with a method in its 200, as Telegram allows.
async fn answering_hook(body: String) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let update: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let chat = update["message"]["chat"]["id"].as_i64().unwrap_or(0);
    let method = json!({ "method": "sendMessage", "chat_id": chat, "text": "answered in the 200" });
    (StatusCode::OK, [("content-type", "application/json")], method.to_string())
}

#[tokio::test]
async fn a_method_in_the_webhooks_answer_is_run_as_the_bots_call() {
    let fake = FakeTelegram::start();
    let app = axum::Router::new().route("/hook", axum::routing::post(answering_hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, _) = call(&fake, "setWebhook", json!({ "url": url })).await;
    assert_eq!(status, 200);
    fake.user_sends(&TgUser::new(42), "hello");
    let sent = fake.wait_until(WAIT, |fake| fake.sent_to(42).len() == 1).await;
    assert!(sent, "the method was run");
    assert_eq!(fake.sent_to(42)[0].text, "answered in the 200");
    let stats = fake.stats();
    assert_eq!((stats.webhook_posts, stats.webhook_methods, stats.calls("sendMessage")), (1, 1, 1));
}
