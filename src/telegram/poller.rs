//! Receiving updates without losing any: our own getUpdates loop.
//!
//! teloxide's stock polling confirms a batch (by asking for the next offset) before its handlers
//! finish. Here each batch is handled first, its effects and the next offset are written to the
//! store and flushed, and only then are replies sent and the next batch requested, which is
//! what confirms the previous one to Telegram. A crash at any point loses nothing Telegram
//! considers delivered: unconfirmed updates simply come again.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;

use teloxide::types::Update;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::client::{SendError, TelegramClient};
use super::convert;
use super::inbound::{Admission, InboundLimiter};
use super::sender::OutboxHandle;
use crate::chat::Incoming;
use crate::domain::{LearnerId, Outgoing};
use crate::service::{AdminReport, Batch, ChatMenu, Handled, LeadRequest, Service};
use crate::telemetry::metrics::Metrics;

/// How long one getUpdates call waits for news.
const LONG_POLL: Duration = Duration::from_secs(25);
/// Tries before an update that keeps failing is skipped (logged as an error).
const MAX_TRIES_PER_UPDATE: u32 = 3;

/// Everything the loop needs.
pub(crate) struct Poller {
    /// The use cases.
    pub service: Arc<Service>,
    /// The Bot API.
    pub client: Arc<TelegramClient>,
    /// Where replies go.
    pub outbox: OutboxHandle,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Per-user limits on incoming messages.
    pub inbound: Mutex<InboundLimiter>,
    /// The app's tasks: answers to presses, unrecorded messages and reports run here, so
    /// shutdown waits for them.
    pub tracker: TaskTracker,
}

/// A reply to send once the batch is durable.
struct Effect {
    learner: LearnerId,
    toast: Option<(String, Option<String>)>,
    batch: Batch,
    direct: Vec<Outgoing>,
    admin_report: Option<AdminReport>,
    menu: Option<ChatMenu>,
    others: Vec<Batch>,
    lead_request: Option<LeadRequest>,
}

impl Poller {
    /// Polls until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let mut failures = 0u32;
        let mut poison: Option<(i32, u32)> = None;
        loop {
            let offset = match self.service.store().update_offset() {
                Ok(offset) => i32::try_from(offset).unwrap_or(0),
                Err(error) => {
                    tracing::error!(error = %error, "cannot read the update offset; stopping the poller");
                    return;
                }
            };
            tracing::trace!(offset, "getUpdates");
            let updates = tokio::select! {
                _ = cancel.cancelled() => return,
                updates = self.client.updates(offset, LONG_POLL) => updates,
            };
            tracing::trace!(n = updates.as_ref().map_or(0, Vec::len), "getUpdates returned");
            match updates {
                Ok(updates) => {
                    failures = 0;
                    self.process(updates, &mut poison).await;
                }
                Err(error) => {
                    failures += 1;
                    let wait = Duration::from_millis(500 * u64::from(failures.min(20)));
                    log_poll_error(&error, wait);
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Handles a batch, makes it durable, then replies.
    async fn process(&self, updates: Vec<Update>, poison: &mut Option<(i32, u32)>) {
        let Some(last) = updates.last() else { return };
        let started = std::time::Instant::now();
        let mut next_offset = last.id.as_offset();
        let mut effects = Vec::with_capacity(updates.len());
        for update in &updates {
            self.metrics.updates.inc();
            let Some(incoming) = convert::incoming(update) else {
                tracing::debug!(update = update.id.0, kind = ?update.kind, "ignoring an update nudge does not handle");
                continue;
            };
            let admission = self
                .inbound
                .lock()
                .map_or(Admission::Accept, |mut limiter| limiter.admit(incoming.from().id, Instant::now()));
            let result = match admission {
                Admission::Accept => self.service.handle(&incoming, crate::clock::now()),
                Admission::DropWithNotice => self.service.slow_down(incoming.from(), crate::clock::now()),
                Admission::Drop => Ok(Handled::default()),
            };
            match result {
                Ok(handled) => {
                    if handled.recorded_answer {
                        self.metrics.answers.inc();
                    }
                    effects.push(effect(&incoming, handled));
                }
                Err(error) => {
                    let id = i32::try_from(update.id.0).unwrap_or(i32::MAX);
                    if record_failure(poison, id) {
                        self.metrics.parked_updates.inc();
                        tracing::error!(update = id, error = %error, "an update keeps failing; skipping it");
                        continue;
                    }
                    tracing::error!(update = id, error = %error, "cannot record an update; it will be fetched again");
                    next_offset = id;
                    break;
                }
            }
        }
        let handled = started.elapsed();
        let durable = self.make_durable(next_offset).await;
        tracing::debug!(
            updates = updates.len(),
            handled_ms = handled.as_secs_f64() * 1000.0,
            flushed_ms = (started.elapsed() - handled).as_secs_f64() * 1000.0,
            "batch recorded"
        );
        if let Err(error) = durable {
            tracing::error!(error = %error, "cannot make answers durable; they will be fetched again");
            return;
        }
        self.reply(effects);
    }

    async fn make_durable(&self, next_offset: i32) -> Result<(), crate::store::StoreError> {
        let store = self.service.store();
        store.set_update_offset(i64::from(next_offset))?;
        store.flush().await
    }

    fn reply(&self, effects: Vec<Effect>) {
        for effect in effects {
            if let Some((query_id, toast)) = effect.toast {
                let client = self.client.clone();
                let learner = effect.learner;
                self.tracker.spawn(async move {
                    if let Err(error) = client.answer_press(&query_id, toast.as_deref()).await {
                        tracing::debug!(learner = learner.get(), error = %error, "could not answer a button press");
                    }
                });
            }
            self.outbox.urgent(effect.batch);
            for batch in effect.others {
                self.outbox.urgent(batch);
            }
            if !effect.direct.is_empty() {
                self.tracker.spawn(send_direct(self.client.clone(), effect.learner, effect.direct));
            }
            if let Some(chat_menu) = effect.menu {
                let (client, learner) = (self.client.clone(), effect.learner);
                self.tracker.spawn(async move { super::menu::set_for_chat(&client, learner.get(), chat_menu).await });
            }
            if let Some(asked) = effect.admin_report {
                self.tracker.spawn(send_report(self.service.clone(), self.client.clone(), asked));
            }
            if let Some(asked) = effect.lead_request {
                self.tracker.spawn(answer_lead(self.service.clone(), self.outbox.clone(), asked));
            }
        }
    }
}

/// Builds an admin's report on a blocking thread (it reads the whole store) and sends it
/// without recording it: the store keeps no copy of reports.
async fn send_report(service: Arc<Service>, client: Arc<TelegramClient>, asked: AdminReport) {
    let admin = asked.admin;
    let built = tokio::task::spawn_blocking(move || service.admin_report(&asked, crate::clock::now())).await;
    match built {
        Ok(messages) => send_direct(client, admin, messages).await,
        Err(error) => tracing::error!(error = %error, "building a report failed"),
    }
}

/// Builds a lead's digest or report on a blocking thread (it reads the whole store), records it
/// for them and hands it to the sender.
async fn answer_lead(service: Arc<Service>, outbox: OutboxHandle, asked: LeadRequest) {
    let lead = asked.lead;
    let store = service.store().clone();
    let built = tokio::task::spawn_blocking(move || service.lead_request(&asked, crate::clock::now())).await;
    let flushed = match built {
        Ok(Ok(batch)) => store.flush().await.map(|()| batch),
        Ok(Err(error)) => Err(error),
        Err(error) => {
            return tracing::error!(lead = lead.get(), error = %error, "building a lead's digest or report failed");
        }
    };
    match flushed {
        Ok(batch) => outbox.urgent(batch),
        Err(error) => tracing::error!(lead = lead.get(), error = %error, "cannot record a lead's digest or report"),
    }
}

/// Sends messages that must not be recorded (the goodbye after an erasure).
pub(crate) async fn send_direct(client: Arc<TelegramClient>, learner: LearnerId, direct: Vec<Outgoing>) {
    for outgoing in direct {
        let result = match &outgoing {
            Outgoing::Send { message } => client.send(learner.get(), message).await.map(drop),
            Outgoing::Edit { message_id, message } => client.edit(learner.get(), *message_id, message).await,
            Outgoing::Document { file_name, caption, content } => {
                client.send_document(learner.get(), file_name, content.as_bytes().to_vec(), caption).await.map(drop)
            }
        };
        if let Err(error) = result {
            tracing::debug!(error = %error, "could not send an unrecorded message");
        }
    }
}

fn effect(incoming: &Incoming, handled: Handled) -> Effect {
    let learner = incoming.from().id;
    let toast = match incoming {
        Incoming::Press { query_id, .. } => Some((query_id.clone(), handled.toast)),
        _ => None,
    };
    Effect {
        learner,
        toast,
        batch: Batch { learner, seqs: handled.to_send },
        direct: handled.direct,
        admin_report: handled.admin_report,
        menu: handled.menu,
        others: handled.others,
        lead_request: handled.lead_request,
    }
}

/// Counts a failure of update `id`; true once it failed too often to keep trying.
fn record_failure(poison: &mut Option<(i32, u32)>, id: i32) -> bool {
    let tries = match poison {
        Some((seen, tries)) if *seen == id => *tries + 1,
        _ => 1,
    };
    *poison = Some((id, tries));
    tries >= MAX_TRIES_PER_UPDATE
}

fn log_poll_error(error: &SendError, wait: Duration) {
    match error {
        SendError::Transient(_) => {
            tracing::warn!(error = %error, retry_in_ms = wait.as_millis() as u64, "getUpdates failed")
        }
        _ => {
            tracing::error!(error = %error, retry_in_ms = wait.as_millis() as u64, "getUpdates refused (is another instance running, or the token revoked?)")
        }
    }
}
