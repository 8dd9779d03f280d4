//! Raw HTTP: parameter encodings, reply shapes and every strictness rule.

use fake_telegram::{FakeTelegram, TgUser};
use serde_json::{Value, json};

async fn call(fake: &FakeTelegram, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot123:secret/{method}", fake.api_url());
    let resp = reqwest::Client::new().post(url).json(&params).send().await.expect("http");
    (resp.status().as_u16(), resp.json().await.expect("json body"))
}

async fn rejects(fake: &FakeTelegram, method: &str, params: Value, description: &str) {
    let (status, body) = call(fake, method, params.clone()).await;
    assert_eq!(status, 400, "{method} {params} → {body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["error_code"], 400);
    let got = body["description"].as_str().unwrap_or_default();
    assert!(got.starts_with(description), "{params}: {got:?} should start with {description:?}");
}

fn kb(data: &str) -> Value {
    json!({ "inline_keyboard": [[{ "text": "B", "callback_data": data }]] })
}

#[tokio::test]
async fn encodings_and_reply_shapes() {
    let fake = FakeTelegram::start();
    let client = reqwest::Client::new();
    let base = format!("{}/bot1:x", fake.api_url());
    let form: Value = client
        .post(format!("{base}/sendmessage"))
        .form(&[("chat_id", "5"), ("text", "form"), ("reply_markup", &kb("d").to_string())])
        .send()
        .await
        .expect("form")
        .json()
        .await
        .expect("json");
    assert_eq!(form["ok"], true, "{form}");
    assert_eq!(form["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "d");
    let query: Value = client
        .get(format!("{base}/SENDMESSAGE?chat_id=5&text=query"))
        .send()
        .await
        .expect("q")
        .json()
        .await
        .expect("j");
    assert_eq!(query["result"]["message_id"], 2);
    let multipart = reqwest::multipart::Form::new()
        .text("chat_id", "5")
        .part("document", reqwest::multipart::Part::bytes(vec![0xff, 0x00]).file_name("x.bin"));
    let doc: Value = client
        .post(format!("{base}/sendDocument"))
        .multipart(multipart)
        .send()
        .await
        .expect("mp")
        .json()
        .await
        .expect("j");
    assert_eq!(doc["result"]["document"]["file_size"], 2, "{doc}");
    assert_eq!(fake.requests()[2].params["document"], json!({"file_name":"x.bin","size":2,"content_utf8":null}));

    let (status, body) = call(&fake, "noSuchMethod", json!({})).await;
    assert_eq!((status, body), (404, json!({"ok":false,"error_code":404,"description":"Not Found"})));
    assert_eq!(fake.requests().last().map(|r| r.status), Some(404));
    let (_, info) = call(&fake, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], "");
    for m in ["setChatMenuButton", "deleteWebhook"] {
        assert_eq!(call(&fake, m, json!({})).await.1["result"], true);
    }
    assert_eq!(call(&fake, "sendChatAction", json!({"chat_id":5,"action":"typing"})).await.1["result"], true);
    assert_eq!(fake.stats().calls("sendMessage"), 2);
    let (status, _) = call(&fake, "sendMessage", json!({"chat_id": {"x": 1}, "text": "t"})).await;
    assert_eq!(status, 400, "type errors are 400, not panics");
}

#[tokio::test]
async fn text_length_counts_utf16_after_entities() {
    let fake = FakeTelegram::start();
    let ok = |text: String, mode: Option<&str>| json!({ "chat_id": 1, "text": text, "parse_mode": mode });
    assert_eq!(call(&fake, "sendMessage", ok("a".repeat(4096), None)).await.0, 200);
    assert_eq!(call(&fake, "sendMessage", ok(format!("<b>{}</b>", "a".repeat(4096)), Some("HTML"))).await.0, 200);
    assert_eq!(call(&fake, "sendMessage", ok("&lt;".repeat(4096), Some("HTML"))).await.0, 200);
    assert_eq!(call(&fake, "sendMessage", ok("é".repeat(4096), None)).await.0, 200);
    rejects(&fake, "sendMessage", ok("a".repeat(4097), None), "Bad Request: message is too long").await;
    // 😀 is 2 UTF-16 units: 2048 fit, 2049 do not.
    assert_eq!(call(&fake, "sendMessage", ok("😀".repeat(2048), None)).await.0, 200);
    rejects(&fake, "sendMessage", ok("😀".repeat(2049), None), "Bad Request: message is too long").await;
    rejects(&fake, "sendMessage", ok(String::new(), None), "Bad Request: message text is empty").await;
    rejects(&fake, "sendMessage", ok("<b> </b>".into(), Some("HTML")), "Bad Request: message text is empty").await;
    rejects(&fake, "sendMessage", json!({"text": "x"}), "Bad Request: chat_id is empty").await;
    rejects(&fake, "sendMessage", ok("x".into(), Some("Bogus")), "Bad Request: unsupported parse_mode").await;
    assert_eq!(fake.sent_to(1).len(), 5);
}

#[tokio::test]
async fn html_rules() {
    let fake = FakeTelegram::start();
    let html = |t: &str| json!({ "chat_id": 1, "text": t, "parse_mode": "HTML" });
    let good = r#"<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del><a href="https://e.org?a=1&amp;b=2">a</a><code>c</code><pre>p</pre><pre><code class="language-rust">r</code></pre><span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler><blockquote>q</blockquote><blockquote expandable>w</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &#8364; &#x1F600; &quot;"#;
    let (status, body) = call(&fake, "sendMessage", html(good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["entities"].as_array().map(Vec::len), Some(18), "{body}");
    assert!(fake.sent_to(1)[0].plain_text.ends_with("👍 € 😀 \""));
    for bad in [
        "<div>x</div>",
        "<b>x",
        "<b><i>x</b></i>",
        "x</b>",
        "1 < 2",
        "1 > 2",
        "fish & chips",
        "&nbsp;",
        "<span>x</span>",
        "<br/>",
        "<b>x</b",
    ] {
        rejects(&fake, "sendMessage", html(bad), "Bad Request: can't parse entities: ").await;
    }
    // Without parse_mode the same text is fine.
    assert_eq!(call(&fake, "sendMessage", json!({"chat_id": 1, "text": "1 < 2 & <div>"})).await.0, 200);
}

#[tokio::test]
async fn buttons() {
    let fake = FakeTelegram::start();
    let send = |markup: Value| json!({ "chat_id": 1, "text": "t", "reply_markup": markup });
    assert_eq!(call(&fake, "sendMessage", send(kb(&"x".repeat(64)))).await.0, 200);
    assert_eq!(call(&fake, "sendMessage", send(kb(&"é".repeat(32)))).await.0, 200);
    rejects(&fake, "sendMessage", send(kb(&"x".repeat(65))), "Bad Request: BUTTON_DATA_INVALID").await;
    rejects(&fake, "sendMessage", send(kb(&"é".repeat(33))), "Bad Request: BUTTON_DATA_INVALID").await;
    rejects(&fake, "sendMessage", send(kb("")), "Bad Request: can't parse inline keyboard button").await;
    let empty_text = json!({ "inline_keyboard": [[{ "text": "", "callback_data": "d" }]] });
    rejects(&fake, "sendMessage", send(empty_text), "Bad Request: BUTTON_TEXT_INVALID").await;
    let bad_url = json!({ "inline_keyboard": [[{ "text": "u", "url": "not a url" }]] });
    rejects(&fake, "sendMessage", send(bad_url), "Bad Request: BUTTON_URL_INVALID").await;
    rejects(&fake, "sendMessage", send(json!({"inline_keyboard": [1]})), "Bad Request: field \"inline_keyboard\"")
        .await;
    rejects(
        &fake,
        "sendMessage",
        json!({"chat_id":1,"text":"t","reply_markup":"{"}),
        "Bad Request: can't parse reply keyboard",
    )
    .await;
    let caption = json!({ "chat_id": 1, "document": "FILEID", "caption": "c" });
    rejects(&fake, "sendDocument", caption, "Bad Request: there is no document in the request").await;
    let doc = |caption: String| {
        let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt");
        let form =
            reqwest::multipart::Form::new().text("chat_id", "1").text("caption", caption).text("parse_mode", "HTML");
        reqwest::Client::new()
            .post(format!("{}/bot1:x/sendDocument", fake.api_url()))
            .multipart(form.part("document", part))
    };
    let ok = doc(format!("<b>{}</b>", "c".repeat(1024))).send().await.expect("doc");
    assert_eq!(ok.status().as_u16(), 200);
    let long: Value = doc("c".repeat(1025)).send().await.expect("doc").json().await.expect("json");
    assert_eq!(long["description"], "Bad Request: message caption is too long");
}

#[tokio::test]
async fn edits_callbacks_replies_commands_and_chats() {
    let fake = FakeTelegram::start();
    let user = TgUser::new(3);
    rejects(
        &fake,
        "editMessageText",
        json!({"chat_id":3,"message_id":1,"text":"x"}),
        "Bad Request: message to edit not found",
    )
    .await;
    rejects(
        &fake,
        "editMessageText",
        json!({"chat_id":3,"text":"x"}),
        "Bad Request: message identifier is not specified",
    )
    .await;
    call(&fake, "sendMessage", json!({"chat_id":3,"text":"q","reply_markup":kb("a")})).await;
    let same_markup = json!({"chat_id":3,"message_id":1,"reply_markup":kb("a")});
    rejects(&fake, "editMessageReplyMarkup", same_markup, "Bad Request: message is not modified").await;
    let (status, body) = call(&fake, "editMessageReplyMarkup", json!({"chat_id":3,"message_id":1})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"].get("reply_markup").is_none());
    assert!(body["result"]["edit_date"].as_i64().is_some());
    rejects(
        &fake,
        "editMessageText",
        json!({"chat_id":3,"message_id":1,"text":"x".repeat(4097)}),
        "Bad Request: MESSAGE_TOO_LONG",
    )
    .await;
    assert_eq!(fake.sent_to(3)[0].edits, 1);

    fake.user_sends(&user, "hi");
    rejects(
        &fake,
        "editMessageText",
        json!({"chat_id":3,"message_id":2,"text":"x"}),
        "Bad Request: message can't be edited",
    )
    .await;
    rejects(
        &fake,
        "sendMessage",
        json!({"chat_id":3,"text":"r","reply_parameters":{"message_id":99}}),
        "Bad Request: message to be replied not found",
    )
    .await;
    let lenient =
        json!({"chat_id":3,"text":"r","reply_parameters":{"message_id":99,"allow_sending_without_reply":true}});
    assert_eq!(call(&fake, "sendMessage", lenient).await.0, 200);

    rejects(&fake, "answerCallbackQuery", json!({"callback_query_id":"nope"}), "Bad Request: query is too old").await;
    fake.user_presses(&user, 1, "a");
    let (_, ups) = call(&fake, "getUpdates", json!({})).await;
    let qid = ups["result"][1]["callback_query"]["id"].as_str().expect("id").to_owned();
    assert_eq!(ups["result"][1]["callback_query"]["message"]["message_id"], 1);
    rejects(
        &fake,
        "answerCallbackQuery",
        json!({"callback_query_id":qid,"text":"x".repeat(201)}),
        "Bad Request: MESSAGE_TOO_LONG",
    )
    .await;
    assert_eq!(call(&fake, "answerCallbackQuery", json!({"callback_query_id":qid,"show_alert":true})).await.0, 200);
    assert!(fake.callback_answers()[0].show_alert);
    rejects(&fake, "answerCallbackQuery", json!({"callback_query_id":qid}), "Bad Request: query is too old").await;

    let cmds = |c: &str| json!({"commands":[{"command":c,"description":"d"}]});
    rejects(&fake, "setMyCommands", cmds("Start"), "Bad Request: BOT_COMMAND_INVALID").await;
    rejects(&fake, "setMyCommands", cmds(&"a".repeat(33)), "Bad Request: BOT_COMMAND_INVALID").await;
    assert_eq!(call(&fake, "setMyCommands", cmds("start")).await.0, 200);
    assert_eq!(call(&fake, "deleteMyCommands", json!({})).await.0, 200);
    assert!(fake.commands().is_empty());

    fake.require_known_chats(true);
    rejects(&fake, "sendMessage", json!({"chat_id":4,"text":"x"}), "Bad Request: chat not found").await;
    assert_eq!(call(&fake, "sendMessage", json!({"chat_id":3,"text":"x"})).await.0, 200);
    assert_eq!(fake.stats().rejected_400, 12);
}
