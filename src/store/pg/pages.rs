//! Reading whole tables page by page (keyset pagination on the primary key, [`PAGE`] rows at
//! a time), so that a pass over every answer holds one page in memory, not the table.

use std::collections::VecDeque;

use super::errors::Failure;
use super::pool::Session;
use super::rows::parse;
use super::{PAGE, PgStore};
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
            Ok(rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, postgres::Error>>()?)
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
                .collect::<Result<_, postgres::Error>>()?)
        })?;
        if let Some((learner, seq, _)) = page.last() {
            after = (*learner, *seq);
        }
        page.into_iter().map(|(_, _, text)| parse("notes", &text)).collect()
    })
}

/// One stored row of `deliveries` or `answers`: learner, seq, record.
type Keyed = (i64, i64, String);

/// The deliveries and the answers of a page of exchanges, and the page's last key.
type Page = (Vec<Keyed>, Vec<Keyed>, Option<(i64, i64)>);

/// Every exchange (a delivery and the answers to it), by learner and delivery; only learner
/// `only`'s when given.
pub(super) fn exchanges(
    store: &PgStore,
    only: Option<LearnerId>,
) -> impl Iterator<Item = Result<Exchange, StoreError>> + '_ {
    let (mut after, until) = match only {
        Some(id) => ((id.get(), -1i64), (id.get(), i64::MAX)),
        None => ((i64::MIN, -1i64), (i64::MAX, i64::MAX)),
    };
    pages(store, move |store| {
        let (deliveries, answers, last) = store.run(move |client| page_of_exchanges(client, after, until))?;
        if let Some(last) = last {
            after = last;
        }
        merge(deliveries, answers)
    })
}

/// The deliveries and answers of the next [`PAGE`] exchanges past `after` up to `until`
/// (keys), and the last key of the page.
fn page_of_exchanges(client: &mut Session, after: (i64, i64), until: (i64, i64)) -> Result<Page, Failure> {
    let keys = client.query(
        "SELECT learner, seq FROM (
             (SELECT learner, seq FROM deliveries WHERE (learner, seq) > ($1, $2) AND (learner, seq) <= ($3, $4)
              ORDER BY learner, seq LIMIT $5)
             UNION ALL
             (SELECT learner, seq FROM answers WHERE (learner, seq) > ($1, $2) AND (learner, seq) <= ($3, $4)
              ORDER BY learner, seq LIMIT $5)
         ) AS keys ORDER BY learner, seq LIMIT $5",
        &[&after.0, &after.1, &until.0, &until.1, &PAGE],
    )?;
    let Some(last) = keys.last() else { return Ok((Vec::new(), Vec::new(), None)) };
    let last: (i64, i64) = (last.try_get(0)?, last.try_get(1)?);
    let keyed = |client: &mut Session, sql: &str| -> Result<Vec<Keyed>, Failure> {
        let rows = client.query(sql, &[&after.0, &after.1, &last.0, &last.1])?;
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect::<Result<_, postgres::Error>>()?)
    };
    let deliveries = keyed(
        client,
        "SELECT learner, seq, record::text FROM deliveries
         WHERE (learner, seq) > ($1, $2) AND (learner, seq) <= ($3, $4) ORDER BY learner, seq",
    )?;
    let answers = keyed(
        client,
        "SELECT learner, seq, record::text FROM answers
         WHERE (learner, seq) > ($1, $2) AND (learner, seq) <= ($3, $4) ORDER BY learner, seq, part",
    )?;
    Ok((deliveries, answers, Some(last)))
}

/// Deliveries and answers (each in key order) as exchanges in key order.
pub(super) fn merge(deliveries: Vec<Keyed>, answers: Vec<Keyed>) -> Result<Vec<Exchange>, StoreError> {
    let mut exchanges: Vec<((i64, i64), Exchange)> = Vec::new();
    let mut deliveries = deliveries.into_iter().peekable();
    let mut answers = answers.into_iter().peekable();
    loop {
        let next_key = match (deliveries.peek(), answers.peek()) {
            (Some(d), Some(a)) => (d.0, d.1).min((a.0, a.1)),
            (Some(d), None) => (d.0, d.1),
            (None, Some(a)) => (a.0, a.1),
            (None, None) => break,
        };
        let mut exchange = Exchange::default();
        if let Some((_, _, text)) = deliveries.next_if(|d| (d.0, d.1) == next_key) {
            exchange.delivery = Some(parse::<Delivery>("deliveries", &text)?);
        }
        while let Some((_, _, text)) = answers.next_if(|a| (a.0, a.1) == next_key) {
            exchange.answers.push(parse::<Answer>("answers", &text)?);
        }
        exchanges.push((next_key, exchange));
    }
    Ok(exchanges.into_iter().map(|(_, exchange)| exchange).collect())
}
