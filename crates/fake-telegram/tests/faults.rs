//! Faults, rate limits, the control API, sync use and the binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_telegram::{FakeTelegram, Fault, Limits, TgUser};
use serde_json::{Value, json};

async fn call(fake: &FakeTelegram, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot123:secret/{method}", fake.api_url());
    let resp = reqwest::Client::new().post(url).json(&params).send().await.expect("http");
    (resp.status().as_u16(), resp.json().await.expect("json body"))
}

fn msg(chat: i64) -> Value {
    json!({ "chat_id": chat, "text": "hello" })
}

#[tokio::test]
async fn queued_faults_and_blocked_chats() {
    let fake = FakeTelegram::start();
    fake.fail_next("sendmessage", Fault::RetryAfter(5));
    fake.fail_next("*", Fault::ServerError(502));
    fake.fail_next("sendMessage", Fault::Forbidden);
    fake.fail_next("sendMessage", Fault::ChatNotFound);
    fake.fail_next("sendMessage", Fault::BadRequest("custom".into()));
    let (s, b) = call(&fake, "getUpdates", json!({})).await;
    assert_eq!(s, 200, "'*' skips getUpdates: {b}");
    let (s, b) = call(&fake, "sendMessage", msg(1)).await;
    assert_eq!((s, &b["parameters"]["retry_after"]), (429, &json!(5)), "{b}");
    assert_eq!(b["description"], "Too Many Requests: retry after 5");
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 502);
    let (s, b) = call(&fake, "sendMessage", msg(1)).await;
    assert_eq!((s, b["description"].as_str()), (403, Some("Forbidden: bot was blocked by the user")));
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.1["description"], "Bad Request: chat not found");
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.1["description"], "Bad Request: custom");
    assert!(fake.sent_to(1).is_empty(), "failed calls record no message");
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);

    fake.block_chat(1);
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 403);
    assert_eq!(call(&fake, "sendChatAction", json!({"chat_id":1,"action":"typing"})).await.0, 403);
    assert_eq!(call(&fake, "sendMessage", msg(2)).await.0, 200);
    fake.unblock_chat(1);
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);
    let st = fake.stats();
    assert_eq!((st.sent_429, st.sent_5xx, st.sent_403, st.rejected_400), (1, 1, 3, 2));

    fake.fail_next("sendMessage", Fault::Delay(Duration::from_millis(300)));
    let t = Instant::now();
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.sent_to(1).len(), 3);

    // A delayed call still takes effect after the client timed out, like a slow Telegram.
    fake.fail_next("sendMessage", Fault::Delay(Duration::from_millis(400)));
    let client = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().expect("client");
    let url = format!("{}/bot1:x/sendMessage", fake.api_url());
    assert!(client.post(url).json(&msg(1)).send().await.is_err(), "client times out");
    assert!(fake.wait_until(Duration::from_secs(2), |f| f.sent_to(1).len() == 4).await);
}

#[tokio::test]
async fn messages_not_kept_are_answered_and_counted_but_not_stored() {
    let fake = FakeTelegram::start();
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);
    fake.keep_sent_messages(false);
    let (status, body) = call(&fake, "sendMessage", msg(1)).await;
    assert_eq!((status, &body["result"]["message_id"]), (200, &json!(2)), "{body}");
    assert_eq!(fake.sent_to(1).len(), 1, "only the first message is stored");
    assert_eq!(fake.stats().requests.get("sendMessage"), Some(&2));
    let edit = json!({ "chat_id": 1, "message_id": 2, "text": "edited" });
    let (status, body) = call(&fake, "editMessageText", edit).await;
    assert_eq!((status, &body["description"]), (400, &json!("Bad Request: message to edit not found")));
    fake.keep_sent_messages(true);
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);
    assert_eq!(fake.sent_to(1).iter().map(|m| m.message_id).collect::<Vec<_>>(), [1, 3]);
}

#[tokio::test]
async fn random_faults_are_seeded() {
    let run = |seed| async move {
        let fake = FakeTelegram::start();
        fake.set_fault_delay(Duration::from_millis(1));
        fake.random_faults(0.5, seed);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(call(&fake, "sendMessage", msg(1)).await.0);
        }
        (statuses, fake.stats())
    };
    let (a, stats) = run(7).await;
    assert_eq!(a, run(7).await.0);
    let ok = a.iter().filter(|s| **s == 200).count();
    assert!((10..40).contains(&ok), "{a:?}");
    assert!(stats.sent_429 > 0 && stats.sent_5xx > 0, "{stats:?}");
    assert_eq!(ok as u64 + stats.sent_429 + stats.sent_5xx, 40);
}

#[tokio::test]
async fn rate_limits() {
    let fake = FakeTelegram::start();
    fake.enforce_limits(Some(Limits { global_per_second: 5, per_chat_per_second: 2 }));
    let mut per_chat = Vec::new();
    for _ in 0..3 {
        per_chat.push(call(&fake, "sendMessage", msg(1)).await.0);
    }
    assert_eq!(per_chat, [200, 200, 429]);
    let mut global = Vec::new();
    for chat in 2..6 {
        global.push(call(&fake, "sendMessage", msg(chat)).await.0);
    }
    assert_eq!(global, [200, 200, 200, 429]);
    assert_eq!(call(&fake, "getMe", json!({})).await.0, 200, "only sends/edits count");
    let st = fake.stats();
    assert_eq!((st.rate_violations, st.sent_429), (2, 2));
    assert_eq!(fake.all_sent().len(), 5);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(call(&fake, "sendMessage", msg(1)).await.0, 200);
    fake.enforce_limits(None);
}

#[test]
fn sync_use_and_409_for_superseded_polls() {
    let fake = FakeTelegram::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let first = {
        let fake = fake.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            rt.block_on(call(&fake, "getUpdates", json!({"timeout": 5})))
        })
    };
    assert!(rt.block_on(fake.wait_until(Duration::from_secs(2), |f| f.stats().calls("getUpdates") == 0)));
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = rt.block_on(call(&fake, "getUpdates", json!({"timeout": 0})));
    assert_eq!(status, 200);
    let (status, body) = first.join().expect("thread");
    assert_eq!(status, 409, "a newer poll ends the older one: {body}");
    assert!(body["description"].as_str().is_some_and(|d| d.starts_with("Conflict: terminated by other getUpdates")));
    fake.user_sends(&TgUser::new(1), "x");
    let _ = rt.block_on(call(&fake, "getUpdates", json!({"offset": 2})));
    let waited = rt.block_on(fake.wait_until(Duration::from_secs(2), |f| f.confirmed_update_id() == Some(1)));
    assert!(waited);
    assert!(!rt.block_on(fake.wait_until(Duration::from_millis(100), |f| f.pending_updates() > 0)));
    fake.shutdown();
    assert!(std::net::TcpStream::connect(fake.addr()).is_err(), "shut down");
}

#[tokio::test]
async fn control_api() {
    let fake = FakeTelegram::start();
    let c = reqwest::Client::new();
    let ctl = |path: &str| format!("{}/_fake/{path}", fake.api_url());
    let post = |path: &str, body: Value| c.post(ctl(path)).json(&body).send();
    let sent: Value = post("send", json!({"user":42,"text":"/start X","first_name":"Ann","language_code":"nl"}))
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(sent["update_id"], 1);
    let (_, ups) = call(&fake, "getUpdates", json!({})).await;
    assert_eq!(ups["result"][0]["message"]["from"]["first_name"], "Ann");
    call(
        &fake,
        "sendMessage",
        json!({"chat_id":42,"text":"q","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}),
    )
    .await;
    let pressed: Value =
        post("press", json!({"user":42,"message_id":2,"data":"a"})).await.expect("p").json().await.expect("j");
    assert_eq!(pressed["update_id"], 2);
    let chat: Value = c.get(ctl("chats/42")).send().await.expect("c").json().await.expect("j");
    assert_eq!(chat[0]["buttons"][0][0]["callback_data"], "a");
    let all: Value = c.get(ctl("sent")).send().await.expect("s").json().await.expect("j");
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    post("fault", json!({"method":"sendMessage","fault":{"retry_after":3}})).await.expect("f");
    assert_eq!(call(&fake, "sendMessage", msg(42)).await.0, 429);
    post("block", json!({"chat":42})).await.expect("b");
    assert_eq!(call(&fake, "sendMessage", msg(42)).await.0, 403);
    post("unblock", json!({"chat":42})).await.expect("u");
    post("limits", json!({"global_per_second":1,"per_chat_per_second":1})).await.expect("l");
    call(&fake, "sendMessage", msg(42)).await;
    assert_eq!(call(&fake, "sendMessage", msg(42)).await.0, 429);
    let stats: Value = c.get(ctl("stats")).send().await.expect("st").json().await.expect("j");
    assert_eq!(stats["rate_violations"], 1);
    let reqs: Value = c.get(ctl("requests")).send().await.expect("r").json().await.expect("j");
    assert_eq!(reqs[0]["method"], "getUpdates");
    let conf: Value = c.get(ctl("confirmed")).send().await.expect("c").json().await.expect("j");
    assert_eq!(conf["pending_updates"], 2);
}

#[test]
fn binary_serves_and_chats_interactively() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-telegram"))
        .args(["--port", "0", "--chat", "42"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    let url = line.trim().strip_prefix("listening on ").expect("banner").to_owned();
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "/start hi").expect("write");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let c = reqwest::Client::new();
    let ups: Value = rt.block_on(async {
        let r = c.post(format!("{url}/bot1:x/getUpdates")).json(&json!({"timeout": 5})).send().await;
        r.expect("poll").json().await.expect("json")
    });
    assert_eq!(ups["result"][0]["message"]["text"], "/start hi", "{ups}");
    let markup = json!({"inline_keyboard":[[{"text":"Yes","callback_data":"y"},{"text":"No","callback_data":"n"}]]});
    rt.block_on(
        c.post(format!("{url}/bot1:x/sendMessage"))
            .json(&json!({"chat_id":42,"text":"<b>Ready?</b>","parse_mode":"HTML","reply_markup":markup}))
            .send(),
    )
    .expect("send");
    let mut printed = String::new();
    while !printed.contains("[2] No") {
        line.clear();
        if out.read_line(&mut line).expect("read") == 0 {
            break;
        }
        printed.push_str(&line);
    }
    assert!(printed.contains("Ready?\n[1] Yes  [2] No"), "{printed:?}");
    writeln!(stdin, "/press 2").expect("write");
    let ups: Value = rt.block_on(async {
        let r = c.post(format!("{url}/bot1:x/getUpdates")).json(&json!({"offset": 2, "timeout": 5})).send().await;
        r.expect("poll").json().await.expect("json")
    });
    assert_eq!(ups["result"][0]["callback_query"]["data"], "n", "{ups}");
    let _ = child.kill();
    let _ = child.wait();
}
