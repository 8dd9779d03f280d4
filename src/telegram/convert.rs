//! Telegram updates into nudge's own [`Incoming`] values; the only place update types are read.

use teloxide::types::{Update, UpdateKind, User};

use crate::chat::{Incoming, Person};
use crate::domain::LearnerId;
use crate::i18n::Lang;

/// The learner's action in `update`, if it is one nudge handles (private chats only).
pub(crate) fn incoming(update: &Update) -> Option<Incoming> {
    match &update.kind {
        UpdateKind::Message(message) => {
            if !message.chat.is_private() {
                return None;
            }
            let from = person(message.from.as_ref()?);
            let reply_to = message.reply_to_message().map(|reply| i64::from(reply.id.0));
            Some(match message.text() {
                Some(text) => Incoming::from_text(from, text, reply_to),
                None => Incoming::Other { from },
            })
        }
        UpdateKind::CallbackQuery(query) => Some(Incoming::Press {
            from: person(&query.from),
            query_id: query.id.0.clone(),
            message_id: query.message.as_ref().map(|message| i64::from(message.id().0)),
            data: query.data.clone().unwrap_or_default(),
        }),
        _ => None,
    }
}

fn person(user: &User) -> Person {
    Person {
        id: LearnerId::new(i64::try_from(user.id.0).unwrap_or(i64::MAX)),
        first_name: user.first_name.chars().take(64).collect(),
        language: user.language_code.as_deref().and_then(Lang::parse),
    }
}
