//! What happens to one update, however it came (long polling or a webhook): it becomes a
//! `chat::Incoming`, passes the flood limits and is handled by the service, which records its
//! effects; once the caller has made them durable, [`Intake::reply`] answers. Recorded replies
//! go to this instance's sender when it is the active one; on a standby they wait in the outbox
//! (the store) for the active instance, which sweeps it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use teloxide::types::Update;
use tokio_util::task::TaskTracker;

use super::client::TelegramClient;
use super::convert;
use super::inbound::{Admission, InboundLimiter};
use super::sender::OutboxHandle;
use crate::chat::Incoming;
use crate::domain::{LearnerId, Outgoing};
use crate::service::{AdminReport, Batch, ChatMenu, Handled, LeadRequest, Service};
use crate::store::StoreError;
use crate::telemetry::metrics::Metrics;

/// Whether this instance is the active one (sends, schedules, polls) or a standby; shared by
/// the code that takes the lease and the code that hands replies on.
#[derive(Clone, Default)]
pub(crate) struct Role(Arc<AtomicBool>);

impl Role {
    /// True while this instance holds the active lease.
    pub fn is_active(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Records whether this instance holds the active lease.
    pub fn set_active(&self, active: bool) {
        self.0.store(active, Ordering::Release);
    }
}

/// Everything handling an update needs.
pub(crate) struct Intake {
    /// The use cases.
    pub service: Arc<Service>,
    /// The Bot API, for answers to presses and unrecorded messages.
    pub client: Arc<TelegramClient>,
    /// Where recorded replies go on the active instance.
    pub outbox: OutboxHandle,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Per-user limits on incoming messages.
    pub inbound: Mutex<InboundLimiter>,
    /// The app's tasks: answers to presses, unrecorded messages and reports run here, so
    /// shutdown waits for them.
    pub tracker: TaskTracker,
    /// Active or standby.
    pub role: Role,
}

/// A reply to send once the update's effects are durable.
pub(crate) struct Effect {
    learner: LearnerId,
    toast: Option<(String, Option<String>)>,
    batch: Batch,
    direct: Vec<Outgoing>,
    admin_report: Option<AdminReport>,
    menu: Option<ChatMenu>,
    others: Vec<Batch>,
    lead_request: Option<LeadRequest>,
}

impl Effect {
    /// Takes the answer to the button press out of the effect (query id and toast), to send it
    /// another way: in the webhook's 200.
    pub fn take_toast(&mut self) -> Option<(String, Option<String>)> {
        self.toast.take()
    }
}

impl Intake {
    /// Handles one update and records its effects (durable with the store's next flush);
    /// `None` for an update nudge does not handle.
    pub fn handle(&self, update: &Update) -> Result<Option<Effect>, StoreError> {
        self.metrics.updates.inc();
        let Some(incoming) = convert::incoming(update) else {
            tracing::debug!(update = update.id.0, kind = ?update.kind, "ignoring an update nudge does not handle");
            return Ok(None);
        };
        let admission = self
            .inbound
            .lock()
            .map_or(Admission::Accept, |mut limiter| limiter.admit(incoming.from().id, Instant::now()));
        let handled = match admission {
            Admission::Accept => self.service.handle(&incoming, crate::clock::now())?,
            Admission::DropWithNotice => self.service.slow_down(incoming.from(), crate::clock::now())?,
            Admission::Drop => Handled::default(),
        };
        if handled.recorded_answer {
            self.metrics.answers.inc();
        }
        Ok(Some(effect(&incoming, handled)))
    }

    /// Answers presses and sends replies; call it once the effects are durable.
    pub fn reply(&self, effects: Vec<Effect>) {
        for effect in effects {
            self.reply_one(effect);
        }
    }

    fn reply_one(&self, effect: Effect) {
        if let Some((query_id, toast)) = effect.toast {
            let client = self.client.clone();
            let learner = effect.learner;
            self.tracker.spawn(async move {
                if let Err(error) = client.answer_press(&query_id, toast.as_deref()).await {
                    tracing::debug!(learner = learner.get(), error = %error, "could not answer a button press");
                }
            });
        }
        if self.role.is_active() {
            self.outbox.urgent(effect.batch);
            for batch in effect.others {
                self.outbox.urgent(batch);
            }
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
            let outbox = self.role.is_active().then(|| self.outbox.clone());
            self.tracker.spawn(answer_lead(self.service.clone(), outbox, asked));
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
/// for them and hands it to the sender (`outbox`; on a standby the active instance's sweep).
async fn answer_lead(service: Arc<Service>, outbox: Option<OutboxHandle>, asked: LeadRequest) {
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
    match (flushed, outbox) {
        (Ok(batch), Some(outbox)) => outbox.urgent(batch),
        (Ok(_), None) => {}
        (Err(error), _) => {
            tracing::error!(lead = lead.get(), error = %error, "cannot record a lead's digest or report")
        }
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
