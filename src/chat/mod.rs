//! What learners do in the chat, independent of the Telegram library: commands, free text and
//! button presses. The Telegram edge converts updates into these; `nudge try` makes them from
//! terminal input.

pub(crate) mod callback;
pub(crate) mod command;

pub(crate) use command::Command;

use crate::domain::LearnerId;
use crate::i18n::Lang;

/// The person behind an incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    /// Telegram user id (= private chat id).
    pub id: LearnerId,
    /// First name, for greetings.
    pub first_name: String,
    /// Telegram's language code for the user, if it sent one.
    pub language: Option<Lang>,
}

/// One thing a learner did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A `/command`, parsed with its arguments (`/name@botname` works too).
    Command {
        /// Who.
        from: Person,
        /// What it asks for.
        command: Command,
    },
    /// Free text.
    Text {
        /// Who.
        from: Person,
        /// The text.
        text: String,
        /// Telegram's id of the bot message this replies to, if any.
        reply_to: Option<i64>,
    },
    /// A press on an inline button.
    Press {
        /// Who.
        from: Person,
        /// Telegram's id for answering the press.
        query_id: String,
        /// The message the button belongs to.
        message_id: Option<i64>,
        /// The button's data.
        data: String,
    },
    /// Anything else (stickers, photos, voice): gets a short hint.
    Other {
        /// Who.
        from: Person,
    },
}

impl Incoming {
    /// Who did it.
    pub(crate) fn from(&self) -> &Person {
        match self {
            Self::Command { from, .. } | Self::Text { from, .. } | Self::Press { from, .. } | Self::Other { from } => {
                from
            }
        }
    }

    /// Reads a chat message: a `/command` (optionally `/command@bot args`) or free text.
    pub(crate) fn from_text(from: Person, text: &str, reply_to: Option<i64>) -> Self {
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix('/') {
            let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let name = head.split('@').next().unwrap_or_default().to_lowercase();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Self::Command { from, command: Command::parse(&name, args.trim()) };
            }
        }
        Self::Text { from, text: text.to_owned(), reply_to }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Person {
        Person { id: LearnerId::new(1), first_name: "Ann".to_owned(), language: None }
    }

    #[test]
    fn commands_lose_the_bot_name_and_keep_arguments() {
        let incoming = Incoming::from_text(person(), "/Start@nudge_bot  JOIN-1 ", None);
        let command = Command::Start { invite: Some("JOIN-1".to_owned()) };
        assert_eq!(incoming, Incoming::Command { from: person(), command });
    }

    #[test]
    fn a_slash_alone_or_odd_characters_is_text() {
        assert!(matches!(Incoming::from_text(person(), "/", None), Incoming::Text { .. }));
        assert!(matches!(Incoming::from_text(person(), "/<b>", None), Incoming::Text { .. }));
        assert!(matches!(Incoming::from_text(person(), "hello /start", None), Incoming::Text { .. }));
    }
}
