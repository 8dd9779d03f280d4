//! `nudge webhook set|delete`: registers or removes the bot's webhook with Telegram, once, from
//! a deploy step. Each instance only checks at start that Telegram's record points where the
//! settings say (`telegram::webhook::check_registration`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::WebhookAction;
use crate::config::{self, Limits, Settings, UpdateMode};
use crate::telegram::{RetryPolicy, TelegramClient};
use crate::telemetry::metrics::Metrics;

/// Runs `nudge webhook <action>` with the settings at `config`.
pub(super) fn run(action: WebhookAction, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let token = config::token_from_env()?;
    let client = TelegramClient::new(
        &token,
        settings.telegram.api_url.clone(),
        Limits::NONE,
        RetryPolicy::default(),
        Arc::new(Metrics::default()),
    )?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let said = runtime.block_on(async {
        match action {
            WebhookAction::Set {} => set(&client, &settings).await,
            WebhookAction::Delete {} => delete(&client).await,
        }
    })?;
    println!("{said}");
    Ok(ExitCode::SUCCESS)
}

async fn set(client: &TelegramClient, settings: &Settings) -> anyhow::Result<String> {
    let UpdateMode::Webhook(webhook) = &settings.telegram.updates else {
        anyhow::bail!(
            "{} takes updates by long polling: put `mode = \"webhook\"`, `webhook_url` and `webhook_listen` in [telegram] first",
            settings.source.display()
        );
    };
    let secret = config::webhook_secret(|key| std::env::var(key).ok())?;
    client.set_webhook(&webhook.url, &secret).await.context("Telegram did not take the webhook")?;
    let info = client.webhook_info().await.context("Telegram took the webhook but cannot say what it holds")?;
    let waiting = match info.pending_update_count {
        0 => "no update waits".to_owned(),
        1 => "1 update waits to be posted".to_owned(),
        n => format!("{n} updates wait to be posted"),
    };
    Ok(format!("Telegram posts this bot's updates to {} now; {waiting}.", webhook.url))
}

async fn delete(client: &TelegramClient) -> anyhow::Result<String> {
    client.delete_webhook().await.context("Telegram did not remove the webhook")?;
    Ok("Telegram has no webhook for this bot now: updates wait for long polling (`mode = \"polling\"`).".to_owned())
}
