//! A learner moving to another cohort with a second invite: asked first, and afterwards no
//! report shows more learners active than enrolled, in any format.

use chrono::Utc;
use fake_telegram::TgUser;
use nudge::domain::LearnerId;
use nudge::report::from_store::{ReportRequest, report_from_store};
use nudge::report::{self, Report};

use crate::helpers::{TestOptions, WAIT, spawn_app_with, texts};

const SALES: &str = "\n[[cohorts]]\nid = \"sales\"\npack = \"demo\"\ninvite = \"SELL\"\nschedule = \"0 9 * * *\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\n";

/// Learners enrolled and active in `cohort`'s row of the table's totals (the CSV has rows per
/// week and lesson, not totals).
fn table_totals(table: &str, cohort: &str) -> (u64, u64) {
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(cohort))
        .unwrap_or_else(|| panic!("no row for {cohort} in\n{table}"));
    let mut figures = line.split_whitespace().skip(1).map(|cell| cell.parse::<u64>().expect("a count"));
    (figures.next().expect("enrolled"), figures.next().expect("active"))
}

fn check_every_format(report: &Report) {
    let json: serde_json::Value = serde_json::from_str(&report::json(report)).expect("JSON");
    let table = report::table(report);
    for cohort in json["cohorts"].as_array().expect("cohorts") {
        let id = cohort["cohort"].as_str().expect("id");
        let totals = &cohort["figures"]["totals"];
        if totals.is_null() {
            continue;
        }
        let (active, enrolled) = (totals["learners_active"].as_u64(), totals["learners_enrolled"].as_u64());
        assert!(active <= enrolled, "{id}: {active:?} active of {enrolled:?}");
        let (enrolled, active) = table_totals(&table, id);
        assert!(active <= enrolled, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_who_moves_is_asked_first_and_no_report_shows_more_active_than_enrolled() {
    let options = TestOptions { config_extra: SALES.to_owned(), ..TestOptions::default() };
    let app = spawn_app_with(options).await;
    let learners = app.learners_answer_the_first_quiz(50..56).await;

    let mover = &learners[5];
    app.learner_says(mover, "/start SELL");
    let asked =
        app.fake.wait_until(WAIT, |fake| fake.sent_to(mover.id).iter().any(|m| m.button("Yes").is_some())).await;
    assert!(asked, "{:?}", texts(&app.fake.sent_to(mover.id)));
    assert_eq!(app.service.store().learner(LearnerId::new(mover.id)).expect("store").expect("learner").cohort, "desk");
    app.press(mover, "Yes, switch");
    app.eventually("the move", |service| {
        service
            .store()
            .learner(LearnerId::new(mover.id))
            .ok()
            .flatten()
            .is_some_and(|learner| learner.cohort == "sales")
    })
    .await;
    let switched = app.fake.wait_until(WAIT, |fake| {
        fake.sent_to(mover.id).iter().any(|m| m.plain_text.contains("You switched from Demo to Demo"))
    });
    assert!(switched.await, "{:?}", texts(&app.fake.sent_to(mover.id)));

    let admin = TgUser::new(1000);
    app.learner_says(&admin, "/report");
    let sent = app.messages(1000, 2).await;
    assert!(sent[0].plain_text.contains("desk: 5 of 5 learners active"), "{}", sent[0].plain_text);
    let page = sent[1].document.as_ref().expect("the HTML report").content_utf8().expect("UTF-8");
    assert!(page.contains("5 active in the last 7 days"), "the HTML says 5 active");

    let library = app.service.library();
    let store = &**app.service.store();
    let built = report_from_store(
        store,
        app.service.settings(),
        &library,
        &ReportRequest::default(),
        || store.report_key(),
        Utc::now(),
    )
    .expect("a report");
    check_every_format(&built);
    let table = report::table(&built);
    let desk = table.lines().find(|line| line.starts_with("desk ")).expect("desk row");
    let numbers: Vec<&str> = desk.split_whitespace().skip(1).take(2).collect();
    assert_eq!(numbers, ["5", "5"], "{table}");
    app.stop().await;
}
