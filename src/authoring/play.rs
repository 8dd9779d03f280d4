//! `nudge try`: play a pack in the terminal as a learner would in Telegram, through the same
//! service, engine and renderer as the daemon, with a throw-away store and a virtual clock.
//!
//! Type answers as text, a number to press a button, `/next` to jump to the next nudge,
//! `/quit` to stop. The bot's commands (`/progress`, `/pause`, `/time` …) work as in Telegram.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Utc};

use crate::authoring::preview::message_box;
use crate::chat::{Incoming, Person};
use crate::config::{Cohort, ContentSettings, Limits, Settings, StoreSettings, TelegramSettings};
use crate::content::{Library, Pack};
use crate::domain::{Button, LearnerId, Outgoing};
use crate::i18n::{Lang, fill, tr, weekday_name};
use crate::schedule::cron::CronSpec;
use crate::schedule::policy::Policy;
use crate::service::{Handled, Service, deliveries};
use crate::store::Store;

/// The learner's id in the throw-away store.
const ME: LearnerId = LearnerId::new(1);
/// The invite of the throw-away cohort.
const INVITE: &str = "try";

/// A terminal session with one learner.
struct Session<'a, W: Write> {
    service: Service,
    lang: Lang,
    name: String,
    out: &'a mut W,
    now: DateTime<Utc>,
    next_message_id: i64,
    buttons: Vec<(i64, Vec<Button>)>,
}

/// Who plays: the language of the bot's own texts and the learner's first name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Player {
    /// The learner's language, and the tool's [default: the pack's language].
    pub lang: Option<Lang>,
    /// The name the bot greets [default: a neutral word for "colleague" in that language].
    pub name: Option<String>,
}

/// Plays `pack` reading `input` and writing to `out`, starting the virtual clock at `start`.
/// The tool's own texts and the bot's are in the player's language; the pack's content stays
/// in its own, as in Telegram.
pub(crate) fn play(
    pack: Arc<Pack>,
    player: Player,
    input: impl BufRead,
    out: &mut impl Write,
    start: DateTime<Utc>,
) -> anyhow::Result<()> {
    let lang = player.lang.unwrap_or(pack.language);
    let name = player.name.unwrap_or_else(|| tr(lang, "tools.try_name").to_owned());
    let settings = settings_for(&pack, lang)?;
    let mut library = Library::default();
    library.packs.insert(pack.id.clone(), pack.clone());
    let store = Store::temporary().context("cannot create a temporary store")?;
    let mut session = Session {
        service: Service::new(Arc::new(store), Arc::new(settings), library),
        lang,
        name,
        out,
        now: start,
        next_message_id: 1,
        buttons: Vec::new(),
    };
    let intro = session.text("tools.try_intro", &[("title", &pack.title)]);
    writeln!(session.out, "{intro}\n")?;
    session.say(&format!("/start {INVITE}"))?;
    session.next()?;
    for line in input.lines() {
        let line = line?;
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" => break,
            "/next" => session.next()?,
            _ => match line.parse::<usize>() {
                Ok(number) => session.press(number)?,
                Err(_) => session.say(line)?,
            },
        }
    }
    Ok(())
}

fn settings_for(pack: &Pack, lang: Lang) -> anyhow::Result<Settings> {
    Ok(Settings {
        source: PathBuf::from("(nudge try)"),
        telegram: TelegramSettings {
            api_url: reqwest::Url::parse("http://127.0.0.1/")?,
            admins: Vec::new(),
            limits: Limits::NONE,
            updates: Default::default(),
        },
        store: StoreSettings { backend: Default::default(), path: PathBuf::from(":memory:"), retention_days: None },
        reports: Default::default(),
        http: Default::default(),
        content: ContentSettings { dir: pack.dir.clone() },
        cohorts: vec![Cohort {
            team: crate::config::TeamSettings::default(),
            id: "try".to_owned(),
            pack: pack.id.clone(),
            invite: INVITE.to_owned(),
            schedule: CronSpec::parse("0 9 * * Mon-Fri").map_err(anyhow::Error::msg)?,
            track: None,
            timezone: chrono_tz::Europe::Amsterdam,
            language: lang,
            policy: Policy::default(),
            confidence: true,
        }],
    })
}

impl<W: Write> Session<'_, W> {
    /// A tool text in the player's language, as plain text for the terminal.
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        crate::render::plain::to_plain(&fill(self.lang, key, args))
    }

    fn me(&self) -> Person {
        Person { id: ME, first_name: self.name.clone(), language: None }
    }

    fn say(&mut self, text: &str) -> anyhow::Result<()> {
        let incoming = Incoming::from_text(self.me(), text, None);
        let handled = self.service.handle(&incoming, self.now)?;
        self.show(handled)
    }

    fn press(&mut self, number: usize) -> anyhow::Result<()> {
        let Some((message_id, button)) = self
            .buttons
            .iter()
            .rev()
            .find_map(|(id, buttons)| buttons.get(number.wrapping_sub(1)).map(|button| (*id, button.clone())))
        else {
            writeln!(self.out, "{}", self.text("tools.try_no_button", &[("number", &number.to_string())]))?;
            return Ok(());
        };
        writeln!(self.out, "{}", self.text("tools.try_pressed", &[("label", &button.label)]))?;
        let incoming = Incoming::Press {
            from: self.me(),
            query_id: String::new(),
            message_id: Some(message_id),
            data: button.data,
        };
        let handled = self.service.handle(&incoming, self.now)?;
        self.buttons.retain(|(id, _)| *id != message_id);
        self.show(handled)
    }

    /// Jumps the clock to the learner's next nudge and delivers it.
    fn next(&mut self) -> anyhow::Result<()> {
        let Some(next) = self.service.store().learner(ME)?.and_then(|learner| learner.next_nudge) else {
            writeln!(self.out, "{}", self.text("tools.try_no_nudge", &[]))?;
            return Ok(());
        };
        self.now = self.now.max(next.at);
        let local = next.at.with_timezone(&chrono_tz::Europe::Amsterdam);
        let lang = self.lang;
        let day = weekday_name(lang, local.weekday().num_days_from_monday() as usize);
        let month = tr(lang, "time.months").split(',').nth(local.month0() as usize).unwrap_or_default().trim();
        let date = format!("{} {month} {}", local.day(), local.year());
        let time = local.format("%H:%M").to_string();
        writeln!(self.out, "{}", fill(lang, "tools.try_slot", &[("day", &day), ("date", &date), ("time", &time)]))?;
        let to_send = self.service.nudge_due(ME, &next, self.now)?;
        if to_send.is_empty() {
            writeln!(self.out, "{}", self.text("tools.try_nothing", &[]))?;
        }
        self.show(Handled { to_send, ..Handled::default() })
    }

    fn show(&mut self, handled: Handled) -> anyhow::Result<()> {
        if let Some(toast) = handled.toast {
            writeln!(self.out, "  « {toast} »")?;
        }
        for outgoing in handled.direct {
            self.print(outgoing)?;
        }
        for seq in handled.to_send {
            let Some(outgoing) = self.service.store().delivery(ME, seq)?.and_then(|delivery| delivery.outgoing) else {
                continue;
            };
            let message_id = self.print(outgoing)?;
            deliveries::mark_sent(&**self.service.store(), ME, seq, message_id, self.now)?;
        }
        Ok(())
    }

    /// Prints what the learner would see; returns the message id it gets.
    fn print(&mut self, outgoing: Outgoing) -> anyhow::Result<i64> {
        let (message_id, message) = match outgoing {
            Outgoing::Send { message } => {
                self.next_message_id += 1;
                (self.next_message_id, message)
            }
            Outgoing::Edit { message_id, message } => {
                writeln!(self.out, "{}", self.text("tools.try_edited", &[]))?;
                (message_id, message)
            }
            Outgoing::Document { file_name, caption, content } => {
                self.next_message_id += 1;
                writeln!(self.out, "📎 {file_name} ({} bytes)", content.len())?;
                (self.next_message_id, crate::render::text(caption))
            }
        };
        write!(self.out, "{}", message_box(&message))?;
        if !message.buttons.is_empty() {
            self.buttons.push((message_id, message.buttons.concat()));
        }
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at, demo_pack};

    fn run(input: &str) -> String {
        let mut out = Vec::new();
        play(Arc::new(demo_pack()), Player::default(), input.as_bytes(), &mut out, at("2026-11-23T09:00:00Z")).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plays_a_lesson_through_quiz_reflection_and_practice() {
        let out = run("2\n2\nI listen\nat the desk\n/progress\n/quit\n");
        for expected in [
            "Welcome, colleague!",
            "One & only",
            "you pressed: right",
            "How sure are you?",
            "you pressed: Not sure",
            "✅ Right!",
            "You weren't sure",
            "Think.",
            "Second?",
            "Do it.",
            "Days active: 1",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
        }
    }

    #[test]
    fn next_jumps_to_the_following_nudge() {
        let out = run("1\n1\n/next\n");
        assert!(out.matches('⏩').count() == 2, "{out}");
        assert!(out.contains("Not quite"), "{out}");
    }

    #[test]
    fn the_tool_speaks_the_language_asked_for_and_greets_a_colleague() {
        let mut out = Vec::new();
        let player = Player { lang: Some(Lang::Nl), name: None };
        play(Arc::new(demo_pack()), player, "2\n".as_bytes(), &mut out, at("2026-11-23T09:00:00Z")).unwrap();
        let out = String::from_utf8(out).unwrap();
        for expected in
            ["Je probeert “", "Welkom, collega!", "⏩ dinsdag 24 november 2026, 09:00", "je drukte op: right"]
        {
            assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
        }
        assert!(!out.contains("Tuesday") && !out.contains("you pressed"), "{out}");
    }

    #[test]
    fn a_missing_button_is_explained() {
        assert!(run("9\n").contains("there is no button 9"));
    }
}
