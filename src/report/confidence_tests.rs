//! How sure learners were of their quiz answers, in every format: first tries wrong but sure
//! (the misconception signal) per item, the hardest items ranked by them first, and items or
//! cohorts with fewer than `min_group` learners hidden as every other figure is.

use super::tests::{Records, all_formats, desk, figures, options};
use super::*;
use crate::domain::{AnswerKind, Confidence, Purpose};
use crate::i18n::Lang;
use crate::team::digest::{DigestFacts, compose};
use crate::testkit::item;

const SENT: &str = "2026-12-07T08:00:00Z";
const ANSWERED: &str = "2026-12-07T08:10:00Z";

/// A first try at quiz `id` (right option 1 for `one/…`, else 0) with option `choice`, and how
/// sure the learner said they were.
fn rated(records: &mut Records, learner: i64, id: &str, choice: usize, confidence: Option<Confidence>) {
    let correct_option = usize::from(id.starts_with("one/"));
    let seq = records.send(learner, Purpose::Quiz { item: item(id), correct: correct_option, review: false }, SENT);
    let kind = AnswerKind::Quiz { choice, correct: choice == correct_option, review: false, confidence };
    records.answer(learner, seq, id, ANSWERED, kind);
}

/// Six learners: on `one/quiz` three are wrong and sure, one wrong and not sure, one right and
/// not sure, one right without saying; on `two/quiz` all six are wrong and not sure (the lower
/// accuracy); on the retired `gone/quiz` four are wrong and sure (too few to show).
fn sure_and_wrong() -> Report {
    use Confidence::{NotSure, Sure};
    let mut records = desk();
    let one = [(0, Some(Sure)), (0, Some(Sure)), (0, Some(Sure)), (0, Some(NotSure)), (1, Some(NotSure)), (1, None)];
    for (learner, (choice, confidence)) in (1..=6).zip(one) {
        rated(&mut records, learner, "one/quiz", choice, confidence);
        rated(&mut records, learner, "two/quiz", 1, Some(NotSure));
    }
    for learner in 1..=4 {
        rated(&mut records, learner, "gone/quiz", 1, Some(Sure));
    }
    records.report(options(&["desk"]))
}

#[test]
fn answers_wrong_but_sure_rank_an_item_first_and_items_under_five_learners_stay_hidden() {
    let report = sure_and_wrong();
    let figures = figures(&report, 0);
    let hardest: Vec<_> = figures
        .hardest_items
        .iter()
        .map(|item| (item.question.as_str(), item.quiz_first_try, item.confidently_wrong, item.confidence_not_given))
        .collect();
    assert_eq!(
        hardest,
        [("Pick?", Rate::new(2, 6), Rate::new(3, 5), 1), ("Again?", Rate::new(0, 6), Rate::new(0, 6), 0)],
        "the misconception first, though the other item has the lower accuracy; the item of 4 is not listed"
    );
    let rows: Vec<(&str, Option<Rate>)> = figures
        .items
        .iter()
        .map(|row| (row.item_id.as_str(), row.figures.shown().map(|figures| figures.confidently_wrong)))
        .collect();
    assert_eq!(rows, [("one/quiz", Some(Rate::new(3, 5))), ("two/quiz", Some(Rate::new(0, 6))), ("gone/quiz", None)]);
}

#[test]
fn every_format_says_how_many_were_sure_of_a_wrong_answer_in_the_readers_language() {
    let report = sure_and_wrong();
    let table = table(&report);
    assert!(table.contains("sure but wrong") && table.contains("3/5"), "{table}");
    let page = html(&report);
    assert!(page.contains("3 of 5 sure of a wrong answer"), "{page}");
    let danish = html_in(&report, Lang::Da, chrono_tz::UTC);
    assert!(danish.contains("3 af 5 sikre på et forkert svar") && !danish.contains("sure of"), "{danish}");
    let value: serde_json::Value = serde_json::from_str(&json(&report)).expect("valid JSON");
    let hardest = &value["cohorts"][0]["figures"]["hardest_items"][0];
    assert_eq!(
        (hardest["confidently_wrong"]["count"].as_u64(), hardest["confidence_not_given"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(value["cohorts"][0]["figures"]["items"][2]["figures"]["suppressed"], true);

    let csv = csv_by_item(&report, Lang::En);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}Cohort,Pack,Item id,Lesson,Question,Retired,Learners (first try),Quiz answers right first try,Quiz answers first try,Right first try (%),Wrong but sure (first try),Rated sure or not sure (first try),Wrong but sure (% of rated),No confidence given (first try),Note"
    );
    assert_eq!(lines[1], "desk,Demo pack,one/quiz,One & only,Pick?,no,6,2,6,33.3,3,5,60.0,1,");
    assert_eq!(lines[2], "desk,Demo pack,two/quiz,Two,Again?,no,6,0,6,0.0,0,6,0.0,0,");
    assert_eq!(
        lines[3],
        "desk,Demo pack,gone/quiz,gone,gone/quiz,yes,,,,,,,,,fewer than 5 learners: figures hidden to protect privacy"
    );
    let danish_csv = csv_by_item(&report, Lang::Da);
    assert!(danish_csv.starts_with("\u{feff}Gruppe,") && danish_csv.contains("Forkert men sikker"), "{danish_csv}");
}

#[test]
fn the_leads_digest_names_the_share_sure_of_a_wrong_answer() {
    let report = sure_and_wrong();
    let facts = DigestFacts {
        cohort: "desk",
        programme: "Demo pack",
        min_group: 5,
        figures: Some(figures(&report, 0)),
        ..DigestFacts::default()
    };
    let text = compose(Lang::En, &facts);
    assert!(
        text.contains(
            "• “Pick?”: right the first time 33 %; sure of a wrong answer: 60 %; the wrong answer chosen most: “wrong”"
        ),
        "{text}"
    );
    let dutch = compose(Lang::Nl, &facts);
    assert!(dutch.contains("zeker van een fout antwoord: 60 %"), "{dutch}");
}

#[test]
fn a_cohort_under_five_shows_nothing_of_who_was_sure() {
    let mut records = desk().enrol("tiny", 10..=13);
    for learner in 10..=13 {
        rated(&mut records, learner, "one/quiz", 0, Some(Confidence::Sure));
    }
    let report = records.report(options(&["desk", "tiny"]));
    assert!(report.cohorts[1].figures.shown().is_none());
    let value: serde_json::Value = serde_json::from_str(&json(&report)).expect("valid JSON");
    let keys: Vec<&String> = value["cohorts"][1]["figures"].as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["suppressed", "reason"], "only the privacy marker");
    let csv = csv_by_item(&report, Lang::En);
    let tiny: Vec<&str> = csv.lines().filter(|line| line.starts_with("tiny,")).collect();
    assert_eq!(tiny, ["tiny,Demo pack,,,,,,,,,,,,,fewer than 5 learners: figures hidden to protect privacy"]);
    for (format, text) in all_formats(&report) {
        assert!(!text.contains("4 of 4") && !text.contains("4/4"), "{format}");
    }
}
