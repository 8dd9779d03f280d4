//! The learner's side of the team loop: `/idea` (a note for the leads' next digest, never a
//! message to anyone in real time), answers to the weekly team question and the choice to share
//! them, the "from your colleagues" message (rendered at send time from the notes it names),
//! the team's goal and the privacy notice for learners who joined before it changed.
//!
//! The leads' side (who leads, the digest, making the colleagues' edition) is not here: this
//! reads the leads and the cohort's team state and writes only the learner's own notes.

use chrono::{DateTime, Utc};

use super::answers::MAX_ANSWER_CHARS;
use super::{Commit, Handled, Service};
use crate::chat::Person;
use crate::chat::callback::Callback;
use crate::config::Cohort;
use crate::domain::{Button, DeliverySeq, Learner, LearnerId, Note, NoteKind, OutMessage};
use crate::engine::team::{ColleaguesOffer, colleagues_is_new};
use crate::engine::{Draft, Outcome, session};
use crate::i18n::{Lang, fill, tr};
use crate::render;
use crate::store::{LearnerTx, StorageExt, StoreError, TxError};
use crate::team::colleagues::still_quotable;
use crate::text::{escape_html, truncate_chars};

/// The longest idea kept, in characters: a lead reads the ideas of a whole team in one digest,
/// so one idea is a paragraph, not a letter.
pub(crate) const MAX_IDEA_CHARS: usize = 1_000;

/// The longest quote of one answer in "from your colleagues", in characters: three of them and
/// the heading stay within one Telegram message.
const MAX_QUOTE_CHARS: usize = 1_000;

impl Service {
    /// `/idea <text>`: kept as a note for the leads' next digest, tied to the acknowledgement.
    /// Refused, with nothing kept, when the text is empty or too long, or when the cohort has
    /// no lead yet (nobody would read it, and keeping it for a lead who may never come would
    /// hold personal data for nothing).
    pub(super) fn idea(&self, from: &Person, text: &str, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let led = self.led_cohorts()?;
        let seqs = self.store.with_learner(from.id, |tx| {
            let Some(learner) = tx.learner()? else {
                let lang = from.language.unwrap_or(Lang::En);
                let mut outcome = Outcome::default();
                outcome.reply(render::text(tr(lang, "chat.not_enrolled").to_owned()));
                return self.commit(tx, None, outcome, Commit { pack: None, slot: None, now });
            };
            let lang = learner.lang;
            let refusal = idea_refusal(lang, text, led.contains(&learner.cohort));
            let mut outcome = Outcome::default();
            outcome.reply(render::text(refusal.clone().unwrap_or_else(|| tr(lang, "idea.thanks").to_owned())));
            let cohort = learner.cohort.clone();
            let seqs = self.commit(tx, Some(learner), outcome, Commit { pack: None, slot: None, now })?;
            // The thanks is the first delivery: a privacy notice due with it comes after it.
            if let (None, Some(&thanks)) = (refusal, seqs.first()) {
                let text = text.to_owned();
                let kind = NoteKind::Idea;
                tx.put_note(&Note { learner: from.id, delivery: thanks, cohort, at: now, kind, text, shared: false })?;
            }
            Ok(seqs)
        })?;
        Ok(Handled::sending(seqs))
    }

    /// The cohorts that have at least one lead.
    fn led_cohorts(&self) -> Result<Vec<String>, StoreError> {
        let mut led = Vec::new();
        for lead in self.store.leads() {
            led.extend(lead?.cohorts);
        }
        Ok(led)
    }

    /// Records `text` as the learner's answer to the team question of delivery `delivery` (a
    /// reply to an answered question adds to the answer and asks again whether to share it:
    /// the choice is made for the words as they stand) and asks whether to share it.
    pub(super) fn answer_team(
        &self,
        tx: &dyn LearnerTx,
        learner: &mut Learner,
        delivery: DeliverySeq,
        text: &str,
        now: DateTime<Utc>,
        outcome: &mut Outcome,
    ) -> Result<(), TxError> {
        let lang = learner.lang;
        let combined = match tx.note(delivery)? {
            Some(before) if before.kind == NoteKind::TeamAnswer => format!("{}\n{text}", before.text),
            _ => text.to_owned(),
        };
        let kept_whole = combined.chars().count() <= MAX_ANSWER_CHARS;
        let text = if kept_whole { combined } else { combined.chars().take(MAX_ANSWER_CHARS).collect() };
        let cohort = learner.cohort.clone();
        tx.put_note(&Note {
            learner: learner.id,
            delivery,
            cohort,
            at: now,
            kind: NoteKind::TeamAnswer,
            text,
            shared: false,
        })?;
        session::close_team_question(learner, delivery);
        self.mark_active(learner, now);
        outcome.reply(share_question(lang, delivery));
        if !kept_whole {
            let max = MAX_ANSWER_CHARS.to_string();
            outcome.reply(render::text(fill(lang, "chat.answer_kept_first", &[("max", &max)])));
        }
        Ok(())
    }

    /// The answer to "share your answer with your team?" for the team question of delivery
    /// `seq`: marks its note shared or not, and puts the choice where the buttons were. Data
    /// that names no team answer of the pressing learner's (forged, or erased since) finds
    /// nothing.
    pub(super) fn team_share(
        &self,
        from: &Person,
        seq: DeliverySeq,
        share: bool,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let fallback = from.language.unwrap_or(Lang::En);
        self.store.with_learner(from.id, |tx| {
            let learner = tx.learner()?;
            let lang = learner.as_ref().map_or(fallback, |learner| learner.lang);
            let Some(mut note) = tx.note(seq)?.filter(|note| note.kind == NoteKind::TeamAnswer) else {
                return Ok(Handled::toast(tr(lang, "chat.stale_button")));
            };
            note.shared = share;
            tx.put_note(&note)?;
            let choice = render::text(tr(lang, if share { "team.shared" } else { "team.kept" }).to_owned());
            let mut outcome = Outcome::default();
            match message_id {
                Some(message_id) => outcome.drafts.push(Draft::edit(message_id, choice)),
                None => outcome.reply(choice),
            }
            Ok(Handled::sending(self.commit(tx, learner, outcome, Commit { pack: None, slot: None, now })?))
        })
    }

    /// The team question as `learner` gets it. The cohort's own `team_question` is the
    /// cohort's words, written in the cohort's language: the whole message is then in that
    /// language, as pack content is in the pack's. Without one, the catalogue's question comes
    /// in the learner's language.
    pub(super) fn team_question_message(&self, learner: &Learner, cohort: &Cohort) -> OutMessage {
        let (lang, question) = match &cohort.team.question {
            Some(question) => (cohort.language, question.clone()),
            None => (learner.lang, tr(learner.lang, "team.default_question").to_owned()),
        };
        render::text(fill(lang, "team.prompt", &[("question", &question)]))
    }

    /// The "from your colleagues" edition learner `id` has not had yet, with its message
    /// rendered from the notes it names as they are now; `None` when there is none. Read before
    /// the learner's transaction, as each note lives in its author's records.
    pub(super) fn colleagues_offer(&self, id: LearnerId) -> Result<Option<ColleaguesOffer>, StoreError> {
        let Some(learner) = self.store.learner(id)? else { return Ok(None) };
        let Some(edition) = self.store.cohort_state(&learner.cohort)?.colleagues else { return Ok(None) };
        if !colleagues_is_new(&learner, edition.made_at) {
            return Ok(None);
        }
        let mut found = Vec::with_capacity(edition.answers.len());
        for &(author, delivery) in &edition.answers {
            // An author being erased reads as nothing (`with_learner`): their answer is left out.
            found.extend(self.store.with_learner(author, |tx| tx.note(delivery))?);
        }
        let message = still_quotable(&edition, &found).map(|quotes| colleagues_message(learner.lang, &quotes));
        Ok(Some(ColleaguesOffer { made_at: edition.made_at, message }))
    }

    /// `text` (a welcome, `/progress`) with the cohort's goal, as messages: one, with the goal
    /// under `key` appended, when the learner's language `lang` is the cohort's; else the goal
    /// (the cohort's words, in the cohort's language) follows as a message of its own in that
    /// language.
    pub(super) fn with_goal(&self, cohort: Option<&Cohort>, lang: Lang, key: &str, text: String) -> Vec<OutMessage> {
        let Some((goal, cohort_lang)) = cohort.and_then(|c| c.team.goal.as_deref().map(|goal| (goal, c.language)))
        else {
            return vec![render::text(text)];
        };
        if cohort_lang == lang {
            let line = fill(lang, key, &[("goal", goal)]);
            return vec![render::text(format!("{text}\n\n{line}"))];
        }
        vec![render::text(text), render::text(fill(cohort_lang, key, &[("goal", goal)]))]
    }
}

/// Why idea `text` is not kept, in `lang`, if it is not: empty, too long, or for a team without
/// a lead (`has_lead` false).
fn idea_refusal(lang: Lang, text: &str, has_lead: bool) -> Option<String> {
    if text.is_empty() {
        Some(tr(lang, "idea.empty").to_owned())
    } else if text.chars().count() > MAX_IDEA_CHARS {
        Some(fill(lang, "idea.too_long", &[("max", &MAX_IDEA_CHARS.to_string())]))
    } else if !has_lead {
        Some(tr(lang, "idea.no_lead").to_owned())
    } else {
        None
    }
}

/// "Share your answer?", with the two buttons, for the team question of delivery `seq`.
fn share_question(lang: Lang, seq: DeliverySeq) -> OutMessage {
    let button = |key: &str, share: bool| Button {
        label: tr(lang, key).to_owned(),
        data: Callback::TeamShare { seq, share }.encode(),
    };
    OutMessage {
        html: tr(lang, "team.share_ask").to_owned(),
        buttons: vec![vec![button("team.share_button", true)], vec![button("team.keep_button", false)]],
    }
}

/// "From your colleagues" in `lang`, quoting `quotes` (no names: the notes' authors are never
/// shown), each quote at most [`MAX_QUOTE_CHARS`].
fn colleagues_message(lang: Lang, quotes: &[&Note]) -> OutMessage {
    let mut html = tr(lang, "team.colleagues").to_owned();
    for note in quotes {
        html.push_str("\n<blockquote>");
        html.push_str(&escape_html(&truncate_chars(note.text.trim(), MAX_QUOTE_CHARS)));
        html.push_str("</blockquote>");
    }
    render::text(html)
}

/// The privacy notice for a learner who joined before it changed: what changed, then the
/// notice new learners get, in one message.
pub(super) fn updated_notice(lang: Lang) -> OutMessage {
    let min = crate::report::DEFAULT_MIN_GROUP.to_string();
    let notice = fill(lang, "start.privacy", &[("min", &min)]);
    render::text(format!("{}\n\n{notice}", tr(lang, "start.privacy_updated")))
}
