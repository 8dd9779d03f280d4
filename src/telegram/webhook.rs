//! Webhook mode: Telegram POSTs each update to `[telegram] webhook_url`, which a load balancer
//! hands to any instance's `webhook_listen`, the active one or a standby.
//!
//! A request without the secret token (`NUDGE_WEBHOOK_SECRET`) gets 401 and changes nothing.
//! An update is claimed in the store by its `update_id` first, so one Telegram sends again
//! (after a time-out, a crash, or to another instance) is handled once; Telegram gets 200 only
//! after the update's effects and its "done" mark are flushed. A claim names its claimer (the
//! store's opening, or the database session), so one a dead instance left is taken over at
//! once; one whose claimer lives but hangs expires after [`CLAIM_EXPIRY`]. A crash between the
//! effects and the mark has the update handled again: the same window long polling has between
//! recording a batch and confirming it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use teloxide::types::Update;
use tokio_util::sync::CancellationToken;

use super::client::TelegramClient;
use super::intake::{Effect, Intake};
use super::poller::record_failure;
use crate::domain::UpdateId;
use crate::store::{StoreError, UpdateClaim};

/// How long a claim on an update protects it from a second handler; past it, an instance
/// that died while handling it is presumed gone and Telegram's next try is handled.
pub(crate) const CLAIM_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// How long the record of a handled update is kept: Telegram stops trying long before.
const KEEP_HANDLED: chrono::TimeDelta = chrono::TimeDelta::days(2);
/// How often old records are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The header Telegram puts the secret token in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// A bound webhook listener, ready to serve.
pub(crate) struct WebhookListener {
    listener: tokio::net::TcpListener,
    listen: SocketAddr,
}

/// Binds `listen`; the daemon does not start in webhook mode without it.
pub(crate) async fn bind(listen: SocketAddr) -> anyhow::Result<WebhookListener> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for Telegram's webhook on {listen}: {error}"))?;
    Ok(WebhookListener { listener, listen })
}

/// What the handlers share.
#[derive(Clone)]
struct Hook {
    intake: Arc<Intake>,
    secret: Arc<SecretString>,
    /// The update that failed last and how often, so one that keeps failing is skipped.
    poison: Arc<Mutex<Option<(UpdateId, u32)>>>,
}

/// What became of one posted update.
enum Outcome {
    /// Handled now; its replies go out once it is durable.
    Handled(Option<Box<Effect>>),
    /// Handled before (Telegram sent it again).
    AlreadyHandled,
    /// Another handler holds a fresh claim on it.
    Busy,
    /// It failed every try and is given up on.
    Skipped,
}

/// Serves the webhook until `cancel` fires, and deletes old update records hourly.
pub(crate) async fn serve(
    bound: WebhookListener,
    intake: Arc<Intake>,
    secret: SecretString,
    cancel: CancellationToken,
) {
    tracing::info!(listen = %bound.listen, "taking Telegram's updates by webhook");
    let hook = Hook { intake, secret: Arc::new(secret), poison: Arc::default() };
    let pruning = tokio::spawn(prune(hook.intake.clone(), cancel.clone()));
    let app = Router::new().fallback(receive).with_state(hook);
    let shutdown = async move { cancel.cancelled().await };
    if let Err(error) = axum::serve(bound.listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %error, "the webhook listener stopped");
    }
    pruning.abort();
}

async fn receive(State(hook): State<Hook>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if method != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Telegram posts updates here\n");
    }
    if !hook.authorised(&headers) {
        hook.intake.metrics.webhook_refused.inc();
        tracing::warn!(
            "refused a webhook request without the right secret token (is NUDGE_WEBHOOK_SECRET the same on every instance, and was `nudge webhook set` run with it?)"
        );
        return plain(StatusCode::UNAUTHORIZED, "wrong or missing secret token\n");
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            tracing::warn!(error = %error, "a webhook request with the right secret held no update");
            return plain(StatusCode::BAD_REQUEST, "not a Telegram update\n");
        }
    };
    let worker = hook.clone();
    match tokio::task::spawn_blocking(move || worker.take(&update)).await {
        Ok(Ok(outcome)) => hook.finish(outcome).await,
        Ok(Err(error)) => {
            tracing::error!(error = %error, "cannot record an update; Telegram will send it again");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot record the update\n")
        }
        Err(error) => {
            tracing::error!(error = %error, "handling an update failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot handle the update\n")
        }
    }
}

impl Hook {
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let given = headers.get(SECRET_HEADER).map_or(&[][..], |value| value.as_bytes());
        same_secret(given, self.secret.expose_secret().as_bytes())
    }

    /// Claims the update, handles it and marks it done (a blocking store call each).
    fn take(&self, update: &Update) -> Result<Outcome, StoreError> {
        let store = self.intake.service.store();
        let id = UpdateId::new(i64::from(update.id.0));
        match store.claim_update(id, crate::clock::now(), CLAIM_EXPIRY)? {
            UpdateClaim::Done => return Ok(Outcome::AlreadyHandled),
            UpdateClaim::Busy => return Ok(Outcome::Busy),
            UpdateClaim::Taken => {}
        }
        match self.intake.handle(update) {
            Ok(effect) => {
                store.finish_update(id, crate::clock::now())?;
                Ok(Outcome::Handled(effect.map(Box::new)))
            }
            Err(error) => {
                let poisoned = self.poison.lock().is_ok_and(|mut poison| record_failure(&mut poison, id));
                if !poisoned {
                    store.release_update(id)?;
                    return Err(error);
                }
                tracing::error!(update = id.get(), error = %error, "an update keeps failing; skipping it");
                self.intake.metrics.parked_updates.inc();
                store.finish_update(id, crate::clock::now())?;
                Ok(Outcome::Skipped)
            }
        }
    }

    /// Flushes, then replies and tells Telegram. The answer to a button press goes in the 200
    /// itself, as a method Telegram runs: a press is answered exactly when Telegram hears the
    /// update was taken, even if this instance dies a moment later.
    async fn finish(&self, outcome: Outcome) -> Response {
        match outcome {
            Outcome::AlreadyHandled => {
                self.intake.metrics.webhook_duplicates.inc();
                return plain(StatusCode::OK, "handled before\n");
            }
            Outcome::Busy => {
                self.intake.metrics.webhook_duplicates.inc();
                return plain(StatusCode::SERVICE_UNAVAILABLE, "being handled; try again\n");
            }
            Outcome::Handled(_) | Outcome::Skipped => {}
        }
        if let Err(error) = self.intake.service.store().flush().await {
            tracing::error!(error = %error, "cannot make an update durable; Telegram will send it again");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "cannot make the update durable\n");
        }
        let Outcome::Handled(Some(mut effect)) = outcome else { return plain(StatusCode::OK, "ok\n") };
        let toast = effect.take_toast();
        self.intake.reply(vec![*effect]);
        match toast {
            Some((query_id, text)) => press_answer(&query_id, text.as_deref()),
            None => plain(StatusCode::OK, "ok\n"),
        }
    }
}

/// An answer of `status` with a line of plain text for whoever reads the balancer's log.
fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// A 200 that asks Telegram to answer button press `query_id` with `text` (the toast).
fn press_answer(query_id: &str, text: Option<&str>) -> Response {
    let mut method = serde_json::json!({ "method": "answerCallbackQuery", "callback_query_id": query_id });
    if let Some(text) = text {
        method["text"] = serde_json::Value::from(text);
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], method.to_string()).into_response()
}

/// Compares the whole of both secrets, whatever their first difference, so the time a refusal
/// takes says nothing about the secret.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let differences = given.iter().zip(secret).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    given.len() == secret.len() && differences == 0
}

/// Deletes the records of updates older than [`KEEP_HANDLED`], hourly.
async fn prune(intake: Arc<Intake>, cancel: CancellationToken) {
    loop {
        let store = intake.service.store().clone();
        let before = crate::clock::now() - KEEP_HANDLED;
        match tokio::task::spawn_blocking(move || store.prune_updates(before)).await {
            Ok(Ok(pruned)) => tracing::debug!(pruned, "deleted old webhook update records"),
            Ok(Err(error)) => tracing::warn!(error = %error, "cannot delete old webhook update records"),
            Err(error) => tracing::warn!(error = %error, "deleting old webhook update records failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

/// How often the active instance asks Telegram whether the webhook still points here: a
/// `nudge webhook delete`, or a deploy of another bot on this token, would otherwise leave every
/// instance waiting for updates that never come.
const CHECK_EVERY: Duration = Duration::from_secs(300);

/// What Telegram's record of the webhook says.
#[derive(Debug, Clone, PartialEq)]
enum Registration {
    /// It points at `webhook_url`; `last_error` is Telegram's latest failed post, if any.
    Here { pending: u32, last_error: Option<String> },
    /// No webhook: updates wait for a `getUpdates` nobody sends.
    Missing,
    /// Another address gets the updates.
    Elsewhere(reqwest::Url),
}

/// Asks Telegram at start and every [`CHECK_EVERY`] whether its webhook is `url`, keeps
/// `nudge_webhook_registered` (1 or 0) and says by name what is wrong: no webhook at all,
/// another address (every check, while it lasts), or a new delivery error.
pub(crate) async fn watch_registration(
    client: Arc<TelegramClient>,
    url: reqwest::Url,
    metrics: Arc<crate::telemetry::metrics::Metrics>,
    cancel: CancellationToken,
) {
    let mut last: Option<Registration> = None;
    loop {
        match registration(&client, &url).await {
            Ok(now) => {
                metrics.webhook_registered.set(i64::from(matches!(now, Registration::Here { .. })));
                say(&now, last.as_ref(), &url);
                last = Some(now);
            }
            Err(error) => tracing::warn!(error = %error, "cannot ask Telegram about the webhook"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}

async fn registration(client: &TelegramClient, url: &reqwest::Url) -> Result<Registration, super::SendError> {
    let info = client.webhook_info().await?;
    Ok(match info.url {
        None => Registration::Missing,
        Some(registered) if &registered != url => Registration::Elsewhere(registered),
        Some(_) => Registration::Here { pending: info.pending_update_count, last_error: info.last_error_message },
    })
}

/// Logs `now`: what is wrong at every check, what is right when it was not before, a delivery
/// error when it is new.
fn say(now: &Registration, before: Option<&Registration>, url: &reqwest::Url) {
    match now {
        Registration::Missing => tracing::error!(
            webhook_url = %url,
            "Telegram has no webhook for this bot, so no update will arrive: run `nudge webhook set` once"
        ),
        Registration::Elsewhere(registered) => tracing::error!(
            registered = %registered,
            webhook_url = %url,
            "Telegram posts this bot's updates to another address: run `nudge webhook set`"
        ),
        Registration::Here { pending, last_error } => {
            let (was_here, error_before) = match before {
                Some(Registration::Here { last_error, .. }) => (true, last_error.as_ref()),
                _ => (false, None),
            };
            if !was_here {
                tracing::info!(pending, "Telegram's webhook points here");
            }
            if let Some(message) = last_error.as_ref().filter(|message| Some(*message) != error_before) {
                tracing::warn!(error = %message, "Telegram's last try to post an update failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn only_the_whole_secret_is_the_secret() {
        assert!(same_secret(b"abc-123", b"abc-123"));
        assert!(!same_secret(b"abc-12", b"abc-123"), "a prefix is not the secret");
        assert!(!same_secret(b"abc-1234", b"abc-123"), "nor is a longer text that starts with it");
        assert!(!same_secret(b"", b"abc-123"));
        assert!(!same_secret(b"abc-124", b"abc-123"));
    }
}
