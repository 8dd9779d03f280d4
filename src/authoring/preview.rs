//! `nudge preview`: every message of a pack, in order, as the learner sees it (text and
//! buttons), rendered by the same code as the daemon.

use std::fmt::Write as _;
use std::path::Path;

use crate::content::{ItemKind, Pack};
use crate::domain::{DeliverySeq, OutMessage};
use crate::i18n::{Lang, fill, tr};
use crate::render::{self, plain::to_plain};
use crate::schedule::track::Track;

/// A cohort that follows the pack on an onboarding track: the preview shows each lesson's day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnTrack<'a> {
    /// The cohort's id.
    pub cohort: &'a str,
    /// The config it is in.
    pub file: &'a Path,
    /// Its track.
    pub track: &'a Track,
}

/// The pack's messages as plain text, with the bot's own texts in `lang`; on a track, with the
/// day each lesson goes out.
pub(crate) fn preview(pack: &Pack, lang: Lang, on_track: Option<&OnTrack<'_>>) -> String {
    let lessons = match pack.lessons.len() {
        1 => tr(lang, "tools.preview_lessons_one").to_owned(),
        n => fill(lang, "tools.preview_lessons", &[("n", &n.to_string())]),
    };
    let mut out = format!("{} ({}, {lessons})\n{}\n", pack.title, pack.language, pack.description);
    if let Some(on_track) = on_track {
        let time = on_track.track.time().format("%H:%M").to_string();
        let file = on_track.file.display().to_string();
        let args = [("cohort", on_track.cohort), ("file", file.as_str()), ("time", time.as_str())];
        let _ = writeln!(out, "{}", fill(lang, "tools.preview_track", &args));
    }
    for (idx, lesson) in pack.lessons.iter().enumerate() {
        let day = on_track.map_or_else(String::new, |on_track| {
            let day = on_track.track.lesson_day(idx).to_string();
            format!(" · {}", fill(lang, "tools.preview_day", &[("day", &day)]))
        });
        let _ = writeln!(out, "\n━━━ {}. {} ({}){day} ━━━", idx + 1, lesson.title, lesson.path.display());
        out.push_str(&message_box(&render::lesson(lang, pack, lesson)));
        for item in &lesson.items {
            match &item.kind {
                ItemKind::Quiz(quiz) => {
                    out.push_str(&message_box(&render::quiz(lang, quiz, DeliverySeq::new(0), false)));
                    let _ = writeln!(out, "  {}", tr(lang, "tools.preview_after_right"));
                    let asking = render::quiz_confidence(lang, quiz, DeliverySeq::new(0), quiz.correct, false);
                    out.push_str(&message_box(&asking));
                    let _ = writeln!(out, "  {}", tr(lang, "tools.preview_then_sure"));
                    out.push_str(&message_box(&render::quiz_answered(lang, quiz, quiz.correct, false)));
                }
                ItemKind::Reflect(reflect) => {
                    for question in 0..reflect.questions.len() {
                        out.push_str(&message_box(&render::reflect(lang, reflect, question, false)));
                    }
                }
                ItemKind::Practice(practice) => {
                    out.push_str(&message_box(&render::practice(lang, practice)));
                    let later = match practice.follow_up_days {
                        1 => tr(lang, "tools.preview_later_one").to_owned(),
                        days => fill(lang, "tools.preview_later", &[("days", &days.to_string())]),
                    };
                    let _ = writeln!(out, "  {later}");
                    out.push_str(&message_box(&render::practice_check(lang, practice, DeliverySeq::new(0))));
                }
            }
        }
        if let Some(team) = &lesson.team {
            let _ = writeln!(out, "  {}", tr(lang, "tools.preview_team"));
            out.push_str(&message_box(&render::text(team.text.html.clone())));
        }
    }
    out
}

/// One message framed for the terminal, buttons numbered.
pub(crate) fn message_box(message: &OutMessage) -> String {
    let mut out = String::from("┌─\n");
    for line in to_plain(&message.html).lines() {
        let _ = writeln!(out, "│ {line}");
    }
    let labels: Vec<&str> = message.buttons.iter().flatten().map(|button| button.label.as_str()).collect();
    for (idx, label) in labels.iter().enumerate() {
        let _ = writeln!(out, "│   [{}] {label}", idx + 1);
    }
    out.push_str("└─\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::demo_pack;

    #[test]
    fn shows_every_message_in_order_with_buttons() {
        let text = preview(&demo_pack(), Lang::En, None);
        let lesson = text.find("One & only").unwrap();
        let quiz = text.find("Pick?").unwrap();
        let reflect = text.find("Second?").unwrap();
        let practice = text.find("Do it.").unwrap();
        assert!(lesson < quiz && quiz < reflect && reflect < practice);
        assert!(text.contains("│   [2] right"));
        assert!(text.contains("Body of <one>."), "entities are shown as the learner sees them");
        assert!(text.contains("2 days later:"));
        let team = text.find("What did we learn?").unwrap();
        assert!(practice < team && text.contains("not sent to learners"), "the team question, marked as the leads'");
    }

    #[test]
    fn the_tools_labels_follow_the_language() {
        let text = preview(&demo_pack(), Lang::Da, None);
        assert!(text.contains("  efter et rigtigt svar bliver beskeden:\n"), "{text}");
        assert!(text.contains("  2 dage senere:\n"), "{text}");
        assert!(!text.contains("days later") && !text.contains("right answer"), "{text}");
    }
}
