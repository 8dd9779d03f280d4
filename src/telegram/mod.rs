//! The Telegram edge, and the only code that uses teloxide types: the paced and retrying
//! client and its HTTP exchange, conversion of updates, the durable update loop and the outbox
//! sender.

pub mod client;
pub mod convert;
pub mod inbound;
pub mod limiter;
pub mod menu;
pub mod poller;
pub mod sender;
pub mod wire;

pub use client::{RetryPolicy, SendError, TelegramClient};
pub use limiter::Limits;
pub use sender::{OutboxHandle, outbox};
