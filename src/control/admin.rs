//! What the admin commands read from a store, the same whether the daemon answers them over
//! its socket or the CLI opens a stopped daemon's store: the learner list and its table.

use serde::{Deserialize, Serialize};

use crate::domain::{Learner, LearnerId, Status};
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

/// The rows as a plain table with a header, columns padded to their widest cell.
pub fn table(rows: &[LearnerRow]) -> String {
    let header = ["ID", "FIRST NAME", "COHORT", "STATUS"].map(str::to_owned);
    let cells: Vec<[String; 4]> = std::iter::once(header)
        .chain(
            rows.iter().map(|row| [row.id.to_string(), clean(&row.first_name), clean(&row.cohort), clean(&row.status)]),
        )
        .collect();
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
