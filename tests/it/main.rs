//! Integration tests: the real daemon against a fake Telegram Bot API on 127.0.0.1.

mod admin;
mod cli;
mod content;
mod control;
mod corpus;
mod durability;
mod engine;
mod helpers;
mod instances;
mod journey;
mod languages;
mod leads;
mod moves;
mod ops;
mod privacy;
mod report_cli;
mod report_html;
mod reviews;
mod schedules;
mod startup;
mod store_safety;
mod team;
mod team_loop;
mod telegram;
mod tracks;
mod webhook;
