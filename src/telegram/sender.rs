//! The outbox worker: sends pending deliveries and records the outcome of each.
//!
//! Batches arrive per learner, replies on an urgent lane and scheduled nudges on a bulk lane.
//! One learner's messages go out in order, one at a time; different learners in parallel. A
//! chat Telegram refuses makes the learner inactive at once; a delivery whose retries ran out
//! is recorded as failed. Whatever is still pending at shutdown stays in the outbox and is sent
//! after the next start.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{SendError, TelegramClient};
use crate::metrics::Metrics;
use crate::model::{DeliverySeq, DeliveryState, LearnerId, Outgoing, Purpose, Status};
use crate::service::Batch;
use crate::store::{Store, StoreError};

/// Most learners whose scheduled nudges are in flight at once; replies are not capped, so they
/// never wait behind a large fan-out for more than a few message slots.
const BULK_IN_FLIGHT: usize = 48;

/// At shutdown, a send in flight gets this long to finish and be recorded; after that it is
/// abandoned and stays pending (sent again at the next start).
const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Where the poller and the scheduler hand over deliveries to send.
#[derive(Clone)]
pub struct OutboxHandle {
    urgent: mpsc::UnboundedSender<Batch>,
    bulk: mpsc::UnboundedSender<Batch>,
}

impl OutboxHandle {
    /// Replies to something a learner just did.
    pub fn urgent(&self, batch: Batch) {
        if !batch.seqs.is_empty() && self.urgent.send(batch).is_err() {
            tracing::debug!("the sender has stopped; the delivery stays in the outbox");
        }
    }

    /// Scheduled nudges and the outbox left over from a previous run.
    pub fn bulk(&self, batch: Batch) {
        if !batch.seqs.is_empty() && self.bulk.send(batch).is_err() {
            tracing::debug!("the sender has stopped; the delivery stays in the outbox");
        }
    }
}

/// The receiving end, for [`run`].
pub struct OutboxReceiver {
    urgent: mpsc::UnboundedReceiver<Batch>,
    bulk: mpsc::UnboundedReceiver<Batch>,
}

#[cfg(test)]
impl OutboxReceiver {
    /// The scheduled batches handed over so far (tests of the scheduler).
    pub(crate) fn drain_bulk(&mut self) -> Vec<Batch> {
        std::iter::from_fn(|| self.bulk.try_recv().ok()).collect()
    }
}

/// A connected handle and receiver.
pub fn outbox() -> (OutboxHandle, OutboxReceiver) {
    let (urgent_tx, urgent_rx) = mpsc::unbounded_channel();
    let (bulk_tx, bulk_rx) = mpsc::unbounded_channel();
    (OutboxHandle { urgent: urgent_tx, bulk: bulk_tx }, OutboxReceiver { urgent: urgent_rx, bulk: bulk_rx })
}

/// What every delivery task needs.
struct Ctx {
    store: Store,
    client: Arc<TelegramClient>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    /// Wakes the flusher: a delivery's outcome was recorded and should become durable.
    recorded: Notify,
}

/// Hands the pending outbox of a previous run to `outbox`, replies first.
pub fn requeue_pending(store: &Store, outbox: &OutboxHandle) -> Result<usize, StoreError> {
    let pending = store.pending()?;
    let mut batches: Vec<(bool, Batch)> = Vec::new();
    let mut index: HashMap<LearnerId, usize> = HashMap::new();
    for (learner, seq) in &pending {
        let urgent = store.delivery(*learner, *seq)?.is_some_and(|delivery| delivery.purpose == Purpose::Reply);
        let slot = *index.entry(*learner).or_insert_with(|| {
            batches.push((urgent, Batch { learner: *learner, seqs: Vec::new() }));
            batches.len() - 1
        });
        batches[slot].1.seqs.push(*seq);
    }
    for (urgent, batch) in batches {
        if urgent { outbox.urgent(batch) } else { outbox.bulk(batch) }
    }
    Ok(pending.len())
}

/// Sends until `cancel` fires; in-flight sends finish their current call.
pub async fn run(
    mut receiver: OutboxReceiver,
    store: Store,
    client: Arc<TelegramClient>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let ctx = Arc::new(Ctx { store, client, metrics, cancel: cancel.clone(), recorded: Notify::new() });
    let flusher = tokio::spawn(flush_recorded(ctx.clone()));
    let mut dispatcher = Dispatcher::default();
    let mut tasks: JoinSet<(LearnerId, bool)> = JoinSet::new();
    loop {
        let bulk_open = dispatcher.bulk_in_flight < BULK_IN_FLIGHT;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            Some(batch) = receiver.urgent.recv() => dispatcher.offer(batch, true, &ctx, &mut tasks),
            Some(done) = tasks.join_next() => {
                if let Ok((learner, bulk)) = done {
                    dispatcher.finished(learner, bulk, &ctx, &mut tasks);
                }
            }
            Some(batch) = receiver.bulk.recv(), if bulk_open => dispatcher.offer(batch, false, &ctx, &mut tasks),
        }
        // Batches queued or in flight: cheap to count here, unlike the store's outbox.
        let queued = receiver.urgent.len() + receiver.bulk.len() + dispatcher.waiting.len() + tasks.len();
        ctx.metrics.queue_length.set(i64::try_from(queued).unwrap_or(i64::MAX));
    }
    while tasks.join_next().await.is_some() {}
    // The flusher ends with the cancellation; waiting for it lets its last flush finish.
    if let Err(error) = flusher.await {
        tracing::error!(error = %error, "the flusher of sent messages failed");
    }
}

/// Group commit: makes recorded outcomes durable within a few milliseconds, one flush for
/// however many were recorded meanwhile. Until its mark is durable a send counts as in flight:
/// a crash may repeat it, and only it.
async fn flush_recorded(ctx: Arc<Ctx>) {
    loop {
        tokio::select! {
            () = ctx.recorded.notified() => {}
            () = ctx.cancel.cancelled() => return,
        }
        if let Err(error) = ctx.store.flush().await {
            tracing::error!(error = %error, "cannot flush sent messages");
        }
    }
}

/// Keeps each learner's batches in order and one at a time.
#[derive(Default)]
struct Dispatcher {
    busy: HashSet<LearnerId>,
    waiting: HashMap<LearnerId, VecDeque<(Batch, bool)>>,
    bulk_in_flight: usize,
}

impl Dispatcher {
    fn offer(&mut self, batch: Batch, urgent: bool, ctx: &Arc<Ctx>, tasks: &mut JoinSet<(LearnerId, bool)>) {
        if self.busy.contains(&batch.learner) {
            self.waiting.entry(batch.learner).or_default().push_back((batch, urgent));
            return;
        }
        self.start(batch, urgent, ctx, tasks);
    }

    fn start(&mut self, batch: Batch, urgent: bool, ctx: &Arc<Ctx>, tasks: &mut JoinSet<(LearnerId, bool)>) {
        let learner = batch.learner;
        self.busy.insert(learner);
        if !urgent {
            self.bulk_in_flight += 1;
        }
        let ctx = ctx.clone();
        tasks.spawn(async move {
            deliver_batch(&ctx, &batch).await;
            (learner, !urgent)
        });
    }

    fn finished(&mut self, learner: LearnerId, was_bulk: bool, ctx: &Arc<Ctx>, tasks: &mut JoinSet<(LearnerId, bool)>) {
        self.busy.remove(&learner);
        if was_bulk {
            self.bulk_in_flight -= 1;
        }
        let next = self.waiting.get_mut(&learner).and_then(VecDeque::pop_front);
        if self.waiting.get(&learner).is_some_and(VecDeque::is_empty) {
            self.waiting.remove(&learner);
        }
        if let Some((batch, urgent)) = next {
            self.start(batch, urgent, ctx, tasks);
        }
    }
}

async fn deliver_batch(ctx: &Ctx, batch: &Batch) {
    for &seq in &batch.seqs {
        if ctx.cancel.is_cancelled() {
            return;
        }
        let give_up = async {
            ctx.cancel.cancelled().await;
            tokio::time::sleep(IN_FLIGHT_GRACE).await;
        };
        let result = tokio::select! {
            result = deliver(ctx, batch.learner, seq) => result,
            _ = give_up => return,
        };
        if let Err(error) = result {
            tracing::error!(learner = batch.learner, seq, error = %error, "cannot record a delivery");
        }
        ctx.recorded.notify_one();
    }
}

/// Sends one pending delivery and records what happened.
async fn deliver(ctx: &Ctx, learner: LearnerId, seq: DeliverySeq) -> Result<(), StoreError> {
    let Some(delivery) = ctx.store.delivery(learner, seq)? else {
        return Ok(());
    };
    if delivery.state != DeliveryState::Pending {
        return Ok(());
    }
    let now = Utc::now();
    let inactive = ctx.store.learner(learner)?.is_some_and(|record| matches!(record.status, Status::Inactive { .. }));
    let outgoing = match (&delivery.outgoing, inactive) {
        (_, true) => {
            return ctx.store.mark_failed(learner, seq, "the learner is inactive", now);
        }
        (None, false) => return ctx.store.mark_failed(learner, seq, "nothing to send", now),
        (Some(outgoing), false) => outgoing,
    };
    let result = match outgoing {
        Outgoing::Send { message } => ctx.client.send(learner, message).await,
        Outgoing::Edit { message_id, message } => {
            ctx.client.edit(learner, *message_id, message).await.map(|()| *message_id)
        }
        Outgoing::Document { file_name, caption, content } => {
            ctx.client.send_document(learner, file_name, content.as_bytes().to_vec(), caption).await
        }
    };
    let now = Utc::now();
    match result {
        Ok(message_id) => {
            if delivery.purpose.is_prompt() {
                ctx.metrics.prompts_sent.inc();
            }
            ctx.store.mark_sent(learner, seq, message_id, now)
        }
        Err(SendError::ChatGone(why)) => {
            tracing::info!(learner, reason = %why, "Telegram refuses this chat; the learner is now inactive");
            let failed = ctx.store.deactivate(learner, &why, now)?;
            ctx.metrics.send_failures.add(failed.len() as u64);
            Ok(())
        }
        Err(error) => {
            ctx.metrics.send_failures.inc();
            match &error {
                SendError::Rejected(_) => {
                    tracing::error!(learner, seq, error = %error, "Telegram rejected a message")
                }
                _ => tracing::warn!(learner, seq, error = %error, "giving up on a message"),
            }
            ctx.store.mark_failed(learner, seq, &error.to_string(), now)
        }
    }
}
