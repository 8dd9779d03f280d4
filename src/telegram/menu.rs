//! The command menu Telegram shows. At start-up: one per Telegram language, for people who
//! have not joined yet (English the default), and each admin's, with `/report`, in their
//! learner language. A learner's chat gets its own menu in their learner language when they
//! enrol and when they change language ([`set_for_chat`]). A failure here is logged, never
//! fatal: the commands work without a menu.

use super::client::TelegramClient;
use crate::chat::command::{ADMIN_MENU, LEARNER_MENU};
use crate::domain::LearnerId;
use crate::i18n::{Lang, tr};
use crate::service::ChatMenu;

/// Registers the menu in every language, the English one as the default, and each admin's
/// menu in the language given with them.
pub(crate) async fn register(client: &TelegramClient, admins: &[(LearnerId, Lang)]) {
    for lang in Lang::ALL {
        let commands = menu(lang, false);
        if let Err(error) = client.set_commands(&commands, Some(lang.code()), None).await {
            tracing::warn!(language = %lang, error = %error, "could not register the command menu");
        }
    }
    if let Err(error) = client.set_commands(&menu(Lang::En, false), None, None).await {
        tracing::warn!(error = %error, "could not register the default command menu");
    }
    for &(admin, lang) in admins {
        set_for_chat(client, admin.get(), ChatMenu { lang, admin: true }).await;
    }
}

/// Sets chat `chat`'s own menu, whatever language its Telegram app speaks.
pub(crate) async fn set_for_chat(client: &TelegramClient, chat: i64, chat_menu: ChatMenu) {
    if let Err(error) = client.set_commands(&menu(chat_menu.lang, chat_menu.admin), None, Some(chat)).await {
        tracing::warn!(chat, error = %error, "could not set the chat's command menu");
    }
}

/// `(command, description)` pairs in `lang`.
pub(crate) fn menu(lang: Lang, admin: bool) -> Vec<(String, String)> {
    let admin_commands: &[&str] = if admin { &ADMIN_MENU } else { &[] };
    LEARNER_MENU
        .iter()
        .chain(admin_commands)
        .map(|name| ((*name).to_owned(), tr(lang, &format!("commands.{name}")).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_description_in_every_language() {
        for lang in Lang::ALL {
            for (name, description) in menu(lang, true) {
                assert!(!description.is_empty() && description.len() <= 256, "{lang} /{name}");
                assert!(name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase()), "{name}");
            }
        }
    }
}
