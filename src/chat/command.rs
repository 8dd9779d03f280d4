//! A learner's `/command`, parsed once from the chat line into what it asks for, arguments
//! included. The service answers each variant; a malformed argument is a variant of its own,
//! so the reply can say what was wrong. Knows nothing of the store or the config.

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::i18n::Lang;

/// Longest pause `/pause N` accepts, in days.
pub(crate) const MAX_PAUSE_DAYS: u32 = 90;

/// The learners' commands in the order Telegram's menu shows them (`/start` is not listed: the
/// invite link sends it).
pub(crate) const LEARNER_MENU: [&str; 9] =
    ["progress", "idea", "pause", "resume", "time", "language", "mydata", "forget", "help"];

/// The commands only admins see in their menu.
pub(crate) const ADMIN_MENU: [&str; 1] = ["report"];

/// A team lead's menu: a lead gets no lessons, so none of the learner's commands but the data
/// rights and help.
pub(crate) const LEAD_MENU: [&str; 5] = ["team", "report", "mydata", "forget", "help"];

/// What a learner's command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start [invite]`: join a cohort, or say hello again.
    Start {
        /// The invite code, if one came with the command (the first word).
        invite: Option<String>,
    },
    /// `/help`.
    Help,
    /// `/pause [days]`.
    Pause(PauseFor),
    /// `/resume`.
    Resume,
    /// `/time [HH:MM [zone] | default]`.
    Time(TimeChoice),
    /// `/language [code]`: `None` asks which one, with buttons.
    Language(Option<Lang>),
    /// `/progress`.
    Progress,
    /// `/idea <text>`: an idea, a barrier or a need for the team's leads (the rest of the
    /// line, trimmed; empty when none came).
    Idea(String),
    /// `/mydata`: the learner's records as a file.
    MyData,
    /// `/forget`: erase me (asks first).
    Forget,
    /// `/report [cohort]` (admins, and leads for their own cohorts).
    Report {
        /// The cohort asked for, if any.
        cohort: Option<String>,
    },
    /// `/team [cohort]`: a lead's digest now.
    Team {
        /// The cohort asked for, if any (a lead may lead several).
        cohort: Option<String>,
    },
    /// A command nudge does not know.
    Unknown,
}

/// How long `/pause` should last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PauseFor {
    /// Until `/resume`.
    Indefinitely,
    /// This many days (1 to [`MAX_PAUSE_DAYS`]).
    Days(u32),
    /// Not a number of days in range.
    Invalid,
}

/// What `/time` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeChoice {
    /// No argument: show the current choice.
    Show,
    /// Back to the team's schedule.
    Default,
    /// Nudges at this time, optionally in another zone.
    Set {
        /// The time of day.
        time: NaiveTime,
        /// The learner's zone, if they named one.
        zone: Option<Tz>,
    },
    /// The time could not be read.
    BadTime,
    /// The zone is not an IANA zone (what was typed, shortened).
    BadZone(String),
}

impl Command {
    /// The command `name` (lowercase, without `/`) with the rest of its line.
    pub fn parse(name: &str, args: &str) -> Self {
        let first_word = args.split_whitespace().next().map(str::to_owned);
        match name {
            "start" => Self::Start { invite: first_word },
            "help" => Self::Help,
            "pause" => Self::Pause(PauseFor::parse(args)),
            "resume" => Self::Resume,
            "time" => Self::Time(TimeChoice::parse(args)),
            "language" => Self::Language(Lang::parse(args.trim())),
            "progress" => Self::Progress,
            "idea" => Self::Idea(args.trim().to_owned()),
            "mydata" => Self::MyData,
            "forget" => Self::Forget,
            "report" => Self::Report { cohort: first_word },
            "team" => Self::Team { cohort: first_word },
            _ => Self::Unknown,
        }
    }
}

impl PauseFor {
    fn parse(args: &str) -> Self {
        match args.trim() {
            "" => Self::Indefinitely,
            text => match text.parse::<u32>() {
                Ok(days) if (1..=MAX_PAUSE_DAYS).contains(&days) => Self::Days(days),
                _ => Self::Invalid,
            },
        }
    }
}

impl TimeChoice {
    fn parse(args: &str) -> Self {
        let mut words = args.split_whitespace();
        match (words.next(), words.next()) {
            (None, _) => Self::Show,
            (Some(word), None) if is_default_word(word) => Self::Default,
            (Some(time), zone) => {
                let Ok(time) = NaiveTime::parse_from_str(&time.replace('.', ":"), "%H:%M") else {
                    return Self::BadTime;
                };
                match zone.map(|name| name.parse::<Tz>().map_err(|_| name.chars().take(40).collect::<String>())) {
                    None => Self::Set { time, zone: None },
                    Some(Ok(zone)) => Self::Set { time, zone: Some(zone) },
                    Some(Err(typed)) => Self::BadZone(typed),
                }
            }
        }
    }
}

/// Words that mean "back to the team's schedule" in the three languages.
fn is_default_word(word: &str) -> bool {
    matches!(word.to_lowercase().as_str(), "default" | "reset" | "standaard" | "standard" | "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    #[test]
    fn arguments_are_read_once_into_what_they_mean() {
        let cases = [
            (("start", "JOIN-1 extra"), Command::Start { invite: Some("JOIN-1".to_owned()) }),
            (("start", ""), Command::Start { invite: None }),
            (("pause", ""), Command::Pause(PauseFor::Indefinitely)),
            (("pause", " 7 "), Command::Pause(PauseFor::Days(7))),
            (("pause", "91"), Command::Pause(PauseFor::Invalid)),
            (("pause", "0"), Command::Pause(PauseFor::Invalid)),
            (("pause", "soon"), Command::Pause(PauseFor::Invalid)),
            (("time", ""), Command::Time(TimeChoice::Show)),
            (("time", "Standaard"), Command::Time(TimeChoice::Default)),
            (("time", "8.30"), Command::Time(TimeChoice::Set { time: time("08:30"), zone: None })),
            (
                ("time", "07:15 Europe/London"),
                Command::Time(TimeChoice::Set { time: time("07:15"), zone: Some(Tz::Europe__London) }),
            ),
            (("time", "25:00"), Command::Time(TimeChoice::BadTime)),
            (("time", "08:00 Mars/Base"), Command::Time(TimeChoice::BadZone("Mars/Base".to_owned()))),
            (("language", "da"), Command::Language(Some(Lang::Da))),
            (("language", ""), Command::Language(None)),
            (("report", "sales north"), Command::Report { cohort: Some("sales".to_owned()) }),
            (("mydata", ""), Command::MyData),
            (("idea", "  a shared FAQ\nfor the desk "), Command::Idea("a shared FAQ\nfor the desk".to_owned())),
            (("idea", ""), Command::Idea(String::new())),
            (("team", "desk extra"), Command::Team { cohort: Some("desk".to_owned()) }),
            (("team", ""), Command::Team { cohort: None }),
            (("whatever", "x"), Command::Unknown),
        ];
        for ((name, args), expected) in cases {
            assert_eq!(Command::parse(name, args), expected, "/{name} {args}");
        }
    }

    #[test]
    fn a_typed_zone_is_shortened_in_the_reply() {
        let long = "X".repeat(100);
        assert_eq!(TimeChoice::parse(&format!("08:00 {long}")), TimeChoice::BadZone("X".repeat(40)));
    }
}
