//! One language per message: pack content in the pack's language, every other bot text in the
//! learner's (the cohort's until they choose another), whatever their Telegram app speaks; the
//! chat's command menu follows the learner's language.

use fake_telegram::{FakeTelegram, TgUser};
use nudge::i18n::{Lang, tr};

use crate::helpers::{TestOptions, WAIT, spawn_app_with, texts};

/// Whether chat `chat` has its own menu whose `/progress` reads as in `lang`.
fn chat_menu_in(fake: &FakeTelegram, chat: i64, lang: Lang) -> bool {
    let scope = format!("chat:{chat}");
    let progress = ("progress".to_owned(), tr(lang, "commands.progress").to_owned());
    fake.commands().iter().any(|set| set.scope == scope && set.commands.contains(&progress))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_danish_cohort_speaks_danish_whatever_the_phone_says_until_the_learner_chooses() {
    let app = spawn_app_with(TestOptions { language: "da", ..TestOptions::default() }).await;
    let ann = TgUser::new(42);
    let bob = TgUser::new(43).with_language("nl");

    // Both join with a phone in English or Dutch: the welcome is Danish, description included.
    app.learner_says(&ann, "/start JOIN");
    app.learner_says(&bob, "/start JOIN");
    let welcome = app.messages(42, 2).await;
    assert!(
        welcome[0].plain_text.starts_with(
            "Velkommen, Learner 42! 👋 Du er nu med i Kundeservice.\n\nEn testpakke om kunder.\n\nEt par gange om ugen"
        ),
        "{:?}",
        texts(&welcome)
    );
    assert!(welcome[1].plain_text.starts_with("🔒 Dine data: Jeg gemmer dine svar"), "{:?}", texts(&welcome));
    let bob_welcome = app.messages(43, 2).await;
    assert!(bob_welcome[0].plain_text.starts_with("Velkommen, Learner 43!"), "{:?}", texts(&bob_welcome));
    assert!(app.fake.wait_until(WAIT, |fake| chat_menu_in(fake, 42, Lang::Da)).await, "{:?}", app.fake.commands());

    // The lesson and the quiz, its verdict and toast, and the reflection: all Danish.
    assert_eq!(app.tick_at(app.next_nudge(42)).await, 2);
    let sent = app.messages(42, 4).await;
    assert_eq!(sent[2].plain_text, "📘 Hvorfor?\nLektion 1 af 1\n\nKunden kommer først.");
    assert_eq!(sent[3].plain_text, "❓ Quiz\n\nHvad er et mål?");
    app.press(&ann, "Færre gentagne opkald");
    let asked = |fake: &fake_telegram::FakeTelegram| {
        fake.sent_to(42).iter().any(|message| message.plain_text.ends_with("Hvor sikker er du?"))
    };
    assert!(app.fake.wait_until(WAIT, asked).await, "the quiz asks how sure, in the pack's language");
    assert_eq!(app.fake.sent_to(42)[3].button_labels(), ["Sikker", "Ikke sikker"]);
    app.press(&ann, "Sikker");
    let after = app.messages(42, 5).await;
    assert_eq!(
        after[3].plain_text,
        "❓ Quiz\n\nHvad er et mål?\n\nDit svar: Færre gentagne opkald\n✅ Rigtigt!\n\nEt mål, du kan måle."
    );
    assert!(app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 2).await);
    let toasts: Vec<Option<String>> = app.fake.callback_answers().into_iter().map(|answer| answer.text).collect();
    assert_eq!(toasts, [None, Some("✅ Rigtigt!".to_owned())]);
    assert!(after[4].plain_text.starts_with("💭 Refleksion\n\nTænk på din uge."), "{:?}", texts(&after));
    assert!(after[4].plain_text.ends_with(
        "Svar blot med en besked. Dine svar er dine egne: din teamleder ser, hvor mange der har svaret, og dine ord kun hvis du deler dem, uden dit navn."
    ));

    // After `/language en`: confirmations, help and progress in English, the menu too.
    app.learner_says(&ann, "/language en");
    let chosen = app.messages(42, 6).await;
    assert_eq!(chosen[5].plain_text, tr(Lang::En, "language.set"));
    assert!(app.fake.wait_until(WAIT, |fake| chat_menu_in(fake, 42, Lang::En)).await, "{:?}", app.fake.commands());
    app.learner_says(&ann, "/help");
    let help = app.messages(42, 7).await;
    assert!(
        help[6].plain_text.starts_with("I send you short nudges to keep learning on the job."),
        "{:?}",
        texts(&help)
    );
    app.learner_says(&ann, "/progress");
    let progress = app.messages(42, 8).await;
    assert!(
        progress[7].plain_text.starts_with("📈 Kundeservice\n\nLessons: 0 of 1\nQuizzes mastered: 0 of 1"),
        "{:?}",
        texts(&progress)
    );

    // The reflection's thanks is hers (English); the practice that follows stays Danish.
    app.learner_says(&ann, "Jeg løste en sag i ét opkald");
    let end = app.messages(42, 10).await;
    assert_eq!(end[8].plain_text, "Thanks, noted. 🙏");
    assert_eq!(
        end[9].plain_text,
        "🛠 Opgave\n\nSpørg en kunde, hvad de har brug for.\n\nOm 2 dage spørger jeg, hvordan det gik."
    );
    assert_eq!(app.fake.sent_to(42).len(), 10, "{:?}", texts(&app.fake.sent_to(42)));
    app.stop().await;
}
