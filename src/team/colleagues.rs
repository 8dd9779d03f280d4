//! The weekly "from your colleagues" message: real examples from the team, never a ranking or
//! a count of who answered. Made at the digest slot from the team answers shared since the
//! last one; it goes out only when at least two learners shared, quoting at most three answers,
//! the most recent of each learner.

use crate::domain::{ColleaguesEdition, LearnerId, Note, NoteKind};

/// Most answers one message quotes.
pub const MAX_ANSWERS: usize = 3;

/// Fewest learners whose answers make a message: one learner's answer alone would be theirs.
pub const MIN_AUTHORS: usize = 2;

/// The shared team answers to quote, most recent first; `None` when fewer than
/// [`MIN_AUTHORS`] learners shared.
pub fn pick<'a>(notes: impl IntoIterator<Item = &'a Note>) -> Option<Vec<&'a Note>> {
    let mut shared: Vec<&Note> =
        notes.into_iter().filter(|note| note.shared && note.kind == NoteKind::TeamAnswer).collect();
    shared.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.delivery.cmp(&a.delivery)));
    let mut authors: Vec<LearnerId> = Vec::new();
    shared.retain(|note| {
        let first_of_author = !authors.contains(&note.learner);
        authors.push(note.learner);
        first_of_author
    });
    (shared.len() >= MIN_AUTHORS).then(|| shared.into_iter().take(MAX_ANSWERS).collect())
}

/// The answers of `edition` that may still be quoted when it is sent: those found in `found`
/// (the service reads each note the edition names; an answer erased since, with its author's
/// `/forget` or by retention, is not there) that are still shared, one per learner, in the
/// edition's order, at most [`MAX_ANSWERS`]; `None` when fewer than [`MIN_AUTHORS`] learners'
/// answers are left.
pub fn still_quotable<'a>(edition: &ColleaguesEdition, found: &'a [Note]) -> Option<Vec<&'a Note>> {
    let mut quotes: Vec<&Note> = Vec::new();
    for (author, delivery) in &edition.answers {
        let note = found.iter().find(|note| note.learner == *author && note.delivery == *delivery);
        let Some(note) = note.filter(|note| note.shared && note.kind == NoteKind::TeamAnswer) else { continue };
        if !quotes.iter().any(|quoted| quoted.learner == note.learner) {
            quotes.push(note);
        }
    }
    quotes.truncate(MAX_ANSWERS);
    (quotes.len() >= MIN_AUTHORS).then_some(quotes)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testkit::{at, id, seq};

    fn note(learner: LearnerId, minutes: i64, shared: bool) -> Note {
        Note {
            learner,
            delivery: seq((learner.get() * 100 + minutes) as u64),
            cohort: "desk".to_owned(),
            at: at("2026-11-27T14:00:00Z") + Duration::minutes(minutes),
            kind: NoteKind::TeamAnswer,
            text: format!("{learner} at {minutes}"),
            shared,
        }
    }

    fn texts(notes: &[Note]) -> Option<Vec<String>> {
        pick(notes).map(|picked| picked.iter().map(|note| note.text.clone()).collect())
    }

    #[test]
    fn at_most_three_answers_the_newest_of_each_learner() {
        let notes = [
            note(id(1), 1, true),
            note(id(1), 9, true),
            note(id(2), 2, true),
            note(id(3), 3, true),
            note(id(4), 4, true),
        ];
        assert_eq!(texts(&notes), Some(vec!["1 at 9".to_owned(), "4 at 4".to_owned(), "3 at 3".to_owned()]));
    }

    fn edition(notes: &[&Note]) -> ColleaguesEdition {
        ColleaguesEdition {
            made_at: at("2026-11-30T08:00:00Z"),
            answers: notes.iter().map(|note| (note.learner, note.delivery)).collect(),
        }
    }

    #[test]
    fn at_send_time_an_erased_or_unshared_answer_is_left_out() {
        let (one, two, three) = (note(id(1), 1, true), note(id(2), 2, true), note(id(3), 3, true));
        let edition = edition(&[&three, &two, &one]);
        let quoted = |found: &[Note]| {
            still_quotable(&edition, found).map(|notes| notes.iter().map(|n| n.text.clone()).collect::<Vec<_>>())
        };
        let all = [one.clone(), two.clone(), three.clone()];
        assert_eq!(quoted(&all), Some(vec!["3 at 3".to_owned(), "2 at 2".to_owned(), "1 at 1".to_owned()]));
        assert_eq!(quoted(&[one.clone(), three.clone()]), Some(vec!["3 at 3".to_owned(), "1 at 1".to_owned()]));
        let unshared = Note { shared: false, ..three.clone() };
        assert_eq!(quoted(&[one.clone(), unshared]), None, "one author left is not enough");
        assert_eq!(quoted(&[two]), None);
        assert_eq!(quoted(&[]), None);
    }

    #[test]
    fn one_learner_sharing_is_not_enough_and_private_answers_and_ideas_never_count() {
        assert_eq!(texts(&[note(id(1), 1, true), note(id(1), 2, true), note(id(2), 3, false)]), None);
        let mut idea = note(id(3), 4, true);
        idea.kind = NoteKind::Idea;
        assert_eq!(texts(&[note(id(1), 1, true), idea.clone()]), None);
        assert_eq!(texts(&[note(id(1), 1, true), idea, note(id(2), 2, true)]).map(|t| t.len()), Some(2));
    }
}
