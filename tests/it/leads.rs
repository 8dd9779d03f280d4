//! Team leads: joining with a cohort's lead invite (admins are told; a learner confirms and
//! leaves the learner role), the weekly digest at its slot with the team's figures and none of
//! the learners' names or ids, the figures hidden for a small team while the stand-up question
//! still comes, lead commands refused to others, erased notes left out, and `nudge lead`.

use chrono::{DateTime, Duration, Utc};
use fake_telegram::{BotMessage, FakeTelegram, TgUser};
use nudge::domain::{DeliverySeq, LearnerId, Note, NoteKind};
use nudge::i18n::{Lang, tr};
use nudge::store::StorageExt;

use crate::helpers::{
    TEAM_QUESTIONS, TestApp, TestOptions, WAIT, distant_schedule, nudge_async, spawn_app_with, texts,
};

/// The admin in the test config.
const ADMIN: i64 = 1000;
/// The team lead.
const LEAD: i64 = 555_000_111;
/// The first learner's id; the others follow. Long, like Telegram's, so that no figure in a
/// digest can be mistaken for one.
const FIRST_LEARNER: i64 = 987_654_301;
/// The cohort's lead invite.
const LEAD_INVITE: &str = "LEAD-DESK";
/// The cohort's goal.
const GOAL: &str = "Fewer repeat calls: from 10 % to 5 % by June";

/// A daemon whose cohort has a lead invite, a goal, `## Team` questions and a digest every
/// two seconds (ticked by hand), with per-learner rows on for admins, so that a lead's report
/// shows they are left out.
async fn team_app() -> TestApp {
    spawn_app_with(TestOptions {
        cohort_extra: format!("lead_invite = \"{LEAD_INVITE}\"\ngoal = \"{GOAL}\"\ndigest = \"*/2 * * * * *\"\n"),
        config_extra: "[reports]\nper_learner = true\n".to_owned(),
        team: true,
        ..TestOptions::default()
    })
    .await
}

/// `n` learners.
fn learners(n: i64) -> Vec<TgUser> {
    (0..n).map(|idx| TgUser::new(FIRST_LEARNER + idx)).collect()
}

/// The lead joins; returns what they got.
async fn lead_joins(app: &TestApp) -> Vec<BotMessage> {
    app.learner_says(&TgUser::new(LEAD), &format!("/start {LEAD_INVITE}"));
    app.messages(LEAD, 2).await
}

/// `team` enrol and get the first lesson and its quiz; the first `wrong` of them answer it
/// wrong ("Be nice") and sure of it, the rest right and not sure. Each then has the first
/// reflection question.
async fn first_lesson(app: &TestApp, team: &[TgUser], wrong: usize) {
    for learner in team {
        app.enrol(learner).await;
    }
    let due = team.iter().map(|learner| app.next_nudge(learner.id)).max().expect("learners");
    app.tick_at(due).await;
    for (idx, learner) in team.iter().enumerate() {
        app.messages(learner.id, 4).await;
        let (option, confidence) = if idx < wrong { ("Be nice", "Sure") } else { ("Fewer repeat calls", "Not sure") };
        app.answer_quiz(learner, option, confidence).await;
    }
    for learner in team {
        app.messages(learner.id, 5).await;
    }
}

/// Writes a note of `learner`'s into the store, as the learner side does.
fn note(app: &TestApp, learner: i64, kind: NoteKind, text: &str, shared: bool) {
    let note = Note {
        learner: LearnerId::new(learner),
        delivery: DeliverySeq::new(900_000 + (learner % 1000) as u64),
        cohort: "desk".to_owned(),
        at: Utc::now(),
        kind,
        text: text.to_owned(),
        shared,
    };
    app.service.store().with_learner(note.learner, |tx| tx.put_note(&note)).expect("a note");
}

/// The digest slot two seconds on: after everything the test wrote.
fn next_slot() -> DateTime<Utc> {
    Utc::now() + Duration::seconds(2)
}

/// Whether chat `chat` has the lead's menu.
fn has_lead_menu(fake: &FakeTelegram, chat: i64) -> bool {
    let scope = format!("chat:{chat}");
    let names = |set: &fake_telegram::CommandSet| set.commands.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    fake.commands().iter().any(|set| set.scope == scope && names(set) == ["team", "report", "mydata", "forget", "help"])
}

/// Fails if `text` names any of `team` or gives their ids.
fn assert_names_no_one(text: &str, team: &[TgUser]) {
    for learner in team {
        assert!(!text.contains(&learner.first_name), "{} is named: {text}", learner.first_name);
        assert!(!text.contains(&learner.id.to_string()), "{}'s id is in: {text}", learner.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_joins_with_the_lead_invite_and_every_admin_is_told() {
    let app = team_app().await;
    let joined = lead_joins(&app).await;
    assert!(
        joined[0].plain_text.contains(&format!("Welcome, Learner {LEAD}. You are now a team lead of desk (Demo)."))
    );
    assert!(joined[1].plain_text.contains("You never see what one person did or wrote."), "{:?}", texts(&joined));
    let told = app.messages(ADMIN, 1).await;
    let expected = format!("Learner {LEAD} (Telegram id {LEAD}) joined as a team lead of desk.");
    assert!(told[0].plain_text.contains(&expected), "{}", told[0].plain_text);
    assert!(told[0].plain_text.contains(&format!("nudge lead remove {LEAD}")));
    assert!(app.fake.wait_until(WAIT, |fake| has_lead_menu(fake, LEAD)).await, "{:?}", app.fake.commands());
    assert!(app.service.store().learner(LearnerId::new(LEAD)).expect("store").is_none(), "not a learner");

    app.learner_says(&TgUser::new(LEAD), &format!("/start {LEAD_INVITE}"));
    assert!(app.messages(LEAD, 3).await[2].plain_text.contains("You already lead desk."));
    app.messages(ADMIN, 1).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_learners_later_the_digest_comes_at_its_slot_with_the_figures_and_no_names() {
    let app = team_app().await;
    lead_joins(&app).await;
    let team = learners(6);
    first_lesson(&app, &team, 4).await;
    for learner in &team[..2] {
        app.learner_says(learner, &format!("Listening first helped {}", learner.first_name.len()));
        app.messages(learner.id, 7).await;
        app.press(learner, "Share with my team");
    }
    note(&app, team[2].id, NoteKind::TeamAnswer, "I called a customer back before they asked", true);
    note(&app, team[3].id, NoteKind::TeamAnswer, "We fixed a billing error in one call", true);
    note(&app, team[4].id, NoteKind::TeamAnswer, "Kept to myself", false);
    note(&app, team[5].id, NoteKind::Idea, "A shared list of answers to the questions customers ask most", false);
    for learner in &team[..2] {
        app.eventually("the reflection is shared", |service| {
            service.store().answers().filter_map(Result::ok).any(|answer| {
                answer.learner.get() == learner.id
                    && matches!(answer.kind, nudge::domain::AnswerKind::Reflect { shared: true, .. })
            })
        })
        .await;
    }

    let slot = next_slot();
    assert_eq!(app.digest_at(slot).await, 1, "one lead");
    let got = app.messages(LEAD, 4).await;
    let digest = &got[2].plain_text;
    for expected in [
        "Team digest: desk",
        &format!("🎯 Our goal: {GOAL}"),
        "Active in the last 7 days: 6 (the 7 days before: fewer than 5)",
        "The team has come as far as lesson 1 of 2, “What for?” (reached by at least 5 learners).",
        "“Which is a goal?”: right the first time 33 %; sure of a wrong answer: 67 %; the wrong answer chosen most: “Be nice”",
        "Practice on the job: fewer than 5 learners have said how their practice went.",
        &format!("For this week's stand-up (from the lesson “What for?”)\n{}", TEAM_QUESTIONS[0]),
        "Ideas from the team (1, since the last digest, without names)\n• A shared list of answers",
        "Shared by the team (4, without names)",
        "• I called a customer back before they asked",
        "• Listening first helped 17",
        "• We fixed a billing error in one call",
    ] {
        assert!(digest.contains(expected), "{expected:?} missing from: {digest}");
    }
    assert!(!digest.contains("Kept to myself"), "a private answer stays private");
    assert_names_no_one(digest, &team);
    let page = got[3].document.as_ref().and_then(|document| document.content_utf8()).expect("the report");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("Which is a goal?"), "the cohort's report");
    assert!(!page.contains(tr(Lang::En, "report_charts.learners_caption")), "no per-learner rows for a lead");
    assert_names_no_one(page, &team);
    assert_eq!(app.digest_at(slot).await, 0, "never twice for one slot");

    app.learner_says(&TgUser::new(LEAD), "/report");
    let report = app.messages(LEAD, 6).await;
    let page = report[5].document.as_ref().and_then(|document| document.content_utf8()).expect("the report");
    assert!(!page.contains(tr(Lang::En, "report_charts.learners_caption")), "whatever `per_learner` says");
    app.learner_says(&TgUser::new(LEAD), "/team");
    let now = app.messages(LEAD, 8).await;
    assert!(now[6].plain_text.contains("No ideas came in since the last digest"), "{}", now[6].plain_text);
    assert!(now[6].plain_text.contains(TEAM_QUESTIONS[0]), "this week's stand-up question again");
    for learner in &team {
        assert_eq!(app.fake.sent_to(learner.id).len(), if learner.id < team[2].id { 7 } else { 5 });
    }
    app.learner_says(&TgUser::new(ADMIN), "/report");
    let admins = app.messages(ADMIN, 3).await;
    let page = admins[2].document.as_ref().and_then(|document| document.content_utf8()).expect("the report");
    assert!(page.contains(tr(Lang::En, "report_charts.learners_caption")), "an admin's report has the rows");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_four_learners_the_figures_are_hidden_but_the_stand_up_question_comes() {
    let app = team_app().await;
    lead_joins(&app).await;
    let team = learners(4);
    first_lesson(&app, &team, 1).await;
    note(&app, team[0].id, NoteKind::Idea, "Fewer forms, please", false);
    assert_eq!(app.digest_at(next_slot()).await, 1);
    let digest = app.messages(LEAD, 4).await[2].plain_text.clone();
    for expected in [
        "Active in the last 7 days: fewer than 5 (the 7 days before: fewer than 5)",
        "The team's figures appear once at least 5 learners take part",
        TEAM_QUESTIONS[0],
        "• Fewer forms, please",
    ] {
        assert!(digest.contains(expected), "{expected:?} missing from: {digest}");
    }
    assert!(!digest.contains("Which is a goal?") && !digest.contains(" 4 ") && !digest.contains("lesson 1 of 2"));
    assert_names_no_one(&digest, &team);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learners_team_command_is_refused_and_a_strangers_too() {
    let app = team_app().await;
    let (learner, stranger) = (TgUser::new(FIRST_LEARNER), TgUser::new(FIRST_LEARNER + 1));
    app.enrol(&learner).await;
    for (user, before) in [(&learner, 2), (&stranger, 0)] {
        for (n, command) in ["/team", "/team desk"].iter().enumerate() {
            app.learner_says(user, command);
            let sent = app.messages(user.id, before + n + 1).await;
            let refusal = &sent[before + n].plain_text;
            assert!(refusal.contains("That command is for team leads."), "{command} from {}: {refusal}", user.id);
            let hint = if before == 0 { "send /start followed by the invite code" } else { "/idea" };
            assert!(refusal.contains(hint), "a learner hears of /idea, a stranger how to join: {refusal}");
            assert!(sent.iter().all(|message| message.document.is_none()), "no report leaks");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_who_confirms_the_lead_invite_leaves_the_learner_role_and_gets_the_lead_menu() {
    let app = team_app().await;
    let ann = TgUser::new(FIRST_LEARNER);
    first_lesson(&app, std::slice::from_ref(&ann), 0).await;
    app.learner_says(&ann, &format!("/start {LEAD_INVITE}"));
    let asked = app.messages(ann.id, 6).await;
    assert!(asked[5].plain_text.contains("become a team lead of Demo instead?"), "{}", asked[5].plain_text);
    assert_eq!(asked[5].button_labels(), ["Yes, become a lead", "No, stay a learner"]);
    app.press(&ann, "No, stay a learner");
    app.eventually("the question is answered", |_| {
        app.fake.sent_to(ann.id).get(5).is_some_and(|message| message.plain_text.contains("you stay a learner"))
    })
    .await;
    assert!(app.service.store().learner(LearnerId::new(ann.id)).expect("store").is_some());

    app.learner_says(&ann, &format!("/start {LEAD_INVITE}"));
    app.messages(ann.id, 7).await;
    app.press(&ann, "Yes, become a lead");
    let after = app.messages(ann.id, 8).await;
    assert!(after[6].plain_text.contains("You are now a team lead of desk"), "the question becomes the welcome");
    assert!(after[7].plain_text.contains("What you see:"), "{:?}", texts(&after));
    let store = app.service.store();
    assert!(store.learner(LearnerId::new(ann.id)).expect("store").is_none(), "no learner any more");
    let export = store.export(LearnerId::new(ann.id)).expect("export");
    assert!(export.answers.is_empty(), "the learner's answers are erased");
    assert_eq!(export.lead.map(|lead| lead.cohorts), Some(vec!["desk".to_owned()]));
    assert_eq!(store.n_agenda(), 0, "no more nudges");
    assert!(app.fake.wait_until(WAIT, |fake| has_lead_menu(fake, ann.id)).await, "{:?}", app.fake.commands());
    app.messages(ADMIN, 1).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_whose_author_is_forgotten_is_not_in_the_next_digest() {
    let app = team_app().await;
    lead_joins(&app).await;
    let team = learners(2);
    for learner in &team {
        app.enrol(learner).await;
    }
    note(&app, team[0].id, NoteKind::TeamAnswer, "Ann's shared answer", true);
    note(&app, team[1].id, NoteKind::TeamAnswer, "Bob's shared answer", true);
    app.learner_says(&team[0], "/forget");
    app.messages(team[0].id, 3).await;
    app.press(&team[0], "Yes, erase everything");
    app.eventually("Ann is erased", |service| {
        service.store().learner(LearnerId::new(team[0].id)).ok().flatten().is_none()
    })
    .await;

    assert_eq!(app.digest_at(next_slot()).await, 1);
    let digest = app.messages(LEAD, 4).await[2].plain_text.clone();
    assert!(digest.contains("Bob's shared answer") && !digest.contains("Ann's shared answer"), "{digest}");
    let state = app.service.store().cohort_state("desk").expect("state");
    assert_eq!(state.colleagues, None, "one learner's answer is not a colleagues message");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_sends_the_digest_at_its_slot_by_itself_once_across_a_restart() {
    let options = |digest: &str| TestOptions {
        cohort_extra: format!("lead_invite = \"{LEAD_INVITE}\"\ndigest = \"{digest}\"\n"),
        run_digests: true,
        ..TestOptions::default()
    };
    // The lead joins first, under a digest slot months away; only then does the daemon get a
    // slot a few seconds ahead, so how long joining takes on a busy machine does not matter.
    // The distant schedule's latest slot, months ago, is caught up at the start like any
    // missed slot, so the lead joins only once the daemon has handled it (with nobody to send
    // it to); else a slow start would hand the lead that digest on joining.
    let app = spawn_app_with(options(&distant_schedule())).await;
    let handled = |service: &nudge::service::Service| {
        service.store().cohort_state("desk").is_ok_and(|state| state.last_digest.is_some())
    };
    app.eventually("the distant slot handled at the start", handled).await;
    lead_joins(&app).await;
    let (dir, fake) = app.stop().await;
    let slot = (Utc::now() + Duration::seconds(6)).with_timezone(&chrono_tz::Europe::Amsterdam);
    let cron = slot.format("%S %M %H * * *").to_string();
    let app = spawn_app_with(TestOptions { dir: Some(dir), fake: Some(fake), ..options(&cron) }).await;
    // Yesterday's slot of the new schedule was missed while the daemon was down: caught up once.
    let got = app.messages(LEAD, 4).await;
    assert!(got[2].plain_text.contains("Team digest: desk") && got[3].document.is_some(), "{:?}", texts(&got));
    // Today's slot, six seconds on, comes by itself.
    let got = app.messages(LEAD, 6).await;
    assert!(got[4].plain_text.contains("Team digest: desk") && got[5].document.is_some(), "{:?}", texts(&got));
    let (dir, fake) = app.stop().await;

    let app = spawn_app_with(TestOptions { dir: Some(dir), fake: Some(fake), ..options(&cron) }).await;
    assert_eq!(app.digest_at(Utc::now()).await, 0, "the slot is handled");
    app.learner_says(&TgUser::new(LEAD), "/help");
    assert!(app.messages(LEAD, 7).await[6].plain_text.contains("As a team lead you can use"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nudge_lead_list_and_remove_work_with_and_without_the_daemon() {
    let app = team_app().await;
    lead_joins(&app).await;
    let config = app.config_file();
    let listed = nudge_async(&["lead", "list"], &config).await;
    let table = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(table.starts_with("ID ") && table.contains(&format!("{LEAD}  Learner {LEAD}  desk ")), "{table}");

    let removed = nudge_async(&["lead", "remove", &LEAD.to_string()], &config).await;
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let told = app.fake.wait_until(WAIT, |fake| {
        fake.sent_to(LEAD).iter().any(|message| message.plain_text == "You are no longer a team lead of desk.")
    });
    assert!(told.await, "{:?}", texts(&app.fake.sent_to(LEAD)));
    assert!(app.service.store().lead(LearnerId::new(LEAD)).expect("store").is_none());
    app.learner_says(&TgUser::new(LEAD), "/team");
    assert!(app.messages(LEAD, 4).await[3].plain_text.contains("That command is for team leads."));
    let again = nudge_async(&["lead", "remove", &LEAD.to_string()], &config).await;
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stderr).trim(), format!("error: there is no team lead with id {LEAD}"));

    lead_joins_again(&app).await;
    let (dir, _fake) = app.stop().await;
    crate::engine::wait_for_release(dir.path());
    let config = dir.path().join("nudge.toml");
    let json = nudge_async(&["lead", "list", "--format", "json"], &config).await;
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(rows[0]["id"], LEAD, "{rows}");
    assert_eq!(rows[0]["cohorts"], serde_json::json!(["desk"]));
    let offline = nudge_async(&["lead", "remove", &LEAD.to_string()], &config).await;
    assert!(String::from_utf8_lossy(&offline.stderr).contains("the daemon is not running"), "{offline:?}");
    let json = nudge_async(&["lead", "list", "--format", "json"], &config).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&json.stdout).expect("JSON"), serde_json::json!([]));
}

/// The removed lead joins again (their fifth and sixth messages).
async fn lead_joins_again(app: &TestApp) {
    app.learner_says(&TgUser::new(LEAD), &format!("/start {LEAD_INVITE}"));
    app.messages(LEAD, 6).await;
}
