//! The HTTP exchange of one Bot API call: post it, read Telegram's answer, return at once.
//!
//! teloxide still builds every payload and defines every type; only its request layer is left
//! out, because it sleeps 10 s after any 5xx before it hands the error back. With it, a reply
//! that got a 500 went out again 10.5 s later, although the client's backoff was 500 ms. What to
//! do about a failure (retry, wait, give up) is `client.rs`'s business, not this module's.

use std::future::Future;
use std::sync::Arc;

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::multipart::Form;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::requests::Payload;
use teloxide::types::ResponseParameters;
use teloxide::{ApiError, RequestError};

/// Posts calls to one Bot API server with one token.
pub(crate) struct Wire {
    http: reqwest::Client,
    api_url: Url,
    token: SecretString,
}

/// Telegram's answer to any call: `{"ok":true,"result":…}` or `{"ok":false,"description":…}`.
#[derive(serde::Deserialize)]
struct Answer<T> {
    #[serde(default)]
    ok: bool,
    result: Option<T>,
    description: Option<ApiError>,
    parameters: Option<ResponseParameters>,
}

impl Wire {
    /// A wire to the server at `api_url` (e.g. `https://api.telegram.org`).
    pub fn new(http: reqwest::Client, api_url: Url, token: SecretString) -> anyhow::Result<Self> {
        anyhow::ensure!(!api_url.cannot_be_a_base(), "the Bot API address {api_url} is not an http(s) URL");
        Ok(Self { http, api_url, token })
    }

    /// Posts `payload` as JSON (serialized now, so the future borrows only the wire).
    pub fn json<'wire, P>(
        &'wire self,
        payload: &P,
    ) -> impl Future<Output = Result<P::Output, RequestError>> + use<'wire, P>
    where
        P: Payload + Serialize,
        P::Output: DeserializeOwned,
    {
        let body = serde_json::to_vec(payload);
        async move {
            let body = body.map_err(|error| invalid_json(error, ""))?;
            let request = self
                .http
                .post(self.method_url(P::NAME))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let response = request.body(body).send().await.map_err(network)?;
            parse(&response.text().await.map_err(network)?)
        }
    }

    /// Posts a multipart `form` (a call that uploads a file) to `method`.
    pub(crate) async fn multipart<T>(&self, method: &str, form: Form) -> Result<T, RequestError>
    where
        T: DeserializeOwned,
    {
        let response = self.http.post(self.method_url(method)).multipart(form).send().await.map_err(network)?;
        parse(&response.text().await.map_err(network)?)
    }

    fn method_url(&self, method: &str) -> Url {
        let mut url = self.api_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&format!("bot{}", self.token.expose_secret())).push(method);
        }
        url
    }
}

/// A network failure without the URL it was for: the URL holds the token, wherever the API
/// address puts it (teloxide's own scrubbing only finds it as the first path segment).
fn network(error: reqwest::Error) -> RequestError {
    RequestError::Network(Arc::new(error.without_url()))
}

/// Turns Telegram's answer into the value or the error teloxide would have given.
fn parse<T>(text: &str) -> Result<T, RequestError>
where
    T: DeserializeOwned,
{
    let answer: Answer<T> = serde_json::from_str(text).map_err(|error| invalid_json(error, text))?;
    match answer {
        Answer { ok: true, result: Some(result), .. } => Ok(result),
        Answer { parameters: Some(ResponseParameters::RetryAfter(wait)), .. } => Err(RequestError::RetryAfter(wait)),
        Answer { parameters: Some(ResponseParameters::MigrateToChatId(chat)), .. } => {
            Err(RequestError::MigrateToChatId(chat))
        }
        Answer { description: Some(error), .. } => Err(RequestError::Api(error)),
        Answer { .. } => Err(RequestError::Api(ApiError::Unknown(format!("an answer without a result: {text}")))),
    }
}

fn invalid_json(error: serde_json::Error, raw: &str) -> RequestError {
    RequestError::InvalidJson { source: Arc::new(error), raw: raw.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<teloxide::types::True, RequestError> {
        parse(text)
    }

    #[test]
    fn reads_results_and_every_kind_of_error() {
        assert!(parsed(r#"{"ok":true,"result":true}"#).is_ok());
        let server = parsed(r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#);
        assert!(matches!(server, Err(RequestError::Api(ApiError::Unknown(text))) if text == "Internal Server Error"));
        let slow_down = parsed(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#,
        );
        assert!(matches!(slow_down, Err(RequestError::RetryAfter(wait)) if wait.seconds() == 3));
        let blocked = parsed(r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#);
        assert!(matches!(blocked, Err(RequestError::Api(ApiError::BotBlocked))));
        assert!(matches!(parsed("<html>502 Bad Gateway</html>"), Err(RequestError::InvalidJson { .. })));
    }

    #[test]
    fn method_urls_carry_the_token_and_the_method() {
        let url = Url::parse("http://127.0.0.1:8081/").expect("a URL");
        let wire = Wire::new(reqwest::Client::new(), url, SecretString::from("1:abc")).expect("a wire");
        assert_eq!(wire.method_url("SendMessage").as_str(), "http://127.0.0.1:8081/bot1:abc/SendMessage");
    }

    #[tokio::test]
    async fn a_network_failure_never_shows_the_token_wherever_the_address_puts_it() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr());
        let port = closed.expect("a free port").port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/telegram/")).expect("a URL");
        let wire = Wire::new(reqwest::Client::new(), url, SecretString::from("77:SECRET-canary")).expect("a wire");
        let error = wire.json(&teloxide::payloads::GetMe::new()).await.expect_err("nothing listens there");
        let shown = format!("{error} {error:?} {:?}", std::error::Error::source(&error));
        assert!(!shown.contains("SECRET-canary"), "{shown}");
    }
}
