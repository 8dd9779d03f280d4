//! The ids that name learners, deliveries, the items of a pack and Telegram's updates.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A learner's Telegram user id; in a private chat it is also the chat id. Its own type, so a
/// chat, message or delivery number cannot be passed where a learner is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LearnerId(i64);

impl LearnerId {
    /// The learner with Telegram user id `id` (from an update, a CLI argument or a key).
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The Telegram user id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for LearnerId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::str::FromStr for LearnerId {
    type Err = std::num::ParseIntError;

    /// A Telegram user id as written on a command line.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Self)
    }
}

/// A delivery's number, unique in the store; quiz buttons carry it. The store hands out
/// numbers from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliverySeq(u64);

impl DeliverySeq {
    /// Delivery number `seq` (from the store's counter, a key or button data).
    pub const fn new(seq: u64) -> Self {
        Self(seq)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DeliverySeq {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A Telegram update's `update_id`: what a webhook update is deduplicated on, since Telegram
/// posts an update again when it got no 2xx. Its own type, so it cannot be mixed up with a chat,
/// message or learner id. Telegram's ids are positive 32-bit numbers; kept as `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UpdateId(i64);

impl UpdateId {
    /// The update with Telegram update id `id` (from a webhook's body or a key).
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The Telegram update id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UpdateId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A quiz, reflection or practice item: its lesson's id and its own id within the lesson,
/// written `lesson/item` in records, backups and reports. Built once, where the content is
/// parsed or a record read, so nothing else splits or joins the text.
///
/// Ordered as its text, so a map keyed by it is written in the order it always was.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId {
    /// `lesson/item`, whole: what records hold.
    text: String,
    /// Where the `/` is.
    slash: usize,
}

impl ItemId {
    /// The item `local` of lesson `lesson`; `None` when either is empty or holds a `/`.
    pub fn new(lesson: &str, local: &str) -> Option<Self> {
        Self::parse(&format!("{lesson}/{local}"))
    }

    /// Reads `lesson/item`; `None` for anything else (no `/`, two, or an empty side).
    pub fn parse(text: &str) -> Option<Self> {
        slash_of(text).map(|slash| Self { text: text.to_owned(), slash })
    }

    /// The id of the lesson the item belongs to.
    pub(crate) fn lesson(&self) -> &str {
        &self.text[..self.slash]
    }

    /// `lesson/item`.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

/// Where the one `/` of `lesson/item` is, if `text` has that shape.
fn slash_of(text: &str) -> Option<usize> {
    let (lesson, local) = text.split_once('/')?;
    (!lesson.is_empty() && !local.is_empty() && !local.contains('/')).then_some(lesson.len())
}

impl fmt::Display for ItemId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl Serialize for ItemId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ItemId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match slash_of(&text) {
            Some(slash) => Ok(Self { text, slash }),
            None => Err(serde::de::Error::custom(format!("`{text}` is not an item id (lesson/item)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_id_is_its_lesson_and_its_own_id() {
        let id = ItemId::parse("what-for/quiz-2").unwrap();
        assert_eq!((id.lesson(), id.to_string().as_str()), ("what-for", "what-for/quiz-2"));
        assert_eq!(ItemId::new("what-for", "quiz-2"), Some(id));
    }

    #[test]
    fn text_that_is_not_lesson_slash_item_is_no_item_id() {
        for text in ["", "quiz", "/quiz", "one/", "one/quiz/2", "/"] {
            assert_eq!(ItemId::parse(text), None, "{text:?}");
        }
        assert!(serde_json::from_str::<ItemId>(r#""one""#).is_err());
    }

    #[test]
    fn item_ids_sort_and_serialise_as_their_text() {
        let ids = ["one-two/quiz", "one/quiz"].map(|text| ItemId::parse(text).unwrap());
        assert!(ids[0] < ids[1], "`-` sorts before `/`, as in the strings");
        let map = std::collections::BTreeMap::from([(ids[1].clone(), 1), (ids[0].clone(), 2)]);
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, r#"{"one-two/quiz":2,"one/quiz":1}"#);
        assert_eq!(serde_json::from_str::<std::collections::BTreeMap<ItemId, i32>>(&json).unwrap(), map);
    }
}
