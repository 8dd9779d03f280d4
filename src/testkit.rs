//! Helpers for unit tests: a small pack built from inline markdown, settings with one cohort,
//! a person, fixed times.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::chat::Person;
use crate::config::Settings;
use crate::content::parse::{LessonDefaults, parse_lesson};
use crate::content::{Library, Pack};
use crate::domain::{DeliverySeq, ItemId, Learner, LearnerId, Progress, Status};
use crate::i18n::Lang;

/// Two lessons: the first with a quiz, a two-question reflection, a practice and a team
/// question; the second with a quiz only.
pub(crate) const LESSON_ONE: &str = "+++\nid = \"one\"\ntitle = \"One & only\"\n+++\nBody of <one>.\n\n## Quiz\nPick?\n- [ ] wrong\n- [x] right\n> Because.\n\n## Reflect\nThink.\n1. First?\n2. Second?\n\n## Practice {days=2}\nDo it.\n\n## Team\nWhat did we learn?\n";
/// See [`LESSON_ONE`].
pub(crate) const LESSON_TWO: &str =
    "+++\nid = \"two\"\ntitle = \"Two\"\n+++\nBody two.\n\n## Quiz\nAgain?\n- [x] yes\n- [ ] no\n> Yes.\n";

/// A pack with `lessons` (markdown texts), id `demo`.
pub fn pack(lessons: &[&str]) -> Pack {
    let lessons = lessons
        .iter()
        .enumerate()
        .map(|(idx, text)| {
            let stem = format!("{:02}-lesson", idx + 1);
            let (lesson, problems) =
                parse_lesson(Path::new("t.md"), text, LessonDefaults { file_stem: &stem, follow_up_days: 3 });
            assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
            Arc::new(lesson.expect("test lesson parses"))
        })
        .collect();
    Pack {
        id: "demo".to_owned(),
        title: "Demo pack".to_owned(),
        language: Lang::En,
        description: "A pack for tests.".to_owned(),
        dir: PathBuf::from("demo"),
        lessons,
    }
}

/// The standard two-lesson pack.
pub(crate) fn demo_pack() -> Pack {
    pack(&[LESSON_ONE, LESSON_TWO])
}

/// A library holding `pack`.
pub fn library(pack: Pack) -> Library {
    let mut library = Library::default();
    library.packs.insert(pack.id.clone(), Arc::new(pack));
    library
}

/// Settings with cohort `desk` (invite `JOIN`, pack `demo`, 09:00 on weekdays, Amsterdam).
pub fn settings() -> Settings {
    Settings::parse(
        "[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\n",
        Path::new("test.toml"),
    )
    .expect("test settings parse")
}

/// Learner id `n` (test ids are small numbers).
pub(crate) fn id(n: i64) -> LearnerId {
    LearnerId::new(n)
}

/// Delivery number `n`.
pub(crate) fn seq(n: u64) -> DeliverySeq {
    DeliverySeq::new(n)
}

/// A Telegram user.
pub(crate) fn person(id: LearnerId) -> Person {
    Person { id, first_name: format!("Learner{id}"), language: Some(Lang::En) }
}

/// A fresh active learner in cohort `desk`.
pub(crate) fn learner(id: LearnerId) -> Learner {
    Learner {
        id,
        cohort: "desk".to_owned(),
        name: format!("Learner{id}"),
        lang: Lang::En,
        status: Status::Active,
        enrolled_at: at("2026-11-23T08:00:00Z"),
        progress: Progress::default(),
        prefs: Default::default(),
        next_nudge: None,
        pending_move: None,
        notice_version: crate::domain::PRIVACY_NOTICE,
        team: Default::default(),
    }
}

/// An item id from `lesson/item`.
pub(crate) fn item(text: &str) -> ItemId {
    ItemId::parse(text).expect("test item id")
}

/// A UTC time from RFC 3339.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("test time").with_timezone(&Utc)
}

/// Time zones for property tests: half-hour and 45-minute offsets, southern DST, none at all.
pub(crate) const ZONES: [chrono_tz::Tz; 8] = [
    chrono_tz::Europe::Amsterdam,
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Pacific::Chatham,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Europe::Copenhagen,
];

/// Quiet hours for property tests: none, the night, a lunch break, most of the day.
pub(crate) const QUIET_HOURS: [Option<&str>; 4] = [None, Some("21:00-07:00"), Some("12:00-13:00"), Some("18:00-09:00")];
