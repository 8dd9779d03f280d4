//! teloxide 0.17 against the fake: requests, results and updates must (de)serialize.

use std::time::{Duration, Instant};

use fake_telegram::{FakeTelegram, Fault, TgUser};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageEntityKind, ParseMode,
    ReplyParameters, UpdateKind,
};

fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new("123:abc").set_api_url(fake.api_url().parse().expect("url"))
}

fn keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback("Yes ✅", "q:1:yes"),
        InlineKeyboardButton::url("Docs", "https://example.org/docs".parse().expect("url")),
    ]])
}

#[tokio::test]
async fn get_me_and_send_html_with_keyboard() {
    let fake = FakeTelegram::start();
    let bot = bot(&fake);
    let me = bot.get_me().await.expect("getMe");
    assert_eq!(me.username(), "nudge_test_bot");
    assert!(me.user.is_bot);

    let msg = bot
        .send_message(ChatId(42), "<b>Hi</b> &amp; <a href=\"https://x.org\">link</a> 😀")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard())
        .await
        .expect("sendMessage");
    assert_eq!(msg.id.0, 1);
    assert_eq!(msg.chat.id, ChatId(42));
    assert_eq!(msg.text(), Some("Hi & link 😀"));
    assert_eq!(msg.from.as_ref().map(|u| u.is_bot), Some(true));
    let kinds: Vec<_> = msg.entities().expect("entities").iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds[0], MessageEntityKind::Bold);
    assert!(matches!(kinds[1], MessageEntityKind::TextLink { .. }));
    assert_eq!(msg.reply_markup().expect("markup").inline_keyboard[0].len(), 2);

    let sent = fake.sent_to(42);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].plain_text, "Hi & link 😀");
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert_eq!(sent[0].button("Yes").and_then(|b| b.callback_data.as_deref()), Some("q:1:yes"));
    assert_eq!(fake.requests()[1].method, "sendMessage");
    assert_eq!(fake.requests()[1].params["chat_id"], 42);
}

#[tokio::test]
async fn updates_message_and_callback_deserialize() {
    let fake = FakeTelegram::start();
    let bot = bot(&fake);
    let ann = TgUser { id: 7, first_name: "Ann".into(), language_code: Some("nl".into()) };
    assert_eq!(fake.user_sends(&ann, "/start abc"), 1);
    let updates = bot.get_updates().await.expect("getUpdates");
    let UpdateKind::Message(m) = &updates[0].kind else { panic!("{updates:?}") };
    assert_eq!(m.text(), Some("/start abc"));
    assert_eq!(m.entities().expect("entities")[0].kind, MessageEntityKind::BotCommand);
    let from = m.from.as_ref().expect("from");
    assert_eq!((from.first_name.as_str(), from.language_code.as_deref()), ("Ann", Some("nl")));

    let sent = bot
        .send_message(ChatId(7), "Quiz")
        .reply_markup(keyboard())
        .reply_parameters(ReplyParameters::new(m.id))
        .await
        .expect("send");
    assert_eq!(sent.id.0, 2);
    assert_eq!(sent.reply_to_message().map(|r| r.id), Some(m.id));
    fake.user_presses(&ann, sent.id.0 as i64, "q:1:yes");
    fake.user_replies(&ann, sent.id.0 as i64, "my answer");
    let updates = bot.get_updates().offset(updates[0].id.0 as i32 + 1).await.expect("getUpdates");
    assert_eq!(fake.confirmed_update_id(), Some(1));
    assert_eq!(updates.len(), 2);
    let UpdateKind::CallbackQuery(q) = &updates[0].kind else { panic!("{updates:?}") };
    assert_eq!(q.data.as_deref(), Some("q:1:yes"));
    assert_eq!(q.regular_message().map(|m| m.id), Some(sent.id));
    let UpdateKind::Message(r) = &updates[1].kind else { panic!("{updates:?}") };
    assert_eq!(r.reply_to_message().map(|m| m.id), Some(sent.id));

    bot.answer_callback_query(q.id.clone()).text("Correct!").await.expect("answer");
    assert_eq!(fake.callback_answers()[0].text.as_deref(), Some("Correct!"));
    let again = bot.answer_callback_query(q.id.clone()).await;
    assert!(matches!(again, Err(RequestError::Api(ApiError::InvalidQueryId))), "{again:?}");

    let edited = bot.edit_message_text(ChatId(7), sent.id, "Quiz (answered)").await.expect("edit");
    assert_eq!(edited.text(), Some("Quiz (answered)"));
    assert!(edited.reply_markup().is_none(), "editMessageText without markup drops the keyboard");
    assert_eq!(fake.sent_to(7)[0].edits, 1);
    let same = bot.edit_message_text(ChatId(7), sent.id, "Quiz (answered)").await;
    assert!(matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))), "{same:?}");
    let markup = bot.edit_message_reply_markup(ChatId(7), sent.id).reply_markup(keyboard()).await;
    assert!(markup.expect("markup edit").reply_markup().is_some());

    bot.get_updates().offset(updates[1].id.0 as i32 + 1).timeout(0).await.expect("confirm");
    assert_eq!(fake.pending_updates(), 0);
    assert_eq!(fake.confirmed_update_id(), Some(3));
}

#[tokio::test]
async fn long_poll_holds_and_returns_early() {
    let fake = FakeTelegram::start();
    let bot = bot(&fake);
    let t = Instant::now();
    let none = bot.get_updates().timeout(1).await.expect("poll");
    assert!(none.is_empty());
    assert!(t.elapsed() >= Duration::from_millis(950), "{:?}", t.elapsed());

    let pusher = fake.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        pusher.user_sends(&TgUser::new(5), "hello");
    });
    let t = Instant::now();
    let got = bot.get_updates().timeout(10).await.expect("poll");
    assert_eq!(got.len(), 1);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn document_commands_and_errors() {
    let fake = FakeTelegram::start();
    let bot = bot(&fake);
    let file = InputFile::memory(b"a,b\n1,2\n".to_vec()).file_name("export.csv");
    let msg = bot.send_document(ChatId(9), file).caption("<i>Your export</i>").parse_mode(ParseMode::Html).await;
    let msg = msg.expect("sendDocument");
    assert_eq!(msg.document().and_then(|d| d.file_name.as_deref()), Some("export.csv"));
    assert_eq!(msg.caption(), Some("Your export"));
    let doc = fake.sent_to(9)[0].document.clone().expect("document");
    assert_eq!(doc.content_utf8(), Some("a,b\n1,2\n"));
    let params = &fake.requests()[0].params;
    assert_eq!(params["document"]["file_name"], "export.csv", "{params}");

    bot.set_my_commands([BotCommand::new("start", "Start"), BotCommand::new("help", "Help")])
        .language_code("nl")
        .await
        .expect("setMyCommands");
    assert_eq!(fake.commands()[0].language_code, "nl");
    assert_eq!(bot.get_my_commands().language_code("nl").await.expect("get").len(), 2);
    bot.delete_webhook().await.expect("deleteWebhook");

    let long = "é".repeat(4097);
    let r = bot.send_message(ChatId(9), long).await;
    assert!(matches!(r, Err(RequestError::Api(ApiError::MessageIsTooLong))), "{r:?}");
    let r = bot.send_message(ChatId(9), "a < b").parse_mode(ParseMode::Html).await;
    assert!(matches!(r, Err(RequestError::Api(ApiError::CantParseEntities(_)))), "{r:?}");
    fake.block_chat(9);
    let r = bot.send_message(ChatId(9), "hi").await;
    assert!(matches!(r, Err(RequestError::Api(ApiError::BotBlocked))), "{r:?}");
    fake.unblock_chat(9);
    fake.fail_next("SendMessage", Fault::RetryAfter(3));
    let r = bot.send_message(ChatId(9), "hi").await;
    assert!(matches!(r, Err(RequestError::RetryAfter(s)) if s.seconds() == 3), "{r:?}");
    let r = bot.send_message(ChatId(-5), "hi").await;
    assert!(matches!(r, Err(RequestError::Api(ApiError::ChatNotFound))), "{r:?}");
    assert_eq!(fake.sent_to(9).len(), 1, "failed calls record nothing");
}

#[tokio::test]
async fn dispatcher_polling_end_to_end() {
    use teloxide::dispatching::UpdateFilterExt;
    let fake = FakeTelegram::start();
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            let text = format!("echo: {}", msg.text().unwrap_or_default());
            bot.send_message(msg.chat.id, text).reply_markup(keyboard()).await?;
            Ok::<_, RequestError>(())
        }))
        .branch(Update::filter_callback_query().endpoint(|bot: Bot, q: CallbackQuery| async move {
            bot.answer_callback_query(q.id.clone()).text("got it").await?;
            Ok::<_, RequestError>(())
        }));
    let mut dispatcher = Dispatcher::builder(bot(&fake), handler).build();
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    let user = TgUser::new(11);
    fake.user_sends(&user, "/start");
    let sent = fake.wait_for_sent(11, 1, Duration::from_secs(10)).await;
    assert_eq!(sent[0].plain_text, "echo: /start");
    fake.press_button(&user, "Yes").expect("button");
    assert!(fake.wait_until(Duration::from_secs(10), |f| f.callback_answers().len() == 1).await);
    assert!(fake.wait_until(Duration::from_secs(10), |f| f.pending_updates() == 0).await, "polling confirms updates");
    if let Ok(stop) = token.shutdown() {
        stop.await;
    }
    task.await.expect("dispatcher");
    let polls = fake.requests().into_iter().filter(|r| r.method == "getUpdates").collect::<Vec<_>>();
    // A long poll abandoned at shutdown is not recorded (or, if its hang-up is noticed late, gets 409).
    assert!(polls.iter().all(|r| r.status == 200 || r.status == 409), "{polls:?}");
}

#[tokio::test]
async fn webhook_calls_and_info_deserialize() {
    let fake = FakeTelegram::start();
    let bot = bot(&fake);
    // Nothing listens there: every delivery fails, so the update stays queued.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url: reqwest::Url = format!("http://{}/hook", closed.local_addr().expect("addr")).parse().expect("url");
    drop(closed);
    bot.set_webhook(url.clone())
        .secret_token("s3cret".to_owned())
        .allowed_updates([AllowedUpdate::Message])
        .max_connections(10)
        .await
        .expect("setWebhook");
    assert_eq!(fake.webhook_url().as_deref(), Some(url.as_str()));
    let r = bot.get_updates().await;
    // teloxide knows this 409 only without Telegram's "Conflict: " prefix and advice, so the
    // real text comes back as `Unknown`.
    let conflict = |d: &str| d.starts_with("Conflict: can't use getUpdates method while webhook is active");
    assert!(matches!(&r, Err(RequestError::Api(ApiError::Unknown(d))) if conflict(d)), "{r:?}");
    fake.user_sends(&TgUser::new(5), "hi");
    assert!(fake.wait_until(Duration::from_secs(10), |f| f.stats().webhook_failures >= 1).await);
    let info = bot.get_webhook_info().await.expect("getWebhookInfo");
    assert_eq!((info.url.as_ref(), info.pending_update_count, info.max_connections), (Some(&url), 1, Some(40)));
    assert_eq!(info.allowed_updates, Some(vec![AllowedUpdate::Message]));
    assert!(info.last_error_date.is_some() && info.last_error_message.is_some(), "{info:?}");
    bot.delete_webhook().await.expect("deleteWebhook");
    let info = bot.get_webhook_info().await.expect("getWebhookInfo");
    assert_eq!((info.url, info.last_error_message), (None, None));
    assert_eq!(bot.get_updates().await.expect("getUpdates").len(), 1);
    assert_eq!(fake.stats().calls("setWebhook"), 1);
}
