//! The Bot API: `/bot<token>/<method>` routing, parameter parsing and the methods themselves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, BODY_LIMIT};
use crate::faults::fault_error;
use crate::html::{self, Rendered, utf16_len};
use crate::params::{Params, read_params};
use crate::state::{Shared, State, lock, now_unix, set_opt};
use crate::{BotMessage, Button, CallbackAnswer, Fault, SentDocument, control, webhook};

const QUERY_INVALID: &str = "query is too old and response timeout expired or query id is invalid";
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendDocument",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setChatMenuButton",
    "sendChatAction",
    "logOut",
    "close",
];

type ApiResult = Result<Value, ApiError>;

/// The reply to a call; `note` is the `description` some successful calls carry.
fn reply(result: &ApiResult, note: Option<&str>) -> Response {
    let (status, body) = match result {
        Ok(v) => {
            let mut body = json!({ "ok": true, "result": v });
            set_opt(&mut body, "description", note.map(|n| json!(n)));
            (200, body)
        }
        Err(e) => {
            let mut body = json!({ "ok": false, "error_code": e.code, "description": e.description });
            if let Some(n) = e.retry_after {
                body["parameters"] = json!({ "retry_after": n });
            }
            (e.code, body)
        }
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The whole app: the control API under `/_fake/`, everything else is the Bot API.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/_fake", control::router())
        .fallback(bot_api)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// Runs each call as its own task, so it completes even if the client hangs up (as a call to
/// Telegram does). Long polls are the exception: one whose client is gone just ends.
async fn bot_api(AxState(shared): AxState<Arc<Shared>>, req: Request) -> Response {
    if req.uri().path().to_ascii_lowercase().ends_with("/getupdates") {
        return handle(shared, req).await;
    }
    let result = tokio::spawn(handle(shared, req)).await;
    result.unwrap_or_else(|_| reply(&Err(ApiError::new(500, "Internal Server Error")), None))
}

async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    let arrived = std::time::Instant::now();
    let path = req.uri().path();
    let Some((_token, raw)) = path.strip_prefix("/bot").and_then(|p| p.split_once('/')) else {
        return reply(&Err(ApiError::new(404, "Not Found")), None);
    };
    let method = METHODS.iter().find(|m| m.eq_ignore_ascii_case(raw)).copied();
    let raw = raw.to_owned();
    let (method, params, result) = match (method, read_params(req).await) {
        (None, _) => (raw, Value::Null, Err(ApiError::new(404, "Not Found"))),
        (Some(m), Err(e)) => (m.to_owned(), Value::Null, Err(e)),
        (Some(m), Ok(p)) => (m.to_owned(), p.recorded(), call(&shared, m, &p).await),
    };
    let note = result.as_ref().ok().and_then(|_| webhook::success_note(&method, &params));
    lock(&shared.state).record(&method, params, &result, arrived);
    shared.changed.notify_waiters();
    reply(&result, note)
}

/// Runs method `raw` with `p` as if the bot had called it (a method a webhook answered an
/// update with), recording it like any call.
pub async fn call_as_bot(shared: &Shared, raw: &str, p: Params) {
    let arrived = std::time::Instant::now();
    let Some(method) = METHODS.iter().find(|m| m.eq_ignore_ascii_case(raw)).copied() else {
        lock(&shared.state).record(raw, Value::Null, &Err(ApiError::new(404, "Not Found")), arrived);
        return;
    };
    let result = call(shared, method, &p).await;
    lock(&shared.state).record(method, p.recorded(), &result, arrived);
    shared.changed.notify_waiters();
}

async fn call(shared: &Shared, method: &str, p: &Params) -> ApiResult {
    let chat = p.int("chat_id").ok().flatten();
    let fault = {
        let mut st = lock(&shared.state);
        let fault = st.faults.decide(method, chat);
        if let Some((_, true)) = fault {
            st.stats.rate_violations += 1;
        }
        fault
    };
    match fault {
        Some((Fault::Delay(d), _)) => tokio::time::sleep(d).await,
        Some((f, _)) => return Err(fault_error(&f)),
        None => {}
    }
    if method == "getUpdates" {
        return get_updates(shared, p).await;
    }
    if let Some(result) = webhook::call(shared, method, p) {
        return result;
    }
    let mut st = lock(&shared.state);
    match method {
        "getMe" => Ok(json!({
            "id": crate::BOT_ID, "is_bot": true, "first_name": "Nudge Test Bot",
            "username": crate::BOT_USERNAME, "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        })),
        "sendMessage" => send_message(&mut st, p),
        "sendDocument" => send_document(&mut st, p),
        "editMessageText" => edit_message(&mut st, p, true),
        "editMessageReplyMarkup" => edit_message(&mut st, p, false),
        "deleteMessage" => delete_message(&mut st, p),
        "answerCallbackQuery" => answer_callback(&mut st, p),
        "setMyCommands" | "getMyCommands" | "deleteMyCommands" => my_commands(&mut st, method, p),
        "sendChatAction" => {
            target_chat(&st, p)?;
            match p.text("action") {
                Some(a) if !a.is_empty() => Ok(json!(true)),
                _ => Err(ApiError::bad("action is empty")),
            }
        }
        _ => Ok(json!(true)), // setChatMenuButton, logOut, close
    }
}

/// Long poll: returns pending updates at once, else waits up to `timeout` seconds for one. A
/// newer getUpdates ends an older waiting one with 409, like Telegram; so does a webhook (set
/// before or while it waits).
async fn get_updates(shared: &Shared, p: &Params) -> ApiResult {
    let offset = p.int("offset")?;
    let limit = p.int("limit")?.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p.int("timeout")?.unwrap_or(0).clamp(0, 3600) as u64;
    let generation = {
        let mut st = lock(&shared.state);
        if st.webhook.is_set() {
            return Err(webhook::conflict());
        }
        st.poll_generation += 1;
        if let Some(allowed) = p.allowed_updates()? {
            st.set_allowed_updates(allowed);
        }
        if let Some(o) = offset {
            st.confirm(o);
        }
        st.poll_generation
    };
    shared.updates_arrived.notify_waiters();
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = shared.updates_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = lock(&shared.state);
            if st.webhook.is_set() {
                return Err(webhook::conflict());
            }
            if st.poll_generation != generation {
                return Err(ApiError::new(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                ));
            }
            let updates = st.take_updates(offset, limit);
            if !updates.is_empty() || Instant::now() >= deadline {
                return Ok(Value::Array(updates));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(left) => {}
        }
    }
}

fn target_chat(st: &State, p: &Params) -> Result<i64, ApiError> {
    if p.text("chat_id").is_none_or(|s| s.is_empty()) {
        return Err(ApiError::bad("chat_id is empty"));
    }
    match p.int("chat_id") {
        Ok(Some(id)) if st.chat_exists(id) => Ok(id),
        _ => Err(ApiError::bad("chat not found")),
    }
}

/// Text or caption under `parse_mode`, checked: (source, rendered, parse_mode).
fn content(p: &Params, key: &str, max: usize, too_long: &str) -> Result<(String, Rendered, Option<String>), ApiError> {
    let source = p.text(key).unwrap_or_default();
    let parse_mode = p.text("parse_mode").filter(|m| !m.is_empty());
    let rendered = html::render(&source, parse_mode.as_deref()).map_err(|e| ApiError::bad(&e))?;
    if utf16_len(&rendered.text) > max {
        return Err(ApiError::bad(too_long));
    }
    Ok((source, rendered, parse_mode))
}

/// `reply_markup`: validated buttons and the inline markup to return (None if not inline).
fn markup(p: &Params) -> Result<(Vec<Vec<Button>>, Option<Value>), ApiError> {
    let Some(markup) =
        p.json("reply_markup").map_err(|_| ApiError::bad("can't parse reply keyboard markup JSON object"))?
    else {
        return Ok((Vec::new(), None));
    };
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok((Vec::new(), None)); // reply keyboards are accepted and not returned
    };
    let bad_rows =
        || ApiError::bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays");
    let rows = rows.as_array().ok_or_else(bad_rows)?;
    let mut buttons = Vec::new();
    for row in rows {
        let mut out = Vec::new();
        for b in row.as_array().ok_or_else(bad_rows)? {
            out.push(button(b)?);
        }
        buttons.push(out);
    }
    let returned = (!buttons.iter().all(Vec::is_empty)).then(|| json!({ "inline_keyboard": rows }));
    Ok((buttons, returned))
}

fn button(b: &Value) -> Result<Button, ApiError> {
    let field = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some(text) = field("text") else {
        return Err(ApiError::bad("can't parse inline keyboard button: Field \"text\" must be of type String"));
    };
    if text.trim().is_empty() {
        return Err(ApiError::bad("BUTTON_TEXT_INVALID"));
    }
    let callback_data = field("callback_data").filter(|d| !d.is_empty());
    if callback_data.as_ref().is_some_and(|d| d.len() > 64) {
        return Err(ApiError::bad("BUTTON_DATA_INVALID"));
    }
    let url = field("url");
    if let Some(u) = &url
        && !url::Url::parse(u).is_ok_and(|u| ["http", "https", "tg"].contains(&u.scheme()))
    {
        return Err(ApiError::bad("BUTTON_URL_INVALID"));
    }
    const OTHERS: &[&str] = &[
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "callback_game",
        "pay",
        "web_app",
        "copy_text",
    ];
    if callback_data.is_none() && url.is_none() && !OTHERS.iter().any(|k| b.get(*k).is_some()) {
        return Err(ApiError::bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ));
    }
    Ok(Button { text, callback_data, url })
}

/// The message replied to (`reply_parameters` or `reply_to_message_id`), which must exist
/// unless `allow_sending_without_reply`.
fn reply_target(st: &State, chat: i64, p: &Params) -> Result<Option<i64>, ApiError> {
    let params = p.json("reply_parameters")?.unwrap_or(Value::Null);
    let id = match params.get("message_id") {
        Some(v) => v.as_i64(),
        None => p.int("reply_to_message_id")?,
    };
    let Some(id) = id else { return Ok(None) };
    let lenient = params.get("allow_sending_without_reply").and_then(Value::as_bool).unwrap_or(false)
        || p.flag("allow_sending_without_reply");
    match st.message(chat, id) {
        Some(_) => Ok(Some(id)),
        None if lenient => Ok(None),
        None => Err(ApiError::bad("message to be replied not found")),
    }
}

fn text_fields(r: &Rendered, text_key: &str, entities_key: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(text_key.to_owned(), json!(r.text));
    if !r.entities.is_empty() {
        m.insert(entities_key.to_owned(), json!(r.entities));
    }
    m
}

fn send_message(st: &mut State, p: &Params) -> ApiResult {
    let chat = target_chat(st, p)?;
    let (text, rendered, parse_mode) = content(p, "text", 4096, "message is too long")?;
    if rendered.text.trim().is_empty() {
        return Err(ApiError::bad("message text is empty"));
    }
    let (buttons, markup) = markup(p)?;
    let reply_to = reply_target(st, chat, p)?;
    let id = st.next_message_id(chat);
    let mut fields = text_fields(&rendered, "text", "entities");
    if let Some(m) = markup {
        fields.insert("reply_markup".into(), m);
    }
    let json = st.bot_message_json(chat, id, reply_to, fields);
    let plain_text = rendered.text;
    let bot = BotMessage {
        message_id: id,
        chat_id: chat,
        text,
        plain_text,
        parse_mode,
        buttons,
        reply_to,
        document: None,
        edits: 0,
    };
    st.insert_bot_message(bot, json.clone());
    Ok(json)
}

fn send_document(st: &mut State, p: &Params) -> ApiResult {
    let chat = target_chat(st, p)?;
    let doc = p.file("document").ok_or_else(|| ApiError::bad("there is no document in the request"))?;
    if doc.data.is_empty() {
        return Err(ApiError::bad("file must be non-empty"));
    }
    let (caption, rendered, parse_mode) = content(p, "caption", 1024, "message caption is too long")?;
    let (buttons, markup) = markup(p)?;
    let reply_to = reply_target(st, chat, p)?;
    let id = st.next_message_id(chat);
    let mut fields = Map::new();
    fields.insert(
        "document".into(),
        json!({
            "file_id": format!("BQACAgIAAxk{chat}x{id}"), "file_unique_id": format!("AgAD{chat}x{id}"),
            "file_name": doc.file_name, "file_size": doc.data.len(),
        }),
    );
    if !rendered.text.is_empty() {
        fields.extend(text_fields(&rendered, "caption", "caption_entities"));
    }
    if let Some(m) = markup {
        fields.insert("reply_markup".into(), m);
    }
    let json = st.bot_message_json(chat, id, reply_to, fields);
    let document = SentDocument { file_name: doc.file_name.clone(), size: doc.data.len(), content: doc.data.clone() };
    let bot = BotMessage {
        message_id: id,
        chat_id: chat,
        text: caption,
        plain_text: rendered.text,
        parse_mode,
        buttons,
        reply_to,
        document: Some(document),
        edits: 0,
    };
    st.insert_bot_message(bot, json.clone());
    Ok(json)
}

/// editMessageText (`text` = true) or editMessageReplyMarkup. Without `reply_markup` the
/// keyboard is removed, like Telegram does.
fn edit_message(st: &mut State, p: &Params, text: bool) -> ApiResult {
    let chat = target_chat(st, p)?;
    let id = p.int("message_id")?.ok_or_else(|| ApiError::bad("message identifier is not specified"))?;
    let new_text = if text {
        let (source, rendered, mode) = content(p, "text", 4096, "MESSAGE_TOO_LONG")?;
        if rendered.text.trim().is_empty() {
            return Err(ApiError::bad("message text is empty"));
        }
        Some((source, rendered, mode))
    } else {
        None
    };
    let (buttons, markup) = markup(p)?;
    let stored = st.chats.get_mut(&chat).and_then(|c| c.messages.get_mut(&id));
    let stored = stored.ok_or_else(|| ApiError::bad("message to edit not found"))?;
    let Some(bot) = stored.bot.as_mut() else {
        return Err(ApiError::bad("message can't be edited"));
    };
    let mut json = stored.json.clone();
    if let Some((_, rendered, _)) = &new_text {
        if bot.document.is_some() {
            return Err(ApiError::bad("there is no text in the message to edit"));
        }
        set_opt(&mut json, "text", Some(json!(rendered.text)));
        set_opt(&mut json, "entities", (!rendered.entities.is_empty()).then(|| json!(rendered.entities)));
    }
    set_opt(&mut json, "reply_markup", markup);
    set_opt(&mut json, "edit_date", None);
    let mut old = stored.json.clone();
    set_opt(&mut old, "edit_date", None);
    if json == old {
        return Err(ApiError::bad(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    set_opt(&mut json, "edit_date", Some(json!(now_unix())));
    if let Some((source, rendered, mode)) = new_text {
        bot.text = source;
        bot.plain_text = rendered.text;
        bot.parse_mode = mode;
    }
    bot.buttons = buttons;
    bot.edits += 1;
    stored.json = json.clone();
    Ok(json)
}

fn delete_message(st: &mut State, p: &Params) -> ApiResult {
    let chat = target_chat(st, p)?;
    let id = p.int("message_id")?.ok_or_else(|| ApiError::bad("message identifier is not specified"))?;
    let removed = st.chats.get_mut(&chat).and_then(|c| c.messages.remove(&id));
    removed.map(|_| json!(true)).ok_or_else(|| ApiError::bad("message to delete not found"))
}

fn answer_callback(st: &mut State, p: &Params) -> ApiResult {
    let id = p.text("callback_query_id").unwrap_or_default();
    let text = p.text("text").filter(|t| !t.is_empty());
    if text.as_deref().is_some_and(|t| utf16_len(t) > 200) {
        return Err(ApiError::bad("MESSAGE_TOO_LONG"));
    }
    let cb = st.callbacks.get_mut(&id).filter(|c| !c.answered && c.at.elapsed() < Duration::from_secs(15 * 60));
    let cb = cb.ok_or_else(|| ApiError::bad(QUERY_INVALID))?;
    cb.answered = true;
    st.answers.push(CallbackAnswer { callback_query_id: id, text, show_alert: p.flag("show_alert") });
    Ok(json!(true))
}

fn my_commands(st: &mut State, method: &str, p: &Params) -> ApiResult {
    let scope = p.json("scope")?.unwrap_or(Value::Null);
    let mut scope_key = scope.get("type").and_then(Value::as_str).unwrap_or("default").to_owned();
    if let Some(chat) = scope.get("chat_id") {
        scope_key = format!("{scope_key}:{chat}");
    }
    let key = (scope_key, p.text("language_code").unwrap_or_default());
    match method {
        "getMyCommands" => {
            let cmds = st.commands.get(&key).cloned().unwrap_or_default();
            Ok(cmds.into_iter().map(|(c, d)| json!({ "command": c, "description": d })).collect())
        }
        "deleteMyCommands" => {
            st.commands.remove(&key);
            Ok(json!(true))
        }
        _ => {
            let list = p.json("commands")?.unwrap_or(Value::Null);
            let list = list.as_array().ok_or_else(|| ApiError::bad("can't parse commands JSON object"))?;
            if list.len() > 100 {
                return Err(ApiError::bad("too many commands"));
            }
            let mut cmds = Vec::new();
            for c in list {
                let command = c.get("command").and_then(Value::as_str).unwrap_or_default();
                let description = c.get("description").and_then(Value::as_str).unwrap_or_default();
                let valid = (1..=32).contains(&command.len())
                    && command.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                if !valid {
                    return Err(ApiError::bad("BOT_COMMAND_INVALID"));
                }
                if !(1..=256).contains(&description.chars().count()) {
                    return Err(ApiError::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
                }
                cmds.push((command.to_owned(), description.to_owned()));
            }
            st.commands.insert(key, cmds);
            Ok(json!(true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::Target;

    /// A long poll already waiting when a webhook is set ends with the webhook 409.
    #[tokio::test]
    async fn a_waiting_long_poll_ends_when_a_webhook_is_set() {
        let shared = Shared::new();
        let req = Request::builder().uri("/bot1:x/getUpdates?timeout=30").body(axum::body::Body::empty());
        let params = read_params(req.expect("request")).await.expect("params");
        let poll = get_updates(&shared, &params);
        tokio::pin!(poll);
        tokio::select! {
            biased;
            r = &mut poll => panic!("the poll waits while nothing is queued: {r:?}"),
            _ = tokio::task::yield_now() => {}
        }
        let target = Target { url: "http://127.0.0.1:9/hook".into(), secret: None };
        let p = Params::default();
        lock(&shared.state).webhook.target = Some(target);
        assert!(crate::webhook::call(&shared, "getWebhookInfo", &p).is_some(), "wakes the poll");
        let ended = tokio::time::timeout(Duration::from_secs(5), poll).await.expect("ends at once");
        assert_eq!(ended, Err(webhook::conflict()));
    }
}
