//! Integration tests: the real daemon against a fake Telegram Bot API on 127.0.0.1.

mod helpers;
mod durability;
mod journey;
