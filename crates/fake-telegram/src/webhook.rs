//! Webhook mode: `setWebhook`, `deleteWebhook` and `getWebhookInfo`, and the pusher that POSTs
//! the queued updates to the webhook one at a time while one is set, as Telegram does.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::Params;
use crate::state::{Shared, State, lock, now_unix, set_opt};

/// How long the pusher waits for the webhook's answer unless told otherwise (Telegram's wait).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The header that carries `secret_token`.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// `max_connections` reported by `getWebhookInfo` (Telegram's default; the fake sends one at a time).
const MAX_CONNECTIONS: u32 = 40;

/// Where updates go while a webhook is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The http(s) URL updates are POSTed to.
    pub url: String,
    /// Sent as [`SECRET_HEADER`], if set.
    pub secret: Option<String>,
}

/// The webhook part of the state.
#[derive(Debug)]
pub struct WebhookState {
    /// The webhook, `None` while the bot polls.
    pub target: Option<Target>,
    /// (unix time, message) of the latest failed delivery to the current webhook.
    pub last_error: Option<(i64, String)>,
    /// How long a delivery may wait for the answer.
    pub timeout: Duration,
}

impl Default for WebhookState {
    fn default() -> Self {
        WebhookState { target: None, last_error: None, timeout: DEFAULT_TIMEOUT }
    }
}

impl WebhookState {
    /// Whether a webhook is set (getUpdates is then refused).
    pub fn is_set(&self) -> bool {
        self.target.is_some()
    }

    /// Sets the webhook; a new URL forgets the old one's last error.
    fn set(&mut self, target: Target) {
        if self.target.as_ref().is_none_or(|t| t.url != target.url) {
            self.last_error = None;
        }
        self.target = Some(target);
    }

    /// Removes the webhook and its last error.
    fn delete(&mut self) {
        self.target = None;
        self.last_error = None;
    }
}

/// The 409 getUpdates gets while a webhook is set.
pub fn conflict() -> ApiError {
    ApiError::new(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
}

/// Runs a webhook method; `None` for other methods. Wakes long polls (which a webhook ends with
/// 409) and the pusher (which may now have somewhere to deliver).
pub fn call(shared: &Shared, method: &str, p: &Params) -> Option<Result<Value, ApiError>> {
    let result = {
        let mut st = lock(&shared.state);
        match method {
            "setWebhook" => set_webhook(&mut st, p),
            "deleteWebhook" => Ok(delete_webhook(&mut st, p)),
            "getWebhookInfo" => Ok(info(&mut st)),
            _ => return None,
        }
    };
    shared.updates_arrived.notify_waiters();
    Some(result)
}

/// The `description` Telegram puts beside a successful webhook call's `true`.
pub fn success_note(method: &str, params: &Value) -> Option<&'static str> {
    let url_empty = params.get("url").and_then(Value::as_str).is_none_or(str::is_empty);
    match method {
        "setWebhook" if !url_empty => Some("Webhook was set"),
        "setWebhook" | "deleteWebhook" => Some("Webhook was deleted"),
        _ => None,
    }
}

/// `setWebhook`. A missing or empty `url` deletes the webhook, as in Telegram; an empty
/// `secret_token` is no secret (Telegram does not tell them apart).
fn set_webhook(st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let url = p.text("url").unwrap_or_default();
    let secret = p.text("secret_token").filter(|s| !s.is_empty());
    if secret.as_deref().is_some_and(|s| !valid_secret(s)) {
        return Err(ApiError::bad("secret token contains unallowed characters"));
    }
    let allowed = p.allowed_updates()?;
    p.int("max_connections")?; // accepted and ignored: deliveries go one at a time
    if url.is_empty() {
        return Ok(delete_webhook(st, p));
    }
    if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
        return Err(ApiError::bad("bad webhook: An HTTPS URL must be provided for webhook"));
    }
    if p.flag("drop_pending_updates") {
        st.updates.clear();
    }
    if let Some(allowed) = allowed {
        st.set_allowed_updates(allowed);
    }
    st.webhook.set(Target { url, secret });
    Ok(json!(true))
}

/// 1–256 characters of `A-Z a-z 0-9 _ -`.
fn valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `deleteWebhook` (also `setWebhook` with an empty url).
fn delete_webhook(st: &mut State, p: &Params) -> Value {
    if p.flag("drop_pending_updates") {
        st.updates.clear();
    }
    st.webhook.delete();
    json!(true)
}

/// `getWebhookInfo`. Without a webhook the url is "" and there is no `max_connections` or last
/// error, as Telegram answers; `allowed_updates` shows whenever the bot set it.
fn info(st: &mut State) -> Value {
    st.drop_disallowed();
    let url = st.webhook.target.as_ref().map_or("", |t| t.url.as_str());
    let mut v = json!({ "url": url, "has_custom_certificate": false, "pending_update_count": st.updates.len() });
    if st.webhook.is_set() {
        if let Some((date, message)) = &st.webhook.last_error {
            v["last_error_date"] = json!(date);
            v["last_error_message"] = json!(message);
        }
        v["max_connections"] = json!(MAX_CONNECTIONS);
    }
    set_opt(&mut v, "allowed_updates", st.allowed_updates.as_ref().map(|a| json!(a)));
    v
}

/// One update on its way to the webhook.
struct Delivery {
    target: Target,
    update_id: i64,
    body: String,
    timeout: Duration,
}

/// Delivers queued updates to the webhook, in order and one at a time, for as long as it runs:
/// the server drops it when it stops.
pub async fn push_forever(shared: Arc<Shared>) {
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build();
    let Ok(client) = client else {
        eprintln!("fake-telegram: no HTTP client, webhooks get no updates");
        return std::future::pending().await;
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let arrived = shared.updates_arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let Some(delivery) = next_delivery(&shared) else {
            arrived.await;
            continue;
        };
        let outcome = post(&client, &delivery).await;
        let delivered = outcome.is_ok();
        let method = outcome.as_ref().ok().cloned().flatten();
        settle(&shared, &delivery, outcome.map(drop));
        if let Some((name, params)) = method {
            lock(&shared.state).stats.webhook_methods += 1;
            crate::routes::call_as_bot(&shared, &name, Params::from_json(params)).await;
        }
        if delivered {
            backoff = FIRST_BACKOFF;
        } else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// The head of the queue (after `allowed_updates` filtering), if a webhook is set.
fn next_delivery(shared: &Shared) -> Option<Delivery> {
    let mut st = lock(&shared.state);
    let target = st.webhook.target.clone()?;
    st.drop_disallowed();
    let update = st.updates.front()?;
    let update_id = update["update_id"].as_i64().unwrap_or(0);
    Some(Delivery { target, update_id, body: update.to_string(), timeout: st.webhook.timeout })
}

/// A method a webhook answered with, and its parameters.
type Answered = Option<(String, serde_json::Map<String, Value>)>;

/// POSTs the update; `Ok` carries the method the webhook answered with, if any (Telegram runs
/// it, and says nothing of how it went); `Err` the message `getWebhookInfo` reports.
async fn post(client: &reqwest::Client, d: &Delivery) -> Result<Answered, String> {
    let mut request =
        client.post(&d.target.url).timeout(d.timeout).header(CONTENT_TYPE, "application/json").body(d.body.clone());
    if let Some(secret) = &d.target.secret {
        request = request.header(SECRET_HEADER, secret);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            Ok(answered_method(&response.text().await.unwrap_or_default()))
        }
        Ok(response) => Err(format!("Wrong response from the webhook: {}", response.status())),
        Err(e) => Err(failure_message(&e)),
    }
}

/// The method in a webhook's answer: a JSON object with a `method` string.
fn answered_method(body: &str) -> Answered {
    let Ok(Value::Object(mut params)) = serde_json::from_str::<Value>(body) else { return None };
    let Some(Value::String(method)) = params.remove("method") else { return None };
    Some((method, params))
}

/// Telegram-like text for a delivery that got no answer.
fn failure_message(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "Read timeout expired".to_owned();
    }
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "Connection refused".to_owned(),
                _ => format!("Connection failed: {io}"),
            };
        }
        source = cause.source();
    }
    format!("Connection failed: {e}")
}

/// Confirms a delivered update (as a getUpdates offset past it would) or records the failure.
fn settle(shared: &Shared, d: &Delivery, outcome: Result<(), String>) {
    let mut st = lock(&shared.state);
    match outcome {
        Ok(()) => {
            st.stats.webhook_posts += 1;
            st.confirm(d.update_id + 1);
        }
        Err(message) => {
            st.stats.webhook_failures += 1;
            if st.webhook.target.as_ref().is_some_and(|t| t.url == d.target.url) {
                st.webhook.last_error = Some((now_unix(), message));
            }
        }
    }
    drop(st);
    shared.changed.notify_waiters();
}
