//! Every call to the Bot API goes through here: pacing, `retry_after`, bounded retries with
//! backoff, a time limit per call, and one classification of failures the callers act on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use teloxide::prelude::*;
use teloxide::requests::HasPayload;
use teloxide::types::{
    AllowedUpdate, BotCommand, BotCommandScope, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions,
    Message, MessageId, ParseMode, Recipient, Update,
};
use teloxide::{ApiError, RequestError};

use super::limiter::{Limiter, Limits};
use super::wire::Wire;
use crate::domain::OutMessage;
use crate::telemetry::metrics::Metrics;

/// Why a call failed, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The chat is gone for the bot (blocked, deactivated, never started): stop messaging it.
    #[error("the chat is unavailable ({0})")]
    ChatGone(String),
    /// Telegram refused this request; sending it again will not help.
    #[error("Telegram refused the request ({0})")]
    Rejected(String),
    /// Network trouble, server errors or time-outs outlasted the retries.
    #[error("Telegram could not be reached ({0})")]
    Transient(String),
    /// Telegram does not know the bot token (401 Unauthorized, or 404 for a token it cannot
    /// parse): nothing will work until the token is fixed.
    #[error("Telegram does not accept the bot token")]
    Unauthorized,
}

/// How to retry passing failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles each time.
    pub first_backoff: Duration,
    /// Longest wait between tries.
    pub max_backoff: Duration,
    /// Time limit for one call.
    pub call_timeout: Duration,
    /// Most `retry_after` answers accepted for one call before giving up.
    pub max_retry_afters: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            call_timeout: Duration::from_secs(20),
            max_retry_afters: 20,
        }
    }
}

/// Most calls on the wire at once (getUpdates aside, which never waits behind sends). At
/// Telegram's pace of 30 messages a second and ~100 ms a call, a handful would do.
const MAX_CALLS_IN_FLIGHT: usize = 16;

/// The Bot API client nudge uses.
pub struct TelegramClient {
    /// Builds the payloads (teloxide's types and setters); never sends them itself.
    bot: Bot,
    /// Sends them, and hands a 5xx back at once.
    wire: Wire,
    /// Kept only to scrub it from error texts: the token is part of every request's URL.
    token: SecretString,
    limiter: Limiter,
    /// Bounds the calls on the wire (and so the connections): thousands of replies at once
    /// would otherwise open thousands of connections and starve the update loop.
    in_flight: tokio::sync::Semaphore,
    retry: RetryPolicy,
    metrics: Arc<Metrics>,
}

/// What a failed attempt means.
enum Verdict {
    RetryAfter(Duration),
    Transient(String),
    Final(SendError),
}

impl TelegramClient {
    /// A client for the Bot API at `api_url`, authenticated with `token`.
    pub fn new(
        token: &SecretString,
        api_url: reqwest::Url,
        limits: Limits,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let http = teloxide::net::default_reqwest_settings()
            .timeout(retry.call_timeout + Duration::from_secs(40))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|error| anyhow::anyhow!("cannot set up the HTTP client: {error}"))?;
        let bot = Bot::with_client(token.expose_secret(), http.clone()).set_api_url(api_url.clone());
        let wire = Wire::new(http, api_url, token.clone())?;
        let in_flight = tokio::sync::Semaphore::new(MAX_CALLS_IN_FLIGHT);
        Ok(Self { bot, wire, token: token.clone(), limiter: Limiter::new(limits), in_flight, retry, metrics })
    }

    /// The bot's username, in one try (checks the token and the connection); the caller
    /// decides about retrying (`app::connect`).
    pub(crate) async fn username(&self) -> Result<String, SendError> {
        let me = self.call_attempts(None, 1, || self.wire.json(self.bot.get_me().payload_ref())).await?;
        Ok(me.username.clone().unwrap_or_default())
    }

    /// Sends `message` to `chat`; returns Telegram's message id.
    pub(crate) async fn send(&self, chat: i64, message: &OutMessage) -> Result<i64, SendError> {
        let sent = self
            .call(Some(chat), || {
                let mut request = self
                    .bot
                    .send_message(ChatId(chat), message.html.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview());
                if let Some(markup) = keyboard(message) {
                    request = request.reply_markup(markup);
                }
                self.wire.json(request.payload_ref())
            })
            .await?;
        self.metrics.messages_sent.inc();
        Ok(i64::from(sent.id.0))
    }

    /// Replaces text and buttons of message `message_id` in `chat`.
    pub(crate) async fn edit(&self, chat: i64, message_id: i64, message: &OutMessage) -> Result<(), SendError> {
        let id = MessageId(i32::try_from(message_id).unwrap_or_default());
        let result = self
            .call(Some(chat), || {
                let mut request = self
                    .bot
                    .edit_message_text(ChatId(chat), id, message.html.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview());
                if let Some(markup) = keyboard(message) {
                    request = request.reply_markup(markup);
                }
                self.wire.json(request.payload_ref())
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SendError::Rejected(why)) if why.contains("not modified") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Answers a button press (the toast the learner sees).
    pub(crate) async fn answer_press(&self, query_id: &str, text: Option<&str>) -> Result<(), SendError> {
        self.call(None, || {
            let mut request = self.bot.answer_callback_query(teloxide::types::CallbackQueryId(query_id.to_owned()));
            if let Some(text) = text {
                request = request.text(text.to_owned());
            }
            self.wire.json(request.payload_ref())
        })
        .await?;
        Ok(())
    }

    /// Sends a file to `chat` with a caption; returns Telegram's message id.
    pub(crate) async fn send_document(
        &self,
        chat: i64,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<i64, SendError> {
        let sent = self
            .call(Some(chat), || {
                let document = Part::bytes(bytes.clone()).file_name(file_name.to_owned());
                let form = Form::new()
                    .text("chat_id", chat.to_string())
                    .text("caption", caption.to_owned())
                    .text("parse_mode", "HTML")
                    .part("document", document);
                self.wire.multipart::<Message>("sendDocument", form)
            })
            .await?;
        self.metrics.messages_sent.inc();
        Ok(i64::from(sent.id.0))
    }

    /// Registers the command menu for users whose Telegram speaks `language` (`None`: the
    /// default), or only for chat `chat` (admins get extra commands).
    pub(crate) async fn set_commands(
        &self,
        commands: &[(String, String)],
        language: Option<&str>,
        chat: Option<i64>,
    ) -> Result<(), SendError> {
        let commands: Vec<BotCommand> = commands.iter().map(|(name, text)| BotCommand::new(name, text)).collect();
        self.call(None, || {
            let mut request = self.bot.set_my_commands(commands.clone());
            if let Some(language) = language {
                request = request.language_code(language.to_owned());
            }
            if let Some(chat) = chat {
                request = request.scope(BotCommandScope::Chat { chat_id: Recipient::Id(ChatId(chat)) });
            }
            self.wire.json(request.payload_ref())
        })
        .await?;
        Ok(())
    }

    /// Registers `url` as the bot's webhook, with `secret` as the token Telegram sends along
    /// (messages and button presses only, as the poller asks for).
    pub(crate) async fn set_webhook(&self, url: &reqwest::Url, secret: &SecretString) -> Result<(), SendError> {
        self.call(None, || {
            let request = self
                .bot
                .set_webhook(url.clone())
                .secret_token(secret.expose_secret().to_owned())
                .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
            self.wire.json(request.payload_ref())
        })
        .await?;
        Ok(())
    }

    /// Removes the bot's webhook, keeping the updates that wait (long polling gets them).
    pub(crate) async fn delete_webhook(&self) -> Result<(), SendError> {
        self.call(None, || self.wire.json(self.bot.delete_webhook().payload_ref())).await?;
        Ok(())
    }

    /// What Telegram knows of the bot's webhook: its address, the updates waiting, the last error.
    pub(crate) async fn webhook_info(&self) -> Result<teloxide::types::WebhookInfo, SendError> {
        self.call(None, || self.wire.json(self.bot.get_webhook_info().payload_ref())).await
    }

    /// Long-polls for updates from `offset`, waiting up to `wait` for the first one. One
    /// attempt: the poller decides about retrying.
    pub(crate) async fn updates(&self, offset: i32, wait: Duration) -> Result<Vec<Update>, SendError> {
        self.limiter.wait_unpaused().await;
        let payload = self
            .bot
            .get_updates()
            .offset(offset)
            .timeout(u32::try_from(wait.as_secs()).unwrap_or(25))
            .limit(100)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let request = self.wire.json(payload.payload_ref());
        match tokio::time::timeout(wait + self.retry.call_timeout, request).await {
            Ok(Ok(updates)) => Ok(updates),
            Ok(Err(error)) => match self.judge(&error) {
                Verdict::RetryAfter(wait) => {
                    self.limiter.pause_for(wait).await;
                    Err(SendError::Transient(format!("asked to wait {} s", wait.as_secs())))
                }
                Verdict::Transient(why) => Err(SendError::Transient(why)),
                Verdict::Final(error) => Err(error),
            },
            Err(_) => Err(SendError::Transient("getUpdates timed out".to_owned())),
        }
    }

    /// Runs one call with pacing (messages only: `chat` is set), retries and a time limit.
    async fn call<T, F, Fut>(&self, chat: Option<i64>, make: F) -> Result<T, SendError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        self.call_attempts(chat, self.retry.max_attempts, make).await
    }

    /// `call` with at most `max_attempts` tries for passing failures.
    async fn call_attempts<T, F, Fut>(&self, chat: Option<i64>, max_attempts: u32, make: F) -> Result<T, SendError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut attempts = 0;
        let mut retry_afters = 0;
        loop {
            // The permit first, then the pacing: a call that waited for a permit still honours a
            // `retry_after` pause that began meanwhile.
            let permit = self.in_flight.acquire().await.ok();
            match chat {
                Some(chat) => self.limiter.acquire_message(chat).await,
                None => self.limiter.wait_unpaused().await,
            }
            let verdict = match tokio::time::timeout(self.retry.call_timeout, make()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => self.judge(&error),
                Err(_) => {
                    self.metrics.call_errors.inc();
                    Verdict::Transient("the call timed out".to_owned())
                }
            };
            drop(permit);
            match verdict {
                Verdict::Final(error) => return Err(error),
                Verdict::RetryAfter(wait) => {
                    retry_afters += 1;
                    self.metrics.rate_limited.inc();
                    tracing::warn!(wait_s = wait.as_secs(), "Telegram asked to slow down");
                    if retry_afters > self.retry.max_retry_afters {
                        return Err(SendError::Transient("Telegram kept asking to wait".to_owned()));
                    }
                    self.limiter.pause_for(wait).await;
                }
                Verdict::Transient(why) => {
                    attempts += 1;
                    if attempts >= max_attempts {
                        return Err(SendError::Transient(why));
                    }
                    let backoff = self.backoff(attempts);
                    tracing::warn!(attempt = attempts, backoff_ms = backoff.as_millis() as u64, error = %why, "Telegram call failed; retrying");
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        crate::clock::doubling_wait(self.retry.first_backoff, self.retry.max_backoff, attempt)
    }

    fn judge(&self, error: &RequestError) -> Verdict {
        let verdict = classify(error).scrubbed(self.token.expose_secret());
        if let Verdict::Transient(_) = verdict {
            self.metrics.call_errors.inc();
        }
        verdict
    }
}

impl Verdict {
    /// The verdict with `token` blanked out of its text. teloxide already hides the token in
    /// network errors when the URL looks like Telegram's; this also covers every other shape
    /// (an `api_url` with a path, an odd token, a server that echoes the URL).
    fn scrubbed(self, token: &str) -> Self {
        match self {
            Self::RetryAfter(wait) => Self::RetryAfter(wait),
            Self::Transient(text) => Self::Transient(scrub(text, token)),
            Self::Final(SendError::ChatGone(text)) => Self::Final(SendError::ChatGone(scrub(text, token))),
            Self::Final(SendError::Rejected(text)) => Self::Final(SendError::Rejected(scrub(text, token))),
            Self::Final(SendError::Transient(text)) => Self::Final(SendError::Transient(scrub(text, token))),
            Self::Final(SendError::Unauthorized) => Self::Final(SendError::Unauthorized),
        }
    }
}

/// `text` with every occurrence of `token` (and of its secret half) replaced by `[token]`.
fn scrub(text: String, token: &str) -> String {
    let secret = token.split_once(':').map_or(token, |(_, secret)| secret);
    [token, secret].into_iter().filter(|part| part.len() >= 4).fold(text, |text, part| text.replace(part, "[token]"))
}

/// Sorts a teloxide error into what to do about it.
fn classify(error: &RequestError) -> Verdict {
    match error {
        RequestError::RetryAfter(seconds) => Verdict::RetryAfter(seconds.duration().max(Duration::from_secs(1))),
        RequestError::Api(api) => classify_api(api),
        RequestError::MigrateToChatId(_) => Verdict::Final(SendError::Rejected("the chat moved".to_owned())),
        RequestError::Network(error) => Verdict::Transient(format!("network: {error}")),
        RequestError::InvalidJson { .. } => Verdict::Transient("an unreadable answer from the server".to_owned()),
        RequestError::Io(error) => Verdict::Transient(format!("I/O: {error}")),
    }
}

fn classify_api(error: &ApiError) -> Verdict {
    match error {
        ApiError::BotBlocked
        | ApiError::UserDeactivated
        | ApiError::ChatNotFound
        | ApiError::BotKicked
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots => Verdict::Final(SendError::ChatGone(error.to_string())),
        ApiError::InvalidToken => Verdict::Final(SendError::Unauthorized),
        ApiError::Unknown(text) => classify_description(text),
        other => Verdict::Final(SendError::Rejected(other.to_string())),
    }
}

/// Telegram's free-text errors: `Forbidden:` means the chat is gone, `Bad Request:` is final,
/// anything else (e.g. `Internal Server Error`, `Bad Gateway`) is passing.
fn classify_description(text: &str) -> Verdict {
    if text.starts_with("Forbidden") {
        Verdict::Final(SendError::ChatGone(text.to_owned()))
    } else if text.starts_with("Bad Request") || text.starts_with("Unauthorized") || text.starts_with("Conflict") {
        Verdict::Final(SendError::Rejected(text.to_owned()))
    } else {
        Verdict::Transient(text.to_owned())
    }
}

fn keyboard(message: &OutMessage) -> Option<InlineKeyboardMarkup> {
    if message.buttons.is_empty() {
        return None;
    }
    let rows = message.buttons.iter().map(|row| {
        row.iter()
            .map(|button| InlineKeyboardButton::callback(button.label.clone(), button.data.clone()))
            .collect::<Vec<_>>()
    });
    Some(InlineKeyboardMarkup::new(rows))
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(verdict: Verdict) -> &'static str {
        match verdict {
            Verdict::RetryAfter(_) => "retry_after",
            Verdict::Transient(_) => "transient",
            Verdict::Final(SendError::ChatGone(_)) => "gone",
            Verdict::Final(SendError::Rejected(_)) => "rejected",
            Verdict::Final(SendError::Transient(_)) => "transient",
            Verdict::Final(SendError::Unauthorized) => "unauthorized",
        }
    }

    #[test]
    fn a_refused_token_is_its_own_verdict() {
        assert_eq!(kind(classify_api(&ApiError::InvalidToken)), "unauthorized");
    }

    #[test]
    fn the_token_is_scrubbed_from_error_texts() {
        let token = "123456:ABC-secret_part";
        let text = scrub("GET http://x/tg/bot123456:ABC-secret_part/GetMe and ABC-secret_part".to_owned(), token);
        assert_eq!(text, "GET http://x/tg/bot[token]/GetMe and [token]");
    }

    #[tokio::test]
    async fn an_unreachable_server_reports_no_token() {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).unwrap().port();
        for token in ["123456:TEST-TOKEN", "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", "plain-token"] {
            for base in [format!("http://127.0.0.1:{port}/"), format!("http://127.0.0.1:{port}/tg/")] {
                let retry = RetryPolicy { call_timeout: Duration::from_secs(2), ..RetryPolicy::default() };
                let client = TelegramClient::new(
                    &SecretString::from(token),
                    base.parse().unwrap(),
                    Limits::NONE,
                    retry,
                    Arc::default(),
                )
                .unwrap();
                let error = client.username().await.unwrap_err();
                let secret = token.split_once(':').map_or(token, |(_, secret)| secret);
                assert!(matches!(error, SendError::Transient(_)), "{error}");
                assert!(!error.to_string().contains(secret), "{error}");
            }
        }
    }

    #[test]
    fn blocked_and_missing_chats_are_gone() {
        assert_eq!(kind(classify_api(&ApiError::BotBlocked)), "gone");
        assert_eq!(kind(classify_api(&ApiError::ChatNotFound)), "gone");
        assert_eq!(kind(classify_api(&ApiError::UserDeactivated)), "gone");
        assert_eq!(kind(classify_description("Forbidden: something new")), "gone");
    }

    #[test]
    fn server_errors_are_passing_and_bad_requests_final() {
        assert_eq!(kind(classify_description("Internal Server Error")), "transient");
        assert_eq!(kind(classify_description("Bad Gateway")), "transient");
        assert_eq!(kind(classify_description("Bad Request: can't parse entities")), "rejected");
        assert_eq!(kind(classify_api(&ApiError::MessageIsTooLong)), "rejected");
    }
}
