//! Messages as learners see them: content items and bot texts rendered to [`OutMessage`]s.
//!
//! Pure: content and language in, Telegram HTML and buttons out. The same functions serve the
//! daemon, `nudge preview` and `nudge try`, so authors see exactly what learners get.

pub(crate) mod fit;
pub(crate) mod plain;

use crate::chat::callback::Callback;
use crate::content::{Lesson, Pack, Practice, Quiz, Reflect, Rich};
use crate::domain::{Button, Confidence, DeliverySeq, OutMessage, Outgoing, PracticeOutcome};
use crate::engine::Milestone;
use crate::i18n::{Lang, fill, fill_html, tr};

/// Telegram's limit on a message's visible text.
pub(crate) const MAX_MESSAGE_CHARS: usize = 4096;

/// A message with text only.
pub(crate) fn text(html: String) -> OutMessage {
    OutMessage { html, buttons: Vec::new() }
}

/// The lesson text with its title and place in the pack.
pub(crate) fn lesson(lang: Lang, pack: &Pack, lesson: &Lesson) -> OutMessage {
    let n = pack.lesson_index(&lesson.id).map_or(0, |idx| idx + 1);
    let header = fill(
        lang,
        "lesson.header",
        &[("title", &lesson.title), ("n", &n.to_string()), ("total", &pack.lessons.len().to_string())],
    );
    text(join_html(&header, &lesson.body))
}

/// A quiz question with one button per option, carrying delivery `seq`.
pub(crate) fn quiz(lang: Lang, quiz: &Quiz, seq: DeliverySeq, review: bool) -> OutMessage {
    let buttons = quiz
        .options
        .iter()
        .enumerate()
        .map(|(option, label)| vec![Button { label: label.clone(), data: Callback::Quiz { seq, option }.encode() }])
        .collect();
    OutMessage { html: join_html(quiz_header(lang, review), &quiz.question), buttons }
}

/// The quiz after the first tap, where the cohort asks how sure the learner is: the question,
/// their answer and "how sure are you?" with two buttons carrying delivery `seq`; no verdict
/// yet, so the confidence is given before the learner knows.
pub(crate) fn quiz_confidence(lang: Lang, quiz: &Quiz, seq: DeliverySeq, choice: usize, review: bool) -> OutMessage {
    let mut html = quiz_with_answer(lang, quiz, choice, review);
    html.push_str("\n\n");
    html.push_str(tr(lang, "quiz.how_sure"));
    let button = |key: &str, sure: bool| Button {
        label: tr(lang, key).to_owned(),
        data: Callback::Confidence { seq, sure }.encode(),
    };
    OutMessage { html, buttons: vec![vec![button("quiz.sure", true), button("quiz.not_sure", false)]] }
}

/// The quiz after the learner answered: the question, their answer, the verdict and the
/// explanation; no buttons left to press.
pub(crate) fn quiz_answered(lang: Lang, quiz: &Quiz, choice: usize, review: bool) -> OutMessage {
    quiz_rated(lang, quiz, choice, review, None)
}

/// [`quiz_answered`] after the learner said how sure they were: a right answer they were not
/// sure of, or a wrong one they were sure of, gets a line on what that means.
pub(crate) fn quiz_rated(
    lang: Lang,
    quiz: &Quiz,
    choice: usize,
    review: bool,
    confidence: Option<Confidence>,
) -> OutMessage {
    let correct = choice == quiz.correct;
    let mut html = quiz_with_answer(lang, quiz, choice, review);
    html.push('\n');
    html.push_str(&verdict(lang, quiz, correct));
    match (correct, confidence) {
        (false, Some(Confidence::Sure)) => html.push_str(&format!("\n{}", tr(lang, "quiz.sure_wrong"))),
        (true, Some(Confidence::NotSure)) => html.push_str(&format!("\n{}", tr(lang, "quiz.unsure_right"))),
        _ => {}
    }
    if let Some(explanation) = &quiz.explanation {
        html.push_str("\n\n");
        html.push_str(&explanation.html);
    }
    text(html)
}

/// The header, the question and "your answer: …".
fn quiz_with_answer(lang: Lang, quiz: &Quiz, choice: usize, review: bool) -> String {
    let chosen = quiz.options.get(choice).map_or("?", String::as_str);
    let mut html = join_html(quiz_header(lang, review), &quiz.question);
    html.push_str("\n\n");
    html.push_str(&fill(lang, "quiz.your_answer", &[("answer", chosen)]));
    html
}

/// `✅ Right!` or `❌ Not quite. The right answer is: …`.
pub(crate) fn verdict(lang: Lang, quiz: &Quiz, correct: bool) -> String {
    if correct {
        return tr(lang, "quiz.right").to_owned();
    }
    let answer = quiz.options.get(quiz.correct).map_or("", String::as_str);
    fill(lang, "quiz.wrong", &[("answer", answer)])
}

fn quiz_header(lang: Lang, review: bool) -> &'static str {
    tr(lang, if review { "quiz.review_header" } else { "quiz.header" })
}

/// Question `question` of a reflection (the first comes with the intro); a reminder says it is
/// asked again.
pub(crate) fn reflect(lang: Lang, reflect: &Reflect, question: usize, reminder: bool) -> OutMessage {
    let mut body = Rich::default();
    if reminder {
        let reminder = tr(lang, "reminder.reflect");
        body.push("", &Rich::from_parts(reminder.to_owned(), plain::to_plain(reminder)));
    }
    if question == 0
        && let Some(intro) = &reflect.intro
    {
        body.push("\n\n", intro);
    }
    if let Some(text) = reflect.questions.get(question) {
        body.push("\n\n", &Rich::from_parts(format!("<b>{}</b>", text.html), text.plain.clone()));
    }
    let mut html = join_html(tr(lang, "reflect.header"), &body);
    html.push_str("\n\n");
    html.push_str(tr(lang, "reflect.hint"));
    text(html)
}

/// A practice assignment, saying when the follow-up comes.
pub(crate) fn practice(lang: Lang, practice: &Practice) -> OutMessage {
    let mut html = join_html(tr(lang, "practice.header"), &practice.task);
    html.push_str("\n\n");
    let hint = match practice.follow_up_days {
        1 => tr(lang, "practice.hint_tomorrow").to_owned(),
        days => fill(lang, "practice.hint", &[("days", &days.to_string())]),
    };
    html.push_str(&hint);
    text(html)
}

/// "How did your practice go?" with done / partly / not yet buttons carrying delivery `seq`.
pub(crate) fn practice_check(lang: Lang, practice: &Practice, seq: DeliverySeq) -> OutMessage {
    let buttons = PRACTICE_OUTCOMES
        .iter()
        .map(|(outcome, key)| Button {
            label: tr(lang, key).to_owned(),
            data: Callback::Practice { seq, outcome: *outcome }.encode(),
        })
        .collect();
    OutMessage {
        html: fill_html(lang, "practice_check.text", &[("task", &practice.task.html)]),
        buttons: vec![buttons],
    }
}

/// The practice check after the learner answered it: their answer instead of the buttons.
pub(crate) fn practice_checked(lang: Lang, practice: &Practice, outcome: PracticeOutcome) -> OutMessage {
    let key = PRACTICE_OUTCOMES.iter().find(|(known, _)| *known == outcome).map_or("", |(_, key)| key);
    let mut html = fill_html(lang, "practice_check.text", &[("task", &practice.task.html)]);
    html.push_str("\n\n");
    html.push_str(&fill(lang, "practice_check.chosen", &[("answer", tr(lang, key))]));
    text(html)
}

const PRACTICE_OUTCOMES: [(PracticeOutcome, &str); 3] = [
    (PracticeOutcome::Done, "practice_check.done"),
    (PracticeOutcome::Partly, "practice_check.partly"),
    (PracticeOutcome::NotYet, "practice_check.not_yet"),
];

/// The note at the end of the pack, or when every quiz is mastered.
pub(crate) fn milestone(lang: Lang, pack: &Pack, milestone: Milestone) -> OutMessage {
    let lessons = pack.lessons.len().to_string();
    let args = [("programme", pack.title.as_str()), ("lessons", lessons.as_str())];
    match milestone {
        Milestone::PackFinished => text(fill(lang, "milestone.finished", &args)),
        Milestone::AllMastered => text(fill(lang, "milestone.mastered", &args)),
    }
}

/// The language choice, one button per language (named in itself).
pub(crate) fn language_choice(lang: Lang) -> OutMessage {
    let buttons = Lang::ALL
        .into_iter()
        .map(|option| Button {
            label: tr(option, "language.name").to_owned(),
            data: Callback::Language(option).encode(),
        })
        .collect();
    OutMessage { html: tr(lang, "language.choose").to_owned(), buttons: vec![buttons] }
}

fn join_html(header: &str, body: &Rich) -> String {
    if body.html.is_empty() {
        return header.to_owned();
    }
    format!("{header}\n\n{}", body.html)
}

/// `outgoing` as messages that each fit Telegram's limit: a text message that is too long
/// becomes several (paragraph by paragraph), one with buttons or an edit is cut with `…` and
/// a note in `lang`; see [`fit`]. Buttons stay on the one message that has them.
pub(crate) fn fit_outgoing(lang: Lang, outgoing: Outgoing) -> Vec<Outgoing> {
    match outgoing {
        Outgoing::Send { message } if message.buttons.is_empty() => fit::split_html(&message.html, MAX_MESSAGE_CHARS)
            .into_iter()
            .map(|html| Outgoing::Send { message: text(html) })
            .collect(),
        Outgoing::Send { message } => vec![Outgoing::Send { message: cut(lang, message) }],
        Outgoing::Edit { message_id, message } => vec![Outgoing::Edit { message_id, message: cut(lang, message) }],
        document @ Outgoing::Document { .. } => vec![document],
    }
}

fn cut(lang: Lang, message: OutMessage) -> OutMessage {
    let html = fit::cut_html(&message.html, MAX_MESSAGE_CHARS, tr(lang, "chat.shortened"));
    OutMessage { html, ..message }
}

/// The visible length of a message, as Telegram counts it.
pub(crate) fn visible_len(message: &OutMessage) -> usize {
    crate::text::telegram_len(&plain::to_plain(&message.html))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_quiz() -> Quiz {
        Quiz {
            question: Rich::from_markdown("Best **first** step?"),
            options: vec!["Listen".to_owned(), "Sell".to_owned()],
            correct: 0,
            explanation: Some(Rich::from_markdown("Because & so.")),
        }
    }

    #[test]
    fn quiz_buttons_carry_the_delivery_and_option() {
        let message = quiz(Lang::En, &sample_quiz(), DeliverySeq::new(42), false);
        assert_eq!(message.buttons.len(), 2);
        assert_eq!(message.buttons[1][0].data, "q:42:1");
        assert!(message.html.contains("Best <b>first</b> step?"));
    }

    #[test]
    fn answered_quiz_shows_choice_verdict_and_explanation() {
        let message = quiz_answered(Lang::En, &sample_quiz(), 1, false);
        assert!(message.buttons.is_empty());
        assert!(message.html.contains("Your answer: Sell"));
        assert!(message.html.contains("The right answer is: <b>Listen</b>"));
        assert!(message.html.ends_with("Because &amp; so."));
    }

    #[test]
    fn the_first_tap_shows_the_answer_and_asks_how_sure_without_a_verdict() {
        let message = quiz_confidence(Lang::En, &sample_quiz(), DeliverySeq::new(42), 1, false);
        assert!(message.html.contains("Your answer: Sell\n\nHow sure are you?"), "{}", message.html);
        assert!(!message.html.contains("right answer") && !message.html.contains("Because"), "{}", message.html);
        let buttons: Vec<(&str, &str)> =
            message.buttons.iter().flatten().map(|b| (b.label.as_str(), b.data.as_str())).collect();
        assert_eq!(buttons, [("Sure", "c:42:y"), ("Not sure", "c:42:n")], "one row, the quiz's delivery");
        let danish = quiz_confidence(Lang::Da, &sample_quiz(), DeliverySeq::new(42), 1, false);
        assert!(danish.html.contains("Hvor sikker er du?") && danish.buttons[0][0].label == "Sikker");
    }

    #[test]
    fn a_rated_verdict_explains_a_sure_mistake_and_an_unsure_success() {
        let sure_wrong = quiz_rated(Lang::En, &sample_quiz(), 1, false, Some(Confidence::Sure)).html;
        assert!(sure_wrong.contains("You were sure of this one"), "{sure_wrong}");
        let unsure_right = quiz_rated(Lang::En, &sample_quiz(), 0, false, Some(Confidence::NotSure)).html;
        assert!(unsure_right.contains("come back a little sooner"), "{unsure_right}");
        let plain = quiz_answered(Lang::En, &sample_quiz(), 0, false).html;
        assert_eq!(quiz_rated(Lang::En, &sample_quiz(), 0, false, Some(Confidence::Sure)).html, plain);
    }

    #[test]
    fn reflection_intro_comes_with_the_first_question_only() {
        let reflect =
            Reflect { intro: Some(Rich::plain("Intro")), questions: vec![Rich::plain("One?"), Rich::plain("Two?")] };
        assert!(super::reflect(Lang::En, &reflect, 0, false).html.contains("Intro\n\n<b>One?</b>"));
        assert!(!super::reflect(Lang::En, &reflect, 1, false).html.contains("Intro"));
        let reminder = super::reflect(Lang::En, &reflect, 1, true).html;
        assert!(reminder.contains("here is the question again.\n\n<b>Two?</b>"), "{reminder}");
    }
}
