//! Onboarding tracks through the service, case by case: the day-0 catch-up, lessons on the
//! learner's own track days, pauses that move the track on, `/time`, `/progress`, two lessons
//! on one day, and the cases the properties (`track_props.rs`) found.

use std::path::Path;

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::*;
use crate::domain::Purpose;
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

/// A service with cohort `hires` (invite `HIRE`, pack `demo`) on a track in `zone`: `track`
/// holds its track keys and pacing, one `key = value` a line.
fn track_service(zone: &str, track: &str, pack: Pack) -> Service {
    let text = format!(
        "[[cohorts]]\nid = \"hires\"\npack = \"demo\"\ninvite = \"HIRE\"\ntrack = \"onboarding\"\ntimezone = \"{zone}\"\nlanguage = \"en\"\n{track}\n"
    );
    let settings = Settings::parse(&text, Path::new("nudge.toml")).unwrap_or_else(|error| panic!("{error}"));
    let store = Store::temporary().unwrap_or_else(|error| panic!("{error}"));
    Service::new(Arc::new(store), Arc::new(settings), library(pack))
}

/// `n` lessons with text only, `l1` to `l<n>`: each slot starts as many as the track has
/// released and the cap allows, with nobody to answer.
fn text_lessons(n: usize) -> Pack {
    let texts: Vec<String> =
        (1..=n).map(|k| format!("+++\nid = \"l{k}\"\ntitle = \"Lesson {k}\"\n+++\nText of lesson {k}.\n")).collect();
    pack(&texts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// One learner (id 1) on the track, who says things and is nudged when due.
struct Hire {
    service: Service,
    id: LearnerId,
}

impl Hire {
    fn new(service: Service) -> Self {
        Self { service, id: LearnerId::new(1) }
    }

    fn say(&self, text: &str, now: DateTime<Utc>) {
        self.service.handle(&Incoming::from_text(person(self.id), text, None), now).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sends every nudge due up to `until`, at its time.
    fn nudged_until(&self, until: DateTime<Utc>) {
        for _ in 0..1_000 {
            let learner = self.service.store().learner(self.id).unwrap_or_else(|e| panic!("{e}"));
            let Some(next) = learner.and_then(|learner| learner.next_nudge).filter(|next| next.at <= until) else {
                return;
            };
            self.service.nudge_due(self.id, &next, next.at).unwrap_or_else(|e| panic!("{e}"));
        }
        panic!("the agenda never passed {until}");
    }

    /// The lessons that went out, with their local time in `zone`.
    fn lessons(&self, zone: Tz) -> Vec<(String, NaiveDateTime)> {
        self.service
            .store()
            .deliveries()
            .filter_map(Result::ok)
            .filter_map(|delivery| match delivery.purpose {
                Purpose::Lesson { lesson } => Some((lesson, delivery.created.with_timezone(&zone).naive_local())),
                _ => None,
            })
            .collect()
    }
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn lesson(id: &str, when: &str) -> (String, NaiveDateTime) {
    (id.to_owned(), local(when))
}

#[test]
fn a_pause_that_ends_by_itself_moves_the_track_on_by_its_own_days_not_to_the_next_nudge() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let track = "days = [0, 1, 2, 3, 4, 5, 6]\ntime = \"09:00\"\nmax_messages_per_day = 3\ndays_off = [\"sat\", \"sun\"]\nteam_question_schedule = \"0 14 * * Wed\"";
    let hire = Hire::new(track_service("Europe/Amsterdam", track, text_lessons(7)));
    hire.say("/start HIRE", at("2026-11-23T07:00:00Z")); // Monday 08:00
    hire.nudged_until(at("2026-11-26T09:00:00Z")); // Thursday 10:00: lessons 1 to 4 are out
    hire.say("/pause 1", at("2026-11-26T09:00:00Z")); // until Friday 10:00, after Friday's nudge
    hire.nudged_until(at("2026-11-30T09:00:00Z")); // Monday 10:00
    // One day paused: lesson 5 (day 4, Friday) moves to Saturday, 6 to Sunday, 7 to Monday;
    // Saturday and Sunday are days off, so all three come on Monday, within the cap of three.
    // Counting the pause until the next nudge (Monday) moved them on by four days instead.
    assert_eq!(
        hire.lessons(amsterdam),
        [
            lesson("l1", "2026-11-23 09:00:00"),
            lesson("l2", "2026-11-24 09:00:00"),
            lesson("l3", "2026-11-25 09:00:00"),
            lesson("l4", "2026-11-26 09:00:00"),
            lesson("l5", "2026-11-30 09:00:00"),
            lesson("l6", "2026-11-30 09:00:00"),
            lesson("l7", "2026-11-30 09:00:00"),
        ]
    );
}

#[test]
fn an_answer_during_a_pause_starts_no_new_lesson() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let reflect =
        "+++\nid = \"l1\"\ntitle = \"Lesson 1\"\n+++\nText of lesson 1.\n\n## Reflect\nWhat did you notice?\n";
    let next = "+++\nid = \"l2\"\ntitle = \"Lesson 2\"\n+++\nText of lesson 2.\n";
    let track = "days = [0, 1]\ntime = \"09:00\"\nteam_question_schedule = \"0 14 * * Wed\"";
    let hire = Hire::new(track_service("Europe/Amsterdam", track, pack(&[reflect, next])));
    hire.say("/start HIRE", at("2026-11-23T07:00:00Z")); // Monday 08:00
    hire.nudged_until(at("2026-11-23T08:00:00Z")); // lesson 1 and its question at 09:00
    hire.say("/pause 3", at("2026-11-24T07:00:00Z")); // Tuesday 08:00, before lesson 2's nudge
    hire.say("I noticed a lot", at("2026-11-24T11:00:00Z")); // the answer, on a break
    assert_eq!(hire.lessons(amsterdam), [lesson("l1", "2026-11-23 09:00:00")], "nothing new on a break");
    hire.nudged_until(at("2026-11-28T08:00:00Z"));
    // Paused from Tuesday to Friday: lesson 2 (day 1, Tuesday) moves on by three days.
    assert_eq!(hire.lessons(amsterdam), [lesson("l1", "2026-11-23 09:00:00"), lesson("l2", "2026-11-27 09:00:00")]);
}

#[test]
fn a_pause_after_one_that_ran_out_unnoticed_counts_only_its_own_days() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let track = "days = [0, 1, 2, 3, 4, 5, 6]\ntime = \"09:00\"\nteam_question_schedule = \"0 14 * * Wed\"";
    let hire = Hire::new(track_service("Europe/Amsterdam", track, text_lessons(7)));
    hire.say("/start HIRE", at("2026-11-23T07:00:00Z")); // Monday 08:00
    hire.nudged_until(at("2026-11-24T09:00:00Z")); // lessons 1 and 2, Monday and Tuesday
    hire.say("/pause 2", at("2026-11-24T09:00:00Z")); // Tuesday 10:00 to Thursday 10:00
    // Thursday's nudge (09:00) fell in the pause; Friday's would notice its end, but first:
    hire.say("/pause 1", at("2026-11-27T07:00:00Z")); // Friday 08:00 to Saturday 08:00
    hire.nudged_until(at("2026-11-28T09:00:00Z")); // Saturday 10:00
    // Three days paused (two, then one; Thursday was not): lesson 3 (day 2, Wednesday) comes on
    // Saturday. Counting Thursday as paused too held it back to Sunday.
    assert_eq!(
        hire.lessons(amsterdam),
        [lesson("l1", "2026-11-23 09:00:00"), lesson("l2", "2026-11-24 09:00:00"), lesson("l3", "2026-11-28 09:00:00")]
    );
}

#[test]
fn a_catch_up_at_the_tracks_time_in_the_cohorts_zone_leaves_the_days_own_nudge_its_slot() {
    let new_york = chrono_tz::America::New_York;
    let track =
        "days = [0, 1, 2]\ntime = \"09:00\"\nmax_messages_per_day = 4\nteam_question_schedule = \"0 14 * * Mon\"";
    let quiz =
        "+++\nid = \"l1\"\ntitle = \"Lesson 1\"\n+++\nText of lesson 1.\n\n## Quiz\nPick?\n- [ ] no\n- [x] yes\n";
    let lessons = pack(&[quiz, "+++\nid = \"l2\"\ntitle = \"Lesson 2\"\n+++\nText of lesson 2.\n"]);
    let hire = Hire::new(track_service("America/Sao_Paulo", track, lessons));
    // Tuesday 21:30 in New York (23:30 in São Paulo), in the quiet hours and after the time.
    let joined = at("2026-12-02T02:30:00Z");
    hire.say("/start HIRE", joined);
    hire.say("/time 09:00 America/New_York", joined);
    hire.nudged_until(at("2026-12-02T18:00:00Z")); // Wednesday 13:00 in New York
    // The catch-up comes when the quiet hours end, 07:00 in New York: 09:00 in São Paulo, the
    // wall-clock key of the track's daily slot, which reaches this learner at 09:00 their time.
    // So the catch-up goes a second later, under a key of its own, and lesson 2 (day 1) still
    // comes with the day's slot (the quiz of lesson 1 is unanswered). Sharing the key, the
    // day's slot found itself claimed and lesson 2 waited a day.
    assert_eq!(hire.lessons(new_york), [lesson("l1", "2026-12-02 07:00:01"), lesson("l2", "2026-12-02 09:00:00")]);
}

#[test]
fn joining_after_the_time_brings_lesson_one_the_same_day() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let hire = Hire::new(track_service("Europe/Amsterdam", "days = [0, 1]\ntime = \"09:00\"", text_lessons(2)));
    hire.say("/start HIRE", at("2026-12-03T13:00:00Z")); // Thursday 14:00, after 09:00
    hire.nudged_until(at("2026-12-04T12:00:00Z"));
    assert_eq!(
        hire.lessons(amsterdam),
        [lesson("l1", "2026-12-03 14:00:01"), lesson("l2", "2026-12-04 09:00:00")],
        "day 0 at once, day 1 at the time"
    );
}

#[test]
fn joining_in_quiet_hours_brings_lesson_one_when_they_end() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let lunch = "days = [0, 1]\ntime = \"09:00\"\nquiet_hours = \"12:00-13:00\"";
    let hire = Hire::new(track_service("Europe/Amsterdam", lunch, text_lessons(2)));
    hire.say("/start HIRE", at("2026-12-03T11:15:00Z")); // Thursday 12:15, quiet until 13:00
    hire.nudged_until(at("2026-12-04T12:00:00Z"));
    assert_eq!(hire.lessons(amsterdam), [lesson("l1", "2026-12-03 13:00:00"), lesson("l2", "2026-12-04 09:00:00")]);
    // Quiet until the next morning: day 0's lesson comes when they end; that morning is day 1
    // already, but day 1's lesson is due from the track's time, 09:00, not with the catch-up.
    let night = Hire::new(track_service("Europe/Amsterdam", "days = [0, 1]\ntime = \"09:00\"", text_lessons(2)));
    night.say("/start HIRE", at("2026-12-03T21:30:00Z")); // Thursday 22:30, quiet until 07:00
    night.nudged_until(at("2026-12-04T12:00:00Z"));
    assert_eq!(night.lessons(amsterdam), [lesson("l1", "2026-12-04 07:00:00"), lesson("l2", "2026-12-04 09:00:00")]);
}

#[test]
fn joining_on_a_day_off_brings_lesson_one_on_the_next_allowed_day() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let weekdays = "days = [0, 1]\ntime = \"09:00\"\ndays_off = [\"sat\", \"sun\"]";
    let hire = Hire::new(track_service("Europe/Amsterdam", weekdays, text_lessons(2)));
    hire.say("/start HIRE", at("2026-12-05T13:00:00Z")); // Saturday 14:00
    hire.nudged_until(at("2026-12-08T12:00:00Z"));
    // Quiet until Monday 07:00 (the night's quiet hours follow the weekend): lesson 1 then, and
    // lesson 2 (day 1, Sunday) with it, both within the cap of three.
    assert_eq!(hire.lessons(amsterdam), [lesson("l1", "2026-12-07 07:00:00"), lesson("l2", "2026-12-07 07:00:00")]);
}

#[test]
fn joining_at_the_very_instant_of_the_time_brings_lesson_one_the_same_day() {
    let amsterdam = chrono_tz::Europe::Amsterdam;
    let hire = Hire::new(track_service("Europe/Amsterdam", "days = [0, 1]\ntime = \"09:00\"", text_lessons(2)));
    hire.say("/start HIRE", at("2026-12-03T08:00:00Z")); // Thursday 09:00:00.000 exactly
    hire.nudged_until(at("2026-12-04T12:00:00Z"));
    // The day's slot is no later than the join, so the agenda (which looks after it) never has
    // it: the catch-up brings lesson 1 a second later. It used to count the slot as still to
    // come, and lesson 1 waited for Friday.
    assert_eq!(hire.lessons(amsterdam), [lesson("l1", "2026-12-03 09:00:01"), lesson("l2", "2026-12-04 09:00:00")]);
}
