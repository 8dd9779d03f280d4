//! Onboarding tracks through the service: the day-0 catch-up, lessons on the learner's own
//! track days, pauses that move the track on, `/time`, `/progress`, two lessons on one day.

use std::path::Path;

use super::*;
use crate::domain::{NextNudge, Step};
use crate::store::Store;
use crate::testkit::{at, library, pack, person};

/// Four lessons, each a text and one quiz (right answer: the second option).
fn track_pack() -> Pack {
    let lesson = |n: usize| {
        format!("+++\nid = \"l{n}\"\ntitle = \"Lesson {n}\"\n+++\nBody {n}.\n\n## Quiz\nPick?\n- [ ] no\n- [x] yes\n")
    };
    let lessons: Vec<String> = (1..=4).map(lesson).collect();
    pack(&lessons.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A service whose cohort `new` (invite `NEW`) follows a track with `extra` TOML added.
fn service(extra: &str) -> Service {
    let config = format!(
        "[[cohorts]]\nid = \"new\"\npack = \"demo\"\ninvite = \"NEW\"\ntrack = \"onboarding\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\nteam_question_schedule = \"0 12 15 6 *\"\n{extra}\n"
    );
    let settings = Settings::parse(&config, Path::new("test.toml")).unwrap();
    Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings), library(track_pack()))
}

const ID: i64 = 5;

fn say(service: &Service, text: &str, now: DateTime<Utc>) -> Handled {
    service.handle(&Incoming::from_text(person(LearnerId::new(ID)), text, None), now).unwrap()
}

fn learner(service: &Service) -> Learner {
    service.store().learner(LearnerId::new(ID)).unwrap().unwrap()
}

fn next(service: &Service) -> NextNudge {
    learner(service).next_nudge.expect("a next nudge")
}

/// Sends the learner's next nudge and returns the lessons it brought.
fn nudge(service: &Service) -> (DateTime<Utc>, Vec<String>) {
    let due = next(service);
    let seqs = service.nudge_due(LearnerId::new(ID), &due, due.at).unwrap();
    (due.at, lessons_in(service, &seqs))
}

fn lessons_in(service: &Service, seqs: &[DeliverySeq]) -> Vec<String> {
    seqs.iter()
        .filter_map(|seq| match service.store().delivery(LearnerId::new(ID), *seq).unwrap()?.purpose {
            Purpose::Lesson { lesson } => Some(lesson),
            _ => None,
        })
        .collect()
}

/// Answers the quiz the learner waits on, right, at `now`; returns the lessons that follow.
fn answer(service: &Service, now: DateTime<Utc>) -> Vec<String> {
    let waiting = learner(service).progress.waiting.expect("a quiz waits");
    let press = Incoming::Press {
        from: person(LearnerId::new(ID)),
        query_id: "q".to_owned(),
        message_id: None,
        data: crate::chat::callback::Callback::Quiz { seq: waiting.delivery, option: 1 }.encode(),
    };
    let handled = service.handle(&press, now).unwrap();
    lessons_in(service, &handled.to_send)
}

#[test]
fn a_new_hire_who_joins_on_a_thursday_afternoon_gets_lesson_1_that_day_and_the_rest_on_their_days() {
    let service = service("days = [0, 1, 4, 5]");
    let joined = at("2026-12-03T13:00:00Z"); // Thursday, 14:00 in Amsterdam
    say(&service, "/start NEW", joined);
    assert_eq!(nudge(&service), (at("2026-12-03T13:00:01Z"), vec!["l1".to_owned()]), "the same afternoon");
    assert_eq!(answer(&service, at("2026-12-03T13:01:00Z")), Vec::<String>::new(), "day 1's lesson waits for day 1");
    assert_eq!(nudge(&service), (at("2026-12-04T08:00:00Z"), vec!["l2".to_owned()]), "Friday 09:00: day 1");
    answer(&service, at("2026-12-04T08:05:00Z"));
    for (day, date) in [(2, "2026-12-05"), (3, "2026-12-06")] {
        let (when, lessons) = nudge(&service);
        assert_eq!(when.to_rfc3339(), format!("{date}T08:00:00+00:00"), "day {day}'s slot");
        assert!(lessons.is_empty(), "no lesson on day {day}: {lessons:?}");
    }
    assert_eq!(nudge(&service), (at("2026-12-07T08:00:00Z"), vec!["l3".to_owned()]), "Monday: day 4");
}

#[test]
fn joining_before_the_time_waits_for_it_and_joining_in_quiet_hours_waits_for_the_morning() {
    let early = service("");
    say(&early, "/start NEW", at("2026-12-03T06:30:00Z"));
    assert_eq!(nudge(&early), (at("2026-12-03T08:00:00Z"), vec!["l1".to_owned()]), "09:00 the same day");
    let late = service("");
    say(&late, "/start NEW", at("2026-12-03T21:30:00Z")); // 22:30, quiet until 07:00
    assert_eq!(nudge(&late), (at("2026-12-04T06:00:00Z"), vec!["l1".to_owned()]), "07:00, as soon as allowed");
    answer(&late, at("2026-12-04T06:01:00Z"));
    assert_eq!(nudge(&late), (at("2026-12-04T08:00:00Z"), Vec::new()), "day 1 of the track starts the next day");
}

#[test]
fn a_pause_moves_the_rest_of_the_track_on_by_the_days_paused() {
    let service = service("days = [0, 1, 2, 3]");
    say(&service, "/start NEW", at("2026-12-03T13:00:00Z"));
    nudge(&service);
    answer(&service, at("2026-12-03T13:01:00Z"));
    say(&service, "/pause 3", at("2026-12-03T14:00:00Z")); // until Sunday 15:00
    assert_eq!(nudge(&service), (at("2026-12-07T08:00:00Z"), vec!["l2".to_owned()]), "Monday: day 1 again");
    assert_eq!(learner(&service).progress.track.map(|clock| clock.day0), chrono::NaiveDate::from_ymd_opt(2026, 12, 6));
    answer(&service, at("2026-12-07T08:01:00Z"));
    say(&service, "/pause", at("2026-12-07T09:00:00Z"));
    say(&service, "/resume", at("2026-12-09T09:00:00Z")); // two days later
    assert_eq!(nudge(&service), (at("2026-12-10T08:00:00Z"), vec!["l3".to_owned()]), "day 2, two days later");
}

#[test]
fn the_learners_time_overrides_the_tracks_and_progress_says_which_day_it_is() {
    let service = service("days = [0, 2, 4, 6]\ntime = \"10:00\"");
    say(&service, "/start NEW", at("2026-12-03T07:00:00Z")); // 08:00, before 10:00
    assert_eq!(next(&service).at, at("2026-12-03T09:00:00Z"));
    say(&service, "/time 08:30", at("2026-12-03T07:10:00Z"));
    assert_eq!(nudge(&service), (at("2026-12-03T07:30:00Z"), vec!["l1".to_owned()]));
    let handled = say(&service, "/progress", at("2026-12-05T12:00:00Z"));
    let text = progress_text(&service, &handled);
    assert!(text.contains("Your track: day 2 of 6"), "{text}");
}

#[test]
fn two_lessons_due_on_one_day_both_come_within_the_cap_else_the_second_waits_a_day() {
    for (cap, monday, tuesday) in [(4, vec!["l2", "l3"], vec![]), (3, vec!["l2"], vec!["l3"])] {
        let service =
            service(&format!("days = [0, 1, 2, 9]\ndays_off = [\"sat\", \"sun\"]\nmax_messages_per_day = {cap}"));
        say(&service, "/start NEW", at("2026-12-04T10:00:00Z")); // Friday 11:00
        assert_eq!(nudge(&service).1, ["l1"]);
        answer(&service, at("2026-12-04T10:01:00Z"));
        let (when, mut got) = nudge(&service);
        assert_eq!(when, at("2026-12-07T08:00:00Z"), "Monday: days 1 and 2 fell on the weekend");
        got.extend(answer(&service, at("2026-12-07T08:01:00Z")));
        assert_eq!(got, monday, "cap {cap}");
        if !tuesday.is_empty() {
            assert!(!learner(&service).progress.queue.iter().any(|step| matches!(step, Step::Lesson { .. })));
            let (when, got) = nudge(&service);
            assert_eq!((when, got), (at("2026-12-08T08:00:00Z"), tuesday.iter().map(|l| l.to_string()).collect()));
        }
    }
}

#[test]
fn a_learner_from_before_the_cohort_had_a_track_starts_it_from_the_day_they_enrolled() {
    let service = service("days = [0, 1, 2, 3]");
    say(&service, "/start NEW", at("2026-12-03T13:00:00Z"));
    service
        .store()
        .with_learner(LearnerId::new(ID), |tx| {
            let mut learner = tx.learner()?.expect("enrolled");
            learner.progress.track = None;
            learner.enrolled_at = at("2026-11-30T08:00:00Z");
            tx.put_learner(&learner)
        })
        .unwrap();
    let handled = say(&service, "/progress", at("2026-12-03T13:00:00Z"));
    assert!(progress_text(&service, &handled).contains("Your track: day 3 of 3"));
    assert_eq!(nudge(&service).1, ["l1"], "released lessons come, one lesson and its quiz at a time");
    assert_eq!(answer(&service, at("2026-12-03T13:01:00Z")), Vec::<String>::new(), "the cap is full");
    assert_eq!(nudge(&service), (at("2026-12-04T08:00:00Z"), vec!["l2".to_owned()]), "and no catch-up nudge");
}

fn progress_text(service: &Service, handled: &Handled) -> String {
    match service.store().delivery(LearnerId::new(ID), handled.to_send[0]).unwrap().unwrap().outgoing {
        Some(Outgoing::Send { message }) => message.html,
        other => panic!("{other:?}"),
    }
}
