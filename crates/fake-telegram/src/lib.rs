//! A fake Telegram Bot API server for tests, benchmarks and manual runs of a bot.
//!
//! [`FakeTelegram::start`] serves `/bot<TOKEN>/<method>` on `127.0.0.1:<random port>` from its
//! own thread and tokio runtime, so any test (async on any runtime flavour, or sync) can use it.
//! Point teloxide at it with `Bot::new("123:abc").set_api_url(fake.api_url().parse()?)`.
//! Learners are simulated with [`FakeTelegram::user_sends`], [`FakeTelegram::user_presses`] and
//! friends; what the bot did is inspected with [`FakeTelegram::sent_to`] and
//! [`FakeTelegram::requests`]. It is strict where Telegram is (HTML, lengths, button data,
//! edits, callback ids) and can inject faults and enforce rate limits.
//! A JSON control API under `/_fake/` exposes the same to other processes.
//!
//! The bot may poll `getUpdates` or set a webhook (`setWebhook`): while one is set, getUpdates
//! gets 409 and the fake POSTs each queued update to the webhook's http(s) URL, one at a time,
//! retrying with backoff until the webhook answers 2xx.

#![warn(missing_docs)]

mod control;
mod error;
mod faults;
pub mod html;
mod params;
mod routes;
mod state;
mod webhook;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use state::Shared;

/// The bot's user id in every message the fake returns.
pub const BOT_ID: i64 = 7_000_000_001;
/// The bot's username (`getMe`).
pub const BOT_USERNAME: &str = "nudge_test_bot";

/// A learner: the Telegram user who writes to the bot. Their private chat has the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgUser {
    /// User id, also the private chat id.
    pub id: i64,
    /// First name shown in `from` and `chat`.
    pub first_name: String,
    /// IETF language tag sent in `from.language_code`.
    pub language_code: Option<String>,
}

impl TgUser {
    /// A user named "Learner {id}" with language "en".
    pub fn new(id: i64) -> TgUser {
        TgUser { id, first_name: format!("Learner {id}"), language_code: Some("en".into()) }
    }

    /// The same user with another language code.
    pub fn with_language(mut self, language_code: &str) -> TgUser {
        self.language_code = Some(language_code.to_owned());
        self
    }
}

/// A fault injected into one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
    RetryAfter(u32),
    /// A 5xx (e.g. 502 "Bad Gateway").
    ServerError(u16),
    /// Sleep, then handle the call normally (it takes effect even if the client gave up).
    Delay(Duration),
    /// 403 "Forbidden: bot was blocked by the user".
    Forbidden,
    /// 400 "Bad Request: chat not found".
    ChatNotFound,
    /// 400 "Bad Request: {0}".
    BadRequest(String),
    /// 401 "Unauthorized": the token is not a bot's (Telegram answers every method so).
    Unauthorized,
}

/// Rate limits over sliding one-second windows for calls that send or edit messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls allowed per second over all chats.
    pub global_per_second: u32,
    /// Calls allowed per second into one chat.
    pub per_chat_per_second: u32,
}

/// An inline keyboard button as the bot sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    /// Label.
    pub text: String,
    /// `callback_data`, if any.
    pub callback_data: Option<String>,
    /// `url`, if any.
    pub url: Option<String>,
}

/// A file the bot sent with `sendDocument`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentDocument {
    /// File name from the multipart part.
    pub file_name: String,
    /// Size in bytes.
    pub size: usize,
    /// The bytes (serialized as `content_utf8`: a string, or null when not UTF-8).
    #[serde(rename = "content_utf8", serialize_with = "utf8_or_null")]
    pub content: Vec<u8>,
}

impl SentDocument {
    /// The content as text, if it is UTF-8.
    pub fn content_utf8(&self) -> Option<&str> {
        std::str::from_utf8(&self.content).ok()
    }
}

fn utf8_or_null<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    std::str::from_utf8(bytes).ok().serialize(s)
}

/// A message the bot sent, in its current state (edits applied).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotMessage {
    /// Id within the chat (ids count from 1 per chat, shared with the user's messages).
    pub message_id: i64,
    /// The chat (= user id).
    pub chat_id: i64,
    /// Text (or document caption) as sent: the HTML source when `parse_mode` is HTML.
    pub text: String,
    /// Text after entity parsing: what the learner sees.
    pub plain_text: String,
    /// `parse_mode` as sent.
    pub parse_mode: Option<String>,
    /// Inline keyboard rows.
    pub buttons: Vec<Vec<Button>>,
    /// The message this one replies to.
    pub reply_to: Option<i64>,
    /// The file, for `sendDocument`.
    pub document: Option<SentDocument>,
    /// How many successful edits were applied.
    pub edits: u32,
}

impl BotMessage {
    /// The first button whose label contains `label_substring`.
    pub fn button(&self, label_substring: &str) -> Option<&Button> {
        self.buttons.iter().flatten().find(|b| b.text.contains(label_substring))
    }

    /// All buttons, row by row.
    pub fn all_buttons(&self) -> Vec<&Button> {
        self.buttons.iter().flatten().collect()
    }

    /// All button labels, row by row.
    pub fn button_labels(&self) -> Vec<&str> {
        self.all_buttons().into_iter().map(|b| b.text.as_str()).collect()
    }
}

/// One call the bot made.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Canonical method name, e.g. "sendMessage" (as given if unknown).
    pub method: String,
    /// Parameters as JSON; multipart files as `{"file_name","size","content_utf8"}`.
    pub params: Value,
    /// HTTP status of the reply.
    pub status: u16,
    /// The error description, for failed calls.
    pub description: Option<String>,
    /// When the reply was made.
    pub at: Instant,
    /// When the call arrived: earlier than `at` for a call the fake held back (a time-out
    /// fault), which Telegram would have received before any later `retry_after`.
    pub arrived: Instant,
}

/// One successful `answerCallbackQuery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackAnswer {
    /// The query answered.
    pub callback_query_id: String,
    /// Notification text.
    pub text: Option<String>,
    /// Whether an alert was requested.
    pub show_alert: bool,
}

/// Counters over all calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Calls per canonical method name.
    pub requests: BTreeMap<String, u64>,
    /// 429 replies (faults and rate violations).
    pub sent_429: u64,
    /// 5xx replies.
    pub sent_5xx: u64,
    /// 403 replies.
    pub sent_403: u64,
    /// 409 replies: a waiting getUpdates ended by a newer one (two pollers on one token), or a
    /// getUpdates while a webhook is set.
    pub sent_409: u64,
    /// Calls over the enforced [`Limits`].
    pub rate_violations: u64,
    /// 400 replies.
    pub rejected_400: u64,
    /// Updates POSTed to the webhook and answered 2xx (so confirmed).
    pub webhook_posts: u64,
    /// POSTs to the webhook that failed: another status, no connection, or no answer in time.
    pub webhook_failures: u64,
    /// Methods webhooks answered updates with (`{"method": …}` in a 2xx body), run as calls.
    pub webhook_methods: u64,
}

impl Stats {
    /// Number of calls of `method` (canonical name).
    pub fn calls(&self, method: &str) -> u64 {
        self.requests.get(method).copied().unwrap_or(0)
    }
}

/// Commands set with `setMyCommands` for one scope and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandSet {
    /// Scope `type` ("default", "all_private_chats", "chat", ...).
    pub scope: String,
    /// Language code, "" for all languages.
    pub language_code: String,
    /// (command, description) pairs.
    pub commands: Vec<(String, String)>,
}

struct Server {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Server {
    fn stop(&self) {
        if let Some(tx) = state::lock(&self.stop).take() {
            let _ = tx.send(());
        }
        if let Some(thread) = state::lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running fake Bot API server. Clones share it; it stops with [`FakeTelegram::shutdown`] or
/// when the last clone is dropped.
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    server: Arc<Server>,
    addr: SocketAddr,
}

impl FakeTelegram {
    /// Starts on `127.0.0.1` with a free port.
    ///
    /// # Panics
    /// If no port can be bound.
    pub fn start() -> FakeTelegram {
        match Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))) {
            Ok(fake) => fake,
            Err(e) => panic!("fake-telegram: cannot bind 127.0.0.1:0: {e}"),
        }
    }

    /// Starts on `addr`, serving from a thread with its own tokio runtime.
    pub fn start_on(addr: SocketAddr) -> std::io::Result<FakeTelegram> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("fake-telegram")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = routes::router(shared.clone());
        let pusher = webhook::push_forever(shared.clone());
        let thread = std::thread::Builder::new().name("fake-telegram".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = pusher => {}
                    _ = rx => {}
                }
            });
            runtime.shutdown_timeout(Duration::from_millis(200));
        })?;
        let server = Server { stop: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)) };
        Ok(FakeTelegram { shared, server: Arc::new(server), addr })
    }

    /// Base URL for `Bot::set_api_url`, e.g. "http://127.0.0.1:40123".
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (open connections are dropped) and waits for the server thread.
    pub fn shutdown(&self) {
        self.server.stop();
    }

    /// The user sends `text`; a leading `/command` gets a `bot_command` entity. Returns the update id.
    pub fn user_sends(&self, user: &TgUser, text: &str) -> i64 {
        self.shared.user_message(user, text, None)
    }

    /// The user replies to message `reply_to_message_id` of their chat. Returns the update id.
    pub fn user_replies(&self, user: &TgUser, reply_to_message_id: i64, text: &str) -> i64 {
        self.shared.user_message(user, text, Some(reply_to_message_id))
    }

    /// The user presses a button: a `callback_query` with `callback_data` on that message (as
    /// the bot left it). Returns the update id.
    pub fn user_presses(&self, user: &TgUser, message_id: i64, callback_data: &str) -> i64 {
        self.shared.user_press(user, message_id, callback_data)
    }

    /// Presses the first button whose label contains `label_substring` on the bot's latest
    /// message in the user's chat that has one. `None` if there is no such callback button.
    pub fn press_button(&self, user: &TgUser, label_substring: &str) -> Option<i64> {
        let (message_id, data) = self.sent_to(user.id).iter().rev().find_map(|m| {
            let data = m.button(label_substring)?.callback_data.clone()?;
            Some((m.message_id, data))
        })?;
        Some(self.user_presses(user, message_id, &data))
    }

    /// Enqueues any JSON as an update (its `update_id` is set). Returns the update id.
    pub fn push_raw_update(&self, update: Value) -> i64 {
        self.shared.push_update(update)
    }

    /// The bot's messages in a chat, in order, edits applied (deleted ones left out).
    pub fn sent_to(&self, chat_id: i64) -> Vec<BotMessage> {
        self.shared.sent(Some(chat_id))
    }

    /// The bot's latest message in a chat.
    pub fn last_sent_to(&self, chat_id: i64) -> Option<BotMessage> {
        self.sent_to(chat_id).pop()
    }

    /// All the bot's messages, in the order they were sent.
    pub fn all_sent(&self) -> Vec<BotMessage> {
        self.shared.sent(None)
    }

    /// Every call the bot made, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        state::lock(&self.shared.state).requests.clone()
    }

    /// Forgets what long runs no longer need: recorded calls, callback answers, and every
    /// message without buttons (messages with buttons stay, so they can still be pressed and
    /// edited). Counters stay. Keeps an in-process fake's memory from growing in a soak.
    pub fn forget_history(&self) {
        self.forget_history_keeping(|message| !message.buttons.is_empty());
    }

    /// [`FakeTelegram::forget_history`], keeping only the bot's messages for which `keep` is true
    /// (a long run that presses only some buttons can drop the rest).
    pub fn forget_history_keeping(&self, keep: impl Fn(&BotMessage) -> bool) {
        let mut st = state::lock(&self.shared.state);
        st.requests.clear();
        st.answers.clear();
        st.callbacks.retain(|_, callback| !callback.answered);
        for chat in st.chats.values_mut() {
            chat.messages.retain(|_, stored| stored.bot.as_ref().is_some_and(&keep));
        }
        let chats = &st.chats;
        let kept: Vec<(i64, i64)> = st
            .order
            .iter()
            .copied()
            .filter(|(chat, id)| chats.get(chat).is_some_and(|c| c.messages.contains_key(id)))
            .collect();
        st.order = kept;
    }

    /// Whether the bot's new messages are stored (the default) or only answered and counted.
    /// A message not stored cannot be listed, pressed or edited (editing it gets 400 "message
    /// to edit not found"); messages stored earlier stay. Lets a soak drain a backlog of
    /// thousands of messages nobody will press without the fake holding each of them.
    pub fn keep_sent_messages(&self, keep: bool) {
        state::lock(&self.shared.state).discard_sent = !keep;
    }

    /// The calls recorded so far, which the fake then forgets (counters stay): lets long runs
    /// check calls as they go without the log growing.
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut state::lock(&self.shared.state).requests)
    }

    /// The successful `answerCallbackQuery` calls.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        state::lock(&self.shared.state).answers.clone()
    }

    /// Commands set with `setMyCommands`, per scope and language.
    pub fn commands(&self) -> Vec<CommandSet> {
        self.shared.commands()
    }

    /// The highest update id the bot confirmed (its `getUpdates` offset - 1, or the latest update
    /// its webhook answered 2xx).
    pub fn confirmed_update_id(&self) -> Option<i64> {
        state::lock(&self.shared.state).confirmed
    }

    /// Updates enqueued and not yet confirmed.
    pub fn pending_updates(&self) -> usize {
        state::lock(&self.shared.state).updates.len()
    }

    /// The webhook's URL, while the bot has one set (`setWebhook`).
    pub fn webhook_url(&self) -> Option<String> {
        state::lock(&self.shared.state).webhook.target.as_ref().map(|t| t.url.clone())
    }

    /// Why the latest delivery to the current webhook failed (getWebhookInfo's
    /// `last_error_message`), e.g. "Wrong response from the webhook: 401 Unauthorized".
    pub fn webhook_last_error(&self) -> Option<String> {
        state::lock(&self.shared.state).webhook.last_error.as_ref().map(|(_, message)| message.clone())
    }

    /// How long a POST to the webhook may wait for its answer before it counts as failed
    /// (default 10 s, as Telegram).
    pub fn set_webhook_timeout(&self, timeout: Duration) {
        state::lock(&self.shared.state).webhook.timeout = timeout;
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        state::lock(&self.shared.state).stats.clone()
    }

    /// Waits until `cond` holds, re-checking after every call the bot makes and at least every
    /// 50 ms. Returns false on (wall-clock) timeout. Works from any tokio runtime.
    pub async fn wait_until(&self, timeout: Duration, cond: impl Fn(&FakeTelegram) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(left.min(Duration::from_millis(50))) => {}
            }
        }
    }

    /// Waits until the chat has at least `count` bot messages; returns them (maybe fewer on timeout).
    pub async fn wait_for_sent(&self, chat_id: i64, count: usize, timeout: Duration) -> Vec<BotMessage> {
        self.wait_until(timeout, |f| f.sent_to(chat_id).len() >= count).await;
        self.sent_to(chat_id)
    }

    /// The next call of `method` (case-insensitive; "*" = any method but getUpdates) gets `fault`.
    /// Faults queue up in order.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        state::lock(&self.shared.state).faults.queue.push((method.to_ascii_lowercase(), fault));
    }

    /// Every later call targeting the chat gets 403 "Forbidden: bot was blocked by the user".
    pub fn block_chat(&self, chat_id: i64) {
        state::lock(&self.shared.state).faults.blocked.insert(chat_id);
    }

    /// Undoes [`FakeTelegram::block_chat`].
    pub fn unblock_chat(&self, chat_id: i64) {
        state::lock(&self.shared.state).faults.blocked.remove(&chat_id);
    }

    /// Each call but getUpdates fails with probability `rate` (0 = off), evenly spread over
    /// 429 (retry_after 1), 502 and a [`Fault::Delay`] (see [`FakeTelegram::set_fault_delay`]).
    pub fn random_faults(&self, rate: f64, seed: u64) {
        state::lock(&self.shared.state).faults.set_random(rate, seed);
    }

    /// The delay of random delay faults (default 20 s, past teloxide's 17 s client timeout).
    pub fn set_fault_delay(&self, delay: Duration) {
        state::lock(&self.shared.state).faults.random_delay = delay;
    }

    /// Enforces rate limits on sending and editing calls (`None` = off, the default).
    pub fn enforce_limits(&self, limits: Option<Limits>) {
        state::lock(&self.shared.state).faults.limits = limits;
    }

    /// Forgives `jitter` of arrival-time noise in the rate limits: a limit of N a second then
    /// counts N calls in a window of one second less `jitter` (none by default). A client that
    /// paces evenly at N a second stays inside it even when calls released on time reach the
    /// fake up to `jitter` apart from their neighbours; one that bursts does not.
    pub fn forgive_jitter(&self, jitter: Duration) {
        state::lock(&self.shared.state).faults.jitter = jitter;
    }

    /// Strict chats: only chats whose user wrote to the bot exist (others: 400 "chat not
    /// found"). Off by default, when any positive chat id exists.
    pub fn require_known_chats(&self, strict: bool) {
        state::lock(&self.shared.state).strict_chats = strict;
    }
}
