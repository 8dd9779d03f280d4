//! `[telegram] mode`: how updates reach nudge. Long polling (the default) needs nothing; a
//! webhook needs the public address Telegram posts to (`webhook_url`) and the address this
//! process listens on behind the load balancer (`webhook_listen`, never the ops endpoint's).
//! The secret token Telegram sends with each update is not part of the file: it comes from
//! `NUDGE_WEBHOOK_SECRET` only, read by [`webhook_secret`].

use std::net::SocketAddr;

use secrecy::SecretString;
use toml::Spanned;

use super::validate::Validator;

/// How Telegram's updates reach this process.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum UpdateMode {
    /// `getUpdates`, by the active instance only (Telegram allows one consumer per token).
    #[default]
    Polling,
    /// Telegram POSTs each update to `url`, which a load balancer hands to any instance's
    /// `listen`.
    Webhook(WebhookSettings),
}

/// Where a webhook is registered and served.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// The public https address given to Telegram by `nudge webhook set`.
    pub url: reqwest::Url,
    /// Where this process accepts the updates.
    pub listen: SocketAddr,
}

/// The environment variable that holds the webhook's secret token.
pub const SECRET_VARIABLE: &str = "NUDGE_WEBHOOK_SECRET";

/// The ports Telegram posts webhooks to.
const TELEGRAM_PORTS: [u16; 4] = [443, 80, 88, 8443];

/// The `[telegram]` keys about updates, as written.
pub(super) struct RawUpdateMode<'raw> {
    pub mode: Option<&'raw Spanned<String>>,
    pub url: Option<&'raw Spanned<String>>,
    pub listen: Option<&'raw Spanned<String>>,
}

impl Validator<'_> {
    /// The update mode, reporting a webhook key without `mode = "webhook"`, a webhook mode
    /// without its keys, and an address shared with the ops endpoint.
    pub(super) fn update_mode(&mut self, raw: RawUpdateMode<'_>, ops_listen: Option<SocketAddr>) -> UpdateMode {
        let webhook = match raw.mode.map(|mode| (mode, mode.get_ref().as_str())) {
            None | Some((_, "polling")) => false,
            Some((_, "webhook")) => true,
            Some((mode, other)) => {
                let why = format!("`{other}` is not a way to get updates: write `polling` (the default) or `webhook`");
                self.error(mode, "telegram.mode", &why);
                return UpdateMode::Polling;
            }
        };
        if !webhook {
            for (key, value) in [("webhook_url", raw.url), ("webhook_listen", raw.listen)] {
                if let Some(value) = value {
                    let why = "only a webhook uses it: add `mode = \"webhook\"` to `[telegram]`, or remove it";
                    self.error(value, &format!("telegram.{key}"), why);
                }
            }
            return UpdateMode::Polling;
        }
        let url = self.webhook_url(raw.url, raw.mode);
        let listen = self.webhook_listen(raw.listen, raw.mode, ops_listen);
        match (url, listen) {
            (Some(url), Some(listen)) => UpdateMode::Webhook(WebhookSettings { url, listen }),
            _ => UpdateMode::Polling,
        }
    }

    fn webhook_url(&mut self, url: Option<&Spanned<String>>, mode: Option<&Spanned<String>>) -> Option<reqwest::Url> {
        let Some(url) = url else {
            let why = "a webhook needs `webhook_url`, the public https address Telegram posts updates to";
            return self.missing(mode, "telegram.mode", why);
        };
        parse_webhook_url(url.get_ref()).map_err(|why| self.error(url, "telegram.webhook_url", &why)).ok()
    }

    fn webhook_listen(
        &mut self,
        listen: Option<&Spanned<String>>,
        mode: Option<&Spanned<String>>,
        ops_listen: Option<SocketAddr>,
    ) -> Option<SocketAddr> {
        let Some(listen) = listen else {
            let why = "a webhook needs `webhook_listen`, the address and port this process takes updates on, such as `0.0.0.0:8443`";
            return self.missing(mode, "telegram.mode", why);
        };
        let Ok(address) = listen.get_ref().parse::<SocketAddr>() else {
            let why = "give an address and port such as `0.0.0.0:8443`";
            return self.missing(Some(listen), "telegram.webhook_listen", why);
        };
        if ops_listen.is_some_and(|ops| ops.port() == address.port()) {
            let why = "`[http] listen` has this port: the webhook and the operations endpoints need ports of their own";
            return self.missing(Some(listen), "telegram.webhook_listen", why);
        }
        Some(address)
    }

    /// Reports `why` at `value` (or the file's start) and gives `None`.
    fn missing<T>(&mut self, value: Option<&Spanned<String>>, key: &str, why: &str) -> Option<T> {
        match value {
            Some(value) => self.error(value, key, why),
            None => self.error_at(0, key, why),
        }
        None
    }
}

/// A webhook address Telegram will post to: https on one of its ports. Plain http is taken for
/// this machine only, so a webhook can be tried against `fake-telegram`.
pub(super) fn parse_webhook_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|error| format!("`{text}` is not a URL ({error})"))?;
    let local = url.host_str().is_some_and(|host| matches!(host, "localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => return Ok(url),
        _ => return Err(format!("`{text}`: Telegram posts updates to https:// addresses only")),
    }
    let port = url.port_or_known_default().unwrap_or(443);
    if !local && !TELEGRAM_PORTS.contains(&port) {
        return Err(format!("`{text}`: Telegram posts updates to ports 443, 80, 88 and 8443 only, not {port}"));
    }
    Ok(url)
}

/// The webhook's secret token from `env` (`NUDGE_WEBHOOK_SECRET`): 1 to 256 letters, digits,
/// `_` and `-`, as Telegram accepts. The error names the variable, never the value.
pub fn webhook_secret(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<SecretString> {
    let Some(secret) = env(SECRET_VARIABLE).filter(|secret| !secret.is_empty()) else {
        anyhow::bail!(
            "webhook mode needs a secret token in the environment variable {SECRET_VARIABLE} (the same for every instance); make one with `openssl rand -hex 32`"
        );
    };
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
    anyhow::ensure!(
        secret.len() <= 256 && secret.bytes().all(allowed),
        "the environment variable {SECRET_VARIABLE} must be 1 to 256 letters, digits, `_` or `-` (Telegram accepts no other)"
    );
    Ok(SecretString::from(secret))
}
