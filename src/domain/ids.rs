//! The ids that name learners and deliveries.

/// A learner's Telegram user id; in a private chat it is also the chat id.
pub type LearnerId = i64;

/// A delivery's number, unique in the store; quiz buttons carry it.
pub type DeliverySeq = u64;
