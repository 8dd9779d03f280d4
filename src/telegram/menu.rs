//! The command menu Telegram shows. At start-up: one per Telegram language, for people who
//! have not joined yet (English the default), and each admin's, with `/report`, in their
//! learner language. A learner's chat gets its own menu in their learner language when they
//! enrol and when they change language ([`set_for_chat`]); a lead's chat gets the lead's menu
//! (`/team`, `/report`, the data rights, `/help`) when they join. A failure here is logged,
//! never fatal: the commands work without a menu.

use super::client::TelegramClient;
use crate::chat::command::{ADMIN_MENU, LEAD_MENU, LEARNER_MENU};
use crate::domain::LearnerId;
use crate::i18n::{Lang, tr};
use crate::service::ChatMenu;

/// Registers the menu in every language, the English one as the default, and each admin's
/// menu as given with them.
pub(crate) async fn register(client: &TelegramClient, admins: &[(LearnerId, ChatMenu)]) {
    for lang in Lang::ALL {
        let commands = menu(lang, false);
        if let Err(error) = client.set_commands(&commands, Some(lang.code()), None).await {
            tracing::warn!(language = %lang, error = %error, "could not register the command menu");
        }
    }
    if let Err(error) = client.set_commands(&menu(Lang::En, false), None, None).await {
        tracing::warn!(error = %error, "could not register the default command menu");
    }
    for &(admin, chat_menu) in admins {
        set_for_chat(client, admin.get(), chat_menu).await;
    }
}

/// Sets chat `chat`'s own menu, whatever language its Telegram app speaks.
pub(crate) async fn set_for_chat(client: &TelegramClient, chat: i64, chat_menu: ChatMenu) {
    let commands = match chat_menu.lead {
        true => lead_menu(chat_menu.lang),
        false => menu(chat_menu.lang, chat_menu.admin),
    };
    if let Err(error) = client.set_commands(&commands, None, Some(chat)).await {
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

/// A lead's `(command, description)` pairs in `lang` (an admin who leads has `/report` in it
/// already).
pub(crate) fn lead_menu(lang: Lang) -> Vec<(String, String)> {
    LEAD_MENU
        .iter()
        .map(|&name| {
            let key = if name == "report" { "commands.lead_report".to_owned() } else { format!("commands.{name}") };
            (name.to_owned(), tr(lang, &key).to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_description_in_every_language() {
        for lang in Lang::ALL {
            for (name, description) in menu(lang, true).into_iter().chain(lead_menu(lang)) {
                assert!(!description.is_empty() && description.len() <= 256, "{lang} /{name}");
                assert!(name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase()), "{name}");
            }
        }
    }
}
