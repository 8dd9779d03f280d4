//! nudge: a self-hosted microlearning service. A daemon reads bite-sized lessons from markdown
//! content packs and, on each cohort's schedule, sends learners lessons, quizzes, reflection
//! questions and practice assignments over Telegram, records every answer in an embedded sled
//! store, and gives admins engagement reports.
//!
//! Start reading at `app` (the daemon's wiring) and `service` (the use cases). See
//! ARCHITECTURE.md for the map.

#![warn(missing_docs)]

pub mod app;
pub mod authoring;
pub mod chat;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub mod content;
pub mod control;
pub mod domain;
pub mod engine;
pub mod i18n;
pub mod render;
pub mod report;
pub mod schedule;
pub mod service;
pub mod store;
pub mod team;
pub mod telegram;
pub mod telemetry;
#[cfg(test)]
pub mod testkit;
pub mod text;
pub mod tune;
