//! Reading whole tables page by page (keyset pagination on the primary key, [`PAGE`] rows at
//! a time), so that a pass over every answer holds a page or two in memory, not the table.
//! Exchanges, a store's bulk, come from two [`Stream`]s (deliveries and answers, each read and
//! decoded on a thread of its own, [`EXCHANGE_PAGE`] rows a page) merged by key.

use std::collections::VecDeque;
use std::iter::Peekable;
use std::sync::Arc;

use super::errors::Failure;
use super::pool::Pool;
use super::rows::parse;
use super::stream::Stream;
use super::{EXCHANGE_PAGE, PAGE, PgStore, decode};
use crate::domain::{Answer, Delivery, LearnerId, Note};
use crate::store::{Exchange, StoreError};

/// Fetches the next page.
type Fetch<'a, T> = dyn FnMut(&PgStore) -> Result<Vec<T>, StoreError> + 'a;

/// Items fetched a page at a time by `fetch`, which keeps its own cursor and returns an empty
/// page at the end.
struct Pages<'a, T> {
    store: &'a PgStore,
    fetch: Box<Fetch<'a, T>>,
    buffer: VecDeque<T>,
    done: bool,
}

impl<T> Iterator for Pages<'_, T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            match (self.fetch)(self.store) {
                Ok(page) if page.is_empty() => self.done = true,
                Ok(page) => self.buffer.extend(page),
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}

fn pages<'a, T: 'a>(
    store: &'a PgStore,
    fetch: impl FnMut(&PgStore) -> Result<Vec<T>, StoreError> + 'a,
) -> impl Iterator<Item = Result<T, StoreError>> + 'a {
    Pages { store, fetch: Box::new(fetch), buffer: VecDeque::new(), done: false }
}

/// The records of a table keyed by one bigint: `sql` selects `(key, record)` past key `$1`,
/// in key order, at most `$2`.
pub(super) fn records<'a, T: serde::de::DeserializeOwned + 'a>(
    store: &'a PgStore,
    sql: &'static str,
    table: &'static str,
) -> impl Iterator<Item = Result<T, StoreError>> + 'a {
    let mut after = i64::MIN;
    pages(store, move |store| {
        let page: Vec<(i64, String)> = store.run(move |client| {
            let rows = client.query(sql, &[&after, &PAGE])?;
            Ok(rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        if let Some((last, _)) = page.last() {
            after = *last;
        }
        page.into_iter().map(|(_, text)| parse(table, &text)).collect()
    })
}

/// Every note, by learner and delivery.
pub(super) fn notes(store: &PgStore) -> impl Iterator<Item = Result<Note, StoreError>> + '_ {
    let mut after = (i64::MIN, -1i64);
    pages(store, move |store| {
        let page: Vec<(i64, i64, String)> = store.run(move |client| {
            let rows = client.query(
                "SELECT learner, seq, record::text FROM notes WHERE (learner, seq) > ($1, $2)
                 ORDER BY learner, seq LIMIT $3",
                &[&after.0, &after.1, &PAGE],
            )?;
            Ok(rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        if let Some((learner, seq, _)) = page.last() {
            after = (*learner, *seq);
        }
        page.into_iter().map(|(_, _, text)| parse("notes", &text)).collect()
    })
}

/// A delivery's key: learner, seq.
type Key = (i64, i64);

/// Every exchange (a delivery and the answers to it), by learner and delivery; only learner
/// `only`'s when given.
pub(super) fn exchanges(
    store: &PgStore,
    only: Option<LearnerId>,
) -> impl Iterator<Item = Result<Exchange, StoreError>> + '_ {
    let (after, until) = match only {
        Some(id) => ((id.get(), -1i64), (id.get(), i64::MAX)),
        None => ((i64::MIN, -1i64), (i64::MAX, i64::MAX)),
    };
    let deliveries = Stream::spawn(delivery_pages(store.pool.clone(), after, until));
    let answers = Stream::spawn(answer_pages(store.pool.clone(), after, until));
    Exchanges::new(deliveries, answers)
}

/// The deliveries past key `after` up to `until`, a page at a time.
fn delivery_pages(
    pool: Arc<Pool>,
    mut after: Key,
    until: Key,
) -> impl FnMut() -> Result<Vec<(Key, Delivery)>, StoreError> + Send + 'static {
    move || {
        let rows = pool.run(move |client| {
            let statement = client.prepared(
                "SELECT learner, seq, record::text FROM deliveries
                 WHERE (learner, seq) > ($1, $2) AND (learner, seq) <= ($3, $4) ORDER BY learner, seq LIMIT $5",
            )?;
            Ok(client.query(&statement, &[&after.0, &after.1, &until.0, &until.1, &EXCHANGE_PAGE])?)
        })?;
        let page = rows
            .iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), decode::delivery(row.try_get(2)?)?)))
            .collect::<Result<Vec<_>, Failure>>()?;
        if let Some((key, _)) = page.last() {
            after = *key;
        }
        Ok(page)
    }
}

/// The answers past key `after` up to `until` (by part within a key), a page at a time.
fn answer_pages(
    pool: Arc<Pool>,
    after: Key,
    until: Key,
) -> impl FnMut() -> Result<Vec<(Key, Answer)>, StoreError> + Send + 'static {
    let mut after = (after.0, after.1, -1i64);
    move || {
        let rows = pool.run(move |client| {
            let statement = client.prepared(
                "SELECT learner, seq, part, record::text FROM answers
                 WHERE (learner, seq, part) > ($1, $2, $3) AND (learner, seq) <= ($4, $5)
                 ORDER BY learner, seq, part LIMIT $6",
            )?;
            Ok(client.query(&statement, &[&after.0, &after.1, &after.2, &until.0, &until.1, &EXCHANGE_PAGE])?)
        })?;
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            after = (
                row.try_get(0).map_err(Failure::from)?,
                row.try_get(1).map_err(Failure::from)?,
                row.try_get(2).map_err(Failure::from)?,
            );
            page.push(((after.0, after.1), decode::answer(row.try_get(3).map_err(Failure::from)?)?));
        }
        Ok(page)
    }
}

/// Deliveries and answers (each in key order) merged into exchanges in key order; nothing
/// after the first error.
struct Exchanges<D: Iterator, A: Iterator> {
    deliveries: Peekable<D>,
    answers: Peekable<A>,
    failed: bool,
}

impl<D, A> Iterator for Exchanges<D, A>
where
    D: Iterator<Item = Result<(Key, Delivery), StoreError>>,
    A: Iterator<Item = Result<(Key, Answer), StoreError>>,
{
    type Item = Result<Exchange, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_exchange().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

impl<D, A> Exchanges<D, A>
where
    D: Iterator<Item = Result<(Key, Delivery), StoreError>>,
    A: Iterator<Item = Result<(Key, Answer), StoreError>>,
{
    /// Merges `deliveries` and `answers`.
    fn new(deliveries: D, answers: A) -> Self {
        Self { deliveries: deliveries.peekable(), answers: answers.peekable(), failed: false }
    }

    /// The exchange of the lowest key either stream holds next.
    fn next_exchange(&mut self) -> Result<Option<Exchange>, StoreError> {
        let key = match (next_key(&mut self.deliveries)?, next_key(&mut self.answers)?) {
            (Some(delivery), Some(answer)) => delivery.min(answer),
            (Some(key), None) | (None, Some(key)) => key,
            (None, None) => return Ok(None),
        };
        let mut exchange = Exchange::default();
        if let Some(item) = self.deliveries.next_if(|item| is_of(key, item)) {
            exchange.delivery = Some(item?.1);
        }
        while let Some(item) = self.answers.next_if(|item| is_of(key, item)) {
            exchange.answers.push(item?.1);
        }
        Ok(Some(exchange))
    }
}

/// Whether `item` is of key `key` (an error is of none).
fn is_of<T>(key: Key, item: &Result<(Key, T), StoreError>) -> bool {
    matches!(item, Ok((at, _)) if *at == key)
}

/// The key of the next item of `items`, `None` at the end, or the error in its place.
fn next_key<T, I>(items: &mut Peekable<I>) -> Result<Option<Key>, StoreError>
where
    I: Iterator<Item = Result<(Key, T), StoreError>>,
{
    if let Some(Err(error)) = items.next_if(Result::is_err) {
        return Err(error);
    }
    Ok(items.peek().and_then(|item| item.as_ref().ok()).map(|(key, _)| *key))
}

/// One stored row of `deliveries` or `answers`: learner, seq, record.
type Keyed = (i64, i64, String);

/// Deliveries and answers (each in key order) as exchanges in key order (a backup's learner).
pub(super) fn merge(deliveries: Vec<Keyed>, answers: Vec<Keyed>) -> Result<Vec<Exchange>, StoreError> {
    let deliveries = deliveries.into_iter().map(|(learner, seq, text)| Ok(((learner, seq), decode::delivery(&text)?)));
    let answers = answers.into_iter().map(|(learner, seq, text)| Ok(((learner, seq), decode::answer(&text)?)));
    Exchanges::new(deliveries, answers).collect()
}
