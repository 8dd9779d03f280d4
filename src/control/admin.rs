//! What the admin commands read from a store, the same whether the daemon answers them over
//! its socket or the CLI opens a stopped daemon's store: the learner and lead lists and their
//! tables, and removing a lead.

use serde::{Deserialize, Serialize};

use crate::domain::{Lead, Learner, LearnerId, Status};
use crate::store::{Storage, StoreError};

/// One line of `nudge learner list`: enough to find the id for an export or an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerRow {
    /// Telegram user id, what `export` and `forget` take.
    pub id: LearnerId,
    /// First name from Telegram, how the admin recognises them.
    pub first_name: String,
    /// The cohort they are in.
    pub cohort: String,
    /// Active, paused or inactive, in words.
    pub status: String,
}

impl LearnerRow {
    fn of(learner: &Learner) -> Self {
        let status = match &learner.status {
            Status::Active => "active".to_owned(),
            Status::Paused { until: None } => "paused".to_owned(),
            Status::Paused { until: Some(until) } => format!("paused until {}", until.format("%Y-%m-%d %H:%M UTC")),
            Status::Inactive { reason, since } => format!("inactive since {} ({reason})", since.format("%Y-%m-%d")),
            Status::Erasing { since } => format!("being erased since {}", since.format("%Y-%m-%d %H:%M UTC")),
        };
        Self { id: learner.id, first_name: learner.name.clone(), cohort: learner.cohort.clone(), status }
    }
}

/// The learners in `store` (of `cohort` only, if given), in id order.
pub(crate) fn learner_rows(store: &dyn Storage, cohort: Option<&str>) -> Result<Vec<LearnerRow>, StoreError> {
    let mut rows = Vec::new();
    for learner in store.learners() {
        let learner = learner?;
        if cohort.is_none_or(|wanted| wanted == learner.cohort) {
            rows.push(LearnerRow::of(&learner));
        }
    }
    Ok(rows)
}

/// True when `store` holds anything about learner `id` (a record or messages).
pub(crate) fn has_records(store: &dyn Storage, id: LearnerId) -> Result<bool, StoreError> {
    Ok(store.learner(id)?.is_some() || !store.export(id)?.messages.is_empty())
}

/// One line of `nudge lead list`: enough to recognise a lead and remove one who should not be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeadRow {
    /// Telegram user id, what `lead remove` takes.
    pub id: LearnerId,
    /// First name from Telegram.
    pub first_name: String,
    /// The cohorts they lead, in the order they joined them.
    pub cohorts: Vec<String>,
    /// When they first joined as a lead (UTC), as `YYYY-MM-DD HH:MM`.
    pub joined: String,
}

/// The leads in `store`, in id order.
pub(crate) fn lead_rows(store: &dyn Storage) -> Result<Vec<LeadRow>, StoreError> {
    store
        .leads()
        .map(|lead| {
            lead.map(|lead| LeadRow {
                id: lead.id,
                first_name: lead.name,
                cohorts: lead.cohorts,
                joined: lead.joined_at.format("%Y-%m-%d %H:%M").to_string(),
            })
        })
        .collect()
}

/// Removes lead `id`: every record of theirs is erased (a lead's records are about them, not
/// about a cohort). Returns the lead they were, or `None` when `id` is no lead.
pub(crate) fn remove_lead(store: &dyn Storage, id: LearnerId) -> Result<Option<Lead>, StoreError> {
    let Some(lead) = store.lead(id)? else { return Ok(None) };
    store.erase(id)?;
    store.flush_blocking()?;
    Ok(Some(lead))
}

/// The lead rows as a plain table, like [`table`].
pub(crate) fn lead_table(rows: &[LeadRow]) -> String {
    let lines = rows
        .iter()
        .map(|row| [row.id.to_string(), clean(&row.first_name), clean(&row.cohorts.join(", ")), row.joined.clone()]);
    padded(["ID", "FIRST NAME", "COHORTS", "JOINED (UTC)"], lines)
}

/// The rows as a plain table with a header, columns padded to their widest cell.
pub fn table(rows: &[LearnerRow]) -> String {
    let lines =
        rows.iter().map(|row| [row.id.to_string(), clean(&row.first_name), clean(&row.cohort), clean(&row.status)]);
    padded(["ID", "FIRST NAME", "COHORT", "STATUS"], lines)
}

/// `header` and `lines` as a table, columns padded to their widest cell.
fn padded(header: [&str; 4], lines: impl Iterator<Item = [String; 4]>) -> String {
    let cells: Vec<[String; 4]> = std::iter::once(header.map(str::to_owned)).chain(lines).collect();
    let widths: Vec<usize> =
        (0..4).map(|col| cells.iter().map(|line| line[col].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for line in &cells {
        let padded: Vec<String> = line.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A name as one line of printable text: a learner chooses their own first name.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StorageExt, Store};

    fn row(id: LearnerId, name: &str, status: &str) -> LearnerRow {
        LearnerRow { id, first_name: name.to_owned(), cohort: "desk".to_owned(), status: status.to_owned() }
    }

    #[test]
    fn the_table_pads_columns_and_flattens_names() {
        let rows = [row(LearnerId::new(42), "Ann", "active"), row(LearnerId::new(1234567), "Bo\nb", "paused")];
        let expected = "\
ID       FIRST NAME  COHORT  STATUS
42       Ann         desk    active
1234567  Bo b        desk    paused
";
        assert_eq!(table(&rows), expected);
    }

    #[test]
    fn leads_are_listed_with_their_cohorts_and_removed_with_their_records() {
        let store = Store::temporary().expect("store");
        let lead = Lead {
            id: LearnerId::new(5),
            name: "Kim\t".to_owned(),
            lang: crate::i18n::Lang::Nl,
            cohorts: vec!["desk".to_owned(), "sales".to_owned()],
            joined_at: crate::testkit::at("2026-11-23T08:00:00Z"),
        };
        store.with_learner(lead.id, |tx| tx.put_lead(&lead)).expect("lead");
        let expected = "ID  FIRST NAME  COHORTS      JOINED (UTC)\n5   Kim         desk, sales  2026-11-23 08:00\n";
        assert_eq!(lead_table(&lead_rows(&store).expect("rows")), expected);
        assert_eq!(remove_lead(&store, LearnerId::new(6)).expect("store"), None, "no lead, nothing removed");
        assert_eq!(remove_lead(&store, lead.id).expect("store"), Some(lead.clone()));
        assert!(lead_rows(&store).expect("rows").is_empty() && store.export(lead.id).expect("export").lead.is_none());
    }

    #[test]
    fn an_empty_list_is_just_the_header() {
        assert_eq!(table(&[]), "ID  FIRST NAME  COHORT  STATUS\n");
    }

    #[test]
    fn rows_come_from_the_store_filtered_by_cohort() {
        let store = Store::temporary().expect("store");
        for (id, cohort) in [(LearnerId::new(7), "desk"), (LearnerId::new(8), "sales")] {
            let mut learner = crate::testkit::learner(id);
            learner.cohort = cohort.to_owned();
            store.with_learner(id, |tx| tx.put_learner(&learner)).expect("learner");
        }
        let ids = |cohort| learner_rows(&store, cohort).expect("rows").iter().map(|row| row.id).collect::<Vec<_>>();
        assert_eq!(ids(None), [7, 8].map(LearnerId::new));
        assert_eq!(ids(Some("sales")), [LearnerId::new(8)]);
        assert!(
            has_records(&store, LearnerId::new(7)).expect("store")
                && !has_records(&store, LearnerId::new(9)).expect("store")
        );
    }
}
