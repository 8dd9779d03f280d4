//! The Telegram edge, and the only code that uses teloxide types: the paced and retrying
//! client and its HTTP exchange, conversion of updates, the durable update loop and the outbox
//! sender.

pub(crate) mod client;
pub(crate) mod convert;
pub(crate) mod inbound;
pub(crate) mod intake;
pub(crate) mod limiter;
pub(crate) mod menu;
pub(crate) mod poller;
pub(crate) mod sender;
pub(crate) mod webhook;
pub(crate) mod wire;

pub use client::{RetryPolicy, SendError, TelegramClient};
pub(crate) use sender::{OutboxHandle, outbox};
