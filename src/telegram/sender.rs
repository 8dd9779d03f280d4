//! The outbox worker: sends pending deliveries and records the outcome of each.
//!
//! Batches arrive per learner, replies on an urgent lane and scheduled nudges on a bulk lane.
//! One learner's messages go out in order, one at a time; different learners in parallel. A
//! chat Telegram refuses makes the learner inactive at once; a delivery whose retries ran out
//! is recorded as failed. A delivery task that panics is tried again a few times, then its batch
//! is parked (left pending) and the learner's next batch goes out. Whatever is still pending at
//! shutdown stays in the outbox and is sent after the next start.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::client::{SendError, TelegramClient};
use crate::domain::{DeliverySeq, DeliveryState, LearnerId, Outgoing, Purpose, Status};
use crate::service::Batch;
use crate::service::deliveries;
use crate::store::{Storage, StoreError};
use crate::telemetry::metrics::Metrics;

/// Most learners whose scheduled nudges are in flight at once; replies are not capped, so they
/// never wait behind a large fan-out for more than a few message slots.
const BULK_IN_FLIGHT: usize = 48;

/// At shutdown, a send in flight gets this long to finish and be recorded; after that it is
/// abandoned and stays pending (sent again at the next start).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(2);
/// Tries of a learner's batch whose delivery task panics before it is parked (logged as an
/// error, left pending in the outbox until the next start) so their later batches go out.
const MAX_TRIES_PER_BATCH: u32 = 3;
/// Wait before the first retry of a batch whose task panicked; doubles with each further one.
const FIRST_RETRY_AFTER_PANIC: Duration = Duration::from_secs(1);
/// How often the outbox of a store several instances share is swept for deliveries another
/// instance recorded; it bounds how late a reply a standby recorded goes out.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// Where the poller and the scheduler hand over deliveries to send.
#[derive(Clone)]
pub struct OutboxHandle {
    urgent: mpsc::UnboundedSender<Batch>,
    bulk: mpsc::UnboundedSender<Batch>,
    handed: Handed,
}

/// The deliveries handed to the sender and not yet sent or given up on, so the sweep of the
/// outbox (for deliveries other instances recorded) leaves them alone.
type Handed = Arc<Mutex<HashSet<(LearnerId, DeliverySeq)>>>;

impl OutboxHandle {
    /// Replies to something a learner just did.
    pub(crate) fn urgent(&self, batch: Batch) {
        self.note_handed(&batch);
        if !batch.seqs.is_empty() && self.urgent.send(batch).is_err() {
            tracing::debug!("the sender has stopped; the delivery stays in the outbox");
        }
    }

    /// Scheduled nudges and the outbox left over from a previous run.
    pub(crate) fn bulk(&self, batch: Batch) {
        self.note_handed(&batch);
        if !batch.seqs.is_empty() && self.bulk.send(batch).is_err() {
            tracing::debug!("the sender has stopped; the delivery stays in the outbox");
        }
    }

    fn note_handed(&self, batch: &Batch) {
        if let Ok(mut handed) = self.handed.lock() {
            handed.extend(batch.seqs.iter().map(|seq| (batch.learner, *seq)));
        }
    }

    fn was_handed(&self, learner: LearnerId, seq: DeliverySeq) -> bool {
        self.handed.lock().is_ok_and(|handed| handed.contains(&(learner, seq)))
    }
}

/// The receiving end, for [`run`].
pub(crate) struct OutboxReceiver {
    urgent: mpsc::UnboundedReceiver<Batch>,
    bulk: mpsc::UnboundedReceiver<Batch>,
    handed: Handed,
}

#[cfg(test)]
impl OutboxReceiver {
    /// The scheduled batches handed over so far (tests of the scheduler).
    pub(crate) fn drain_bulk(&mut self) -> Vec<Batch> {
        std::iter::from_fn(|| self.bulk.try_recv().ok()).collect()
    }
}

/// A connected handle and receiver.
pub(crate) fn outbox() -> (OutboxHandle, OutboxReceiver) {
    let (urgent_tx, urgent_rx) = mpsc::unbounded_channel();
    let (bulk_tx, bulk_rx) = mpsc::unbounded_channel();
    let handed = Handed::default();
    (
        OutboxHandle { urgent: urgent_tx, bulk: bulk_tx, handed: handed.clone() },
        OutboxReceiver { urgent: urgent_rx, bulk: bulk_rx, handed },
    )
}

/// What every delivery task needs.
struct Ctx {
    store: Arc<dyn Storage>,
    client: Arc<TelegramClient>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    /// Wakes the flusher: a delivery's outcome was recorded and should become durable.
    recorded: Notify,
    /// What was handed over and is not done yet.
    handed: Handed,
}

/// Hands the pending outbox of a previous run to `outbox`: a learner's batch on the urgent lane
/// when its first delivery is a reply, else on the bulk lane. Reads one delivery a learner.
pub(crate) fn requeue_pending(store: &dyn Storage, outbox: &OutboxHandle) -> Result<usize, StoreError> {
    let pending = store.pending()?;
    let count = pending.len();
    for batch in by_learner(pending.into_iter()) {
        let first = batch.seqs.first().copied();
        let reply = |seq| store.delivery(batch.learner, seq).map(|d| d.is_some_and(|d| d.purpose == Purpose::Reply));
        match first.map(reply).transpose()? {
            Some(true) => outbox.urgent(batch),
            _ => outbox.bulk(batch),
        }
    }
    Ok(count)
}

/// On a store several instances share, hands the sender every [`SWEEP_EVERY`] the pending
/// deliveries it was not given: replies another instance recorded (a standby takes webhook
/// updates and admin commands too). Sending them twice is not possible: a learner's batches go
/// one at a time, and a delivery already sent is skipped.
pub(crate) async fn sweep(store: Arc<dyn Storage>, outbox: OutboxHandle, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
        match store.pending() {
            Ok(pending) => {
                let strays = pending.into_iter().filter(|(learner, seq)| !outbox.was_handed(*learner, *seq));
                for batch in by_learner(strays) {
                    outbox.urgent(batch);
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the outbox for deliveries other instances recorded")
            }
        }
    }
}

/// `pending` (in learner, seq order) as one batch per learner.
fn by_learner(pending: impl Iterator<Item = (LearnerId, DeliverySeq)>) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for (learner, seq) in pending {
        match batches.last_mut() {
            Some(batch) if batch.learner == learner => batch.seqs.push(seq),
            _ => batches.push(Batch { learner, seqs: vec![seq] }),
        }
    }
    batches
}

/// Sends until `cancel` fires; in-flight sends finish their current call. The flusher of
/// outcomes runs in `tracker`, so shutdown waits for its last flush.
pub async fn run(
    receiver: OutboxReceiver,
    store: Arc<dyn Storage>,
    client: Arc<TelegramClient>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let handed = receiver.handed.clone();
    let ctx = Arc::new(Ctx {
        store,
        client,
        metrics: metrics.clone(),
        cancel: cancel.clone(),
        recorded: Notify::new(),
        handed,
    });
    let flusher = tracker.spawn(flush_recorded(ctx.clone()));
    let job: Job = Arc::new(move |batch: Batch| {
        let ctx = ctx.clone();
        Box::pin(async move { deliver_batch(&ctx, &batch).await })
    });
    dispatch(receiver, Dispatcher::new(job, metrics, cancel)).await;
    // The flusher ends with the cancellation; waiting for it lets its last flush finish.
    if let Err(error) = flusher.await {
        tracing::error!(error = %error, "the flusher of sent messages failed");
    }
}

/// The loop of [`run`]: hands batches to delivery tasks until cancelled, then lets them finish.
async fn dispatch(mut receiver: OutboxReceiver, mut dispatcher: Dispatcher) {
    let mut tasks: JoinSet<(LearnerId, bool)> = JoinSet::new();
    let cancel = dispatcher.cancel.clone();
    loop {
        let bulk_open = dispatcher.bulk_in_flight < BULK_IN_FLIGHT;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            Some(batch) = receiver.urgent.recv() => dispatcher.offer(batch, true, &mut tasks),
            Some(done) = tasks.join_next_with_id() => dispatcher.joined(done, &mut tasks),
            Some(batch) = receiver.bulk.recv(), if bulk_open => dispatcher.offer(batch, false, &mut tasks),
        }
        // Batches queued or in flight: cheap to count here, unlike the store's outbox.
        let queued = receiver.urgent.len() + receiver.bulk.len() + dispatcher.waiting.len() + tasks.len();
        dispatcher.metrics.queue_length.set(i64::try_from(queued).unwrap_or(i64::MAX));
    }
    while tasks.join_next().await.is_some() {}
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

/// Sends one learner's batch and records the outcomes; a function so tests can give one that
/// panics.
type Job = Arc<dyn Fn(Batch) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A delivery task in flight: what to start again if it panics.
struct Running {
    batch: Batch,
    urgent: bool,
}

/// Keeps each learner's batches in order and one at a time; a batch whose task panics is tried
/// again on a backoff, then parked so the learner's later batches go out.
struct Dispatcher {
    job: Job,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    busy: HashSet<LearnerId>,
    waiting: HashMap<LearnerId, VecDeque<(Batch, bool)>>,
    running: HashMap<tokio::task::Id, Running>,
    /// Panics of the batch a learner is on, so the next try waits longer and the last parks it.
    panics: HashMap<LearnerId, u32>,
    bulk_in_flight: usize,
}

impl Dispatcher {
    fn new(job: Job, metrics: Arc<Metrics>, cancel: CancellationToken) -> Self {
        Self {
            job,
            metrics,
            cancel,
            busy: HashSet::new(),
            waiting: HashMap::new(),
            running: HashMap::new(),
            panics: HashMap::new(),
            bulk_in_flight: 0,
        }
    }

    fn offer(&mut self, batch: Batch, urgent: bool, tasks: &mut JoinSet<(LearnerId, bool)>) {
        if self.busy.contains(&batch.learner) {
            self.waiting.entry(batch.learner).or_default().push_back((batch, urgent));
            return;
        }
        self.start(batch, urgent, Duration::ZERO, tasks);
    }

    fn start(&mut self, batch: Batch, urgent: bool, delay: Duration, tasks: &mut JoinSet<(LearnerId, bool)>) {
        let learner = batch.learner;
        self.busy.insert(learner);
        if !urgent {
            self.bulk_in_flight += 1;
        }
        let (job, cancel) = ((self.job)(batch.clone()), self.cancel.clone());
        let task = tasks.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => return (learner, !urgent),
                _ = tokio::time::sleep(delay) => {}
            }
            job.await;
            (learner, !urgent)
        });
        self.running.insert(task.id(), Running { batch, urgent });
    }

    /// A delivery task ended: normally, or by a panic (then its batch is retried or parked).
    fn joined(
        &mut self,
        done: Result<(tokio::task::Id, (LearnerId, bool)), JoinError>,
        tasks: &mut JoinSet<(LearnerId, bool)>,
    ) {
        let (id, panic) = match &done {
            Ok((id, _)) => (*id, None),
            Err(error) => (error.id(), Some(error.to_string())),
        };
        let Some(Running { batch, urgent }) = self.running.remove(&id) else { return };
        let (learner, was_bulk) = (batch.learner, !urgent);
        let Some(error) = panic else {
            self.panics.remove(&learner);
            return self.finished(learner, was_bulk, tasks);
        };
        let tries = self.panics.get(&learner).copied().unwrap_or(0) + 1;
        if tries < MAX_TRIES_PER_BATCH {
            let backoff = FIRST_RETRY_AFTER_PANIC * 2u32.pow(tries - 1);
            tracing::warn!(learner = learner.get(), tries, error = %error, backoff_ms = backoff.as_millis() as u64, "a delivery task panicked; retrying");
            self.panics.insert(learner, tries);
            self.release(was_bulk);
            return self.start(batch, urgent, backoff, tasks);
        }
        tracing::error!(learner = learner.get(), tries, error = %error, "a delivery keeps panicking; parking it until the next start");
        self.metrics.parked_deliveries.inc();
        self.panics.remove(&learner);
        self.finished(learner, was_bulk, tasks);
    }

    fn release(&mut self, was_bulk: bool) {
        if was_bulk {
            self.bulk_in_flight -= 1;
        }
    }

    fn finished(&mut self, learner: LearnerId, was_bulk: bool, tasks: &mut JoinSet<(LearnerId, bool)>) {
        self.busy.remove(&learner);
        self.release(was_bulk);
        let next = self.waiting.get_mut(&learner).and_then(VecDeque::pop_front);
        if self.waiting.get(&learner).is_some_and(VecDeque::is_empty) {
            self.waiting.remove(&learner);
        }
        if let Some((batch, urgent)) = next {
            self.start(batch, urgent, Duration::ZERO, tasks);
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
            tracing::error!(learner = batch.learner.get(), seq = seq.get(), error = %error, "cannot record a delivery");
        }
        if let Ok(mut handed) = ctx.handed.lock() {
            handed.remove(&(batch.learner, seq));
        }
        ctx.recorded.notify_one();
    }
}

/// Sends one pending delivery and records what happened.
async fn deliver(ctx: &Ctx, learner: LearnerId, seq: DeliverySeq) -> Result<(), StoreError> {
    let Some((delivery, record)) = ctx.store.delivery_to_send(learner, seq)? else {
        return Ok(());
    };
    if delivery.state != DeliveryState::Pending {
        return Ok(());
    }
    let now = crate::clock::now();
    let inactive =
        record.is_some_and(|record| matches!(record.status, Status::Inactive { .. } | Status::Erasing { .. }));
    let outgoing = match (&delivery.outgoing, inactive) {
        (_, true) => {
            return deliveries::mark_failed(&*ctx.store, learner, seq, "the learner is inactive", now);
        }
        (None, false) => return deliveries::mark_failed(&*ctx.store, learner, seq, "nothing to send", now),
        (Some(outgoing), false) => outgoing,
    };
    let result = match outgoing {
        Outgoing::Send { message } => ctx.client.send(learner.get(), message).await,
        Outgoing::Edit { message_id, message } => {
            ctx.client.edit(learner.get(), *message_id, message).await.map(|()| *message_id)
        }
        Outgoing::Document { file_name, caption, content } => {
            ctx.client.send_document(learner.get(), file_name, content.as_bytes().to_vec(), caption).await
        }
    };
    let now = crate::clock::now();
    match result {
        Ok(message_id) => {
            if delivery.purpose.is_prompt() {
                ctx.metrics.prompts_sent.inc();
            }
            deliveries::mark_sent(&*ctx.store, learner, seq, message_id, now)
        }
        Err(SendError::ChatGone(why)) => {
            if let Purpose::Digest { cohort } = &delivery.purpose {
                tracing::error!(lead = learner.get(), cohort = %cohort, reason = %why, "a lead's digest could not be sent: Telegram refuses the chat");
            }
            tracing::info!(learner = learner.get(), reason = %why, "Telegram refuses this chat; the learner is now inactive");
            let failed = deliveries::deactivate(&*ctx.store, learner, &why, now)?;
            ctx.metrics.send_failures.add(failed.len() as u64);
            Ok(())
        }
        Err(error) => {
            ctx.metrics.send_failures.inc();
            log_give_up(learner, seq, &delivery.purpose, &error);
            deliveries::mark_failed(&*ctx.store, learner, seq, &error.to_string(), now)
        }
    }
}

/// Logs a message given up on: a lead's digest by name, a rejected message as an error, others
/// (retries ran out) as a warning.
fn log_give_up(learner: LearnerId, seq: DeliverySeq, purpose: &Purpose, error: &SendError) {
    match (purpose, error) {
        (Purpose::Digest { cohort }, _) => {
            tracing::error!(lead = learner.get(), cohort = %cohort, seq = seq.get(), error = %error, "a lead's digest could not be sent")
        }
        (_, SendError::Rejected(_)) => {
            tracing::error!(learner = learner.get(), seq = seq.get(), error = %error, "Telegram rejected a message")
        }
        _ => tracing::warn!(learner = learner.get(), seq = seq.get(), error = %error, "giving up on a message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next delivered seq; `None` if nothing comes in an hour of the paused clock (a stuck
    /// sender fails the test at once instead of hanging it).
    async fn next(delivered: &mut mpsc::UnboundedReceiver<DeliverySeq>) -> Option<DeliverySeq> {
        tokio::time::timeout(Duration::from_secs(3600), delivered.recv()).await.ok().flatten()
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_whose_task_keeps_panicking_is_parked_and_the_learner_is_free_again() {
        let (delivered_tx, mut delivered) = mpsc::unbounded_channel::<DeliverySeq>();
        let tries_of_bad = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let tries = tries_of_bad.clone();
        let job: Job = Arc::new(move |batch: Batch| {
            let (delivered_tx, tries) = (delivered_tx.clone(), tries.clone());
            Box::pin(async move {
                if batch.seqs == [DeliverySeq::new(1)] {
                    tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    panic!("a record this build cannot send");
                }
                for seq in batch.seqs {
                    let _ = delivered_tx.send(seq);
                }
            })
        });
        let (handle, receiver) = outbox();
        let (metrics, cancel) = (Arc::new(Metrics::default()), CancellationToken::new());
        let sender = tokio::spawn(dispatch(receiver, Dispatcher::new(job, metrics.clone(), cancel.clone())));
        handle.urgent(Batch { learner: LearnerId::new(7), seqs: vec![DeliverySeq::new(1)] });
        handle.urgent(Batch { learner: LearnerId::new(7), seqs: vec![DeliverySeq::new(2)] });
        handle.bulk(Batch { learner: LearnerId::new(8), seqs: vec![DeliverySeq::new(3)] });

        let mut seen = vec![next(&mut delivered).await, next(&mut delivered).await];
        seen.sort();
        assert_eq!(
            seen,
            [Some(DeliverySeq::new(2)), Some(DeliverySeq::new(3))],
            "learner 7's next batch and learner 8's go out"
        );
        assert_eq!(tries_of_bad.load(std::sync::atomic::Ordering::Relaxed), MAX_TRIES_PER_BATCH);
        assert_eq!(metrics.parked_deliveries.get(), 1);
        handle.urgent(Batch { learner: LearnerId::new(7), seqs: vec![DeliverySeq::new(4)] });
        assert_eq!(next(&mut delivered).await, Some(DeliverySeq::new(4)), "learner 7 is not left busy");
        cancel.cancel();
        sender.await.expect("the sender stops");
        assert!(delivered.try_recv().is_err(), "nothing else was delivered");
    }
}
