//! JSON control API under `/_fake/` for scripts and other processes (benchmarks, crash tests).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, Path, State as AxState};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Shared, lock};
use crate::{Fault, Limits, TgUser};

type S = AxState<Arc<Shared>>;
type Reply = Result<Json<Value>, (StatusCode, String)>;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/send", post(send))
        .route("/press", post(press))
        .route("/raw", post(raw))
        .route("/chats/{id}", get(|s: S, Path(id): Path<i64>| async move { Json(json!(s.0.sent(Some(id)))) }))
        .route("/sent", get(|s: S| async move { Json(json!(s.0.sent(None))) }))
        .route("/requests", get(requests))
        .route("/stats", get(|s: S| async move { Json(json!(lock(&s.0.state).stats)) }))
        .route("/answers", get(|s: S| async move { Json(json!(lock(&s.0.state).answers)) }))
        .route("/commands", get(|s: S| async move { Json(json!(s.0.commands())) }))
        .route("/confirmed", get(confirmed))
        .route("/fault", post(fault))
        .route(
            "/block",
            post(|s: S, Json(c): Json<ChatArg>| async move {
                lock(&s.0.state).faults.blocked.insert(c.chat);
                ok()
            }),
        )
        .route(
            "/unblock",
            post(|s: S, Json(c): Json<ChatArg>| async move {
                lock(&s.0.state).faults.blocked.remove(&c.chat);
                ok()
            }),
        )
        .route("/limits", post(limits))
        .route("/random_faults", post(random_faults))
        .route(
            "/strict_chats",
            post(|s: S, Json(v): Json<Value>| async move {
                lock(&s.0.state).strict_chats = v["strict"].as_bool().unwrap_or(true);
                ok()
            }),
        )
}

fn ok() -> Json<Value> {
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct ChatArg {
    chat: i64,
}

#[derive(Deserialize)]
struct UserArgs {
    user: i64,
    first_name: Option<String>,
    language_code: Option<String>,
    text: Option<String>,
    reply_to: Option<i64>,
    message_id: Option<i64>,
    data: Option<String>,
}

impl UserArgs {
    fn user(&self) -> TgUser {
        let mut u = TgUser::new(self.user);
        if let Some(name) = &self.first_name {
            u.first_name = name.clone();
        }
        if self.language_code.is_some() {
            u.language_code = self.language_code.clone();
        }
        u
    }
}

async fn send(s: S, Json(a): Json<UserArgs>) -> Json<Value> {
    let text = a.text.clone().unwrap_or_default();
    Json(json!({ "update_id": s.0.user_message(&a.user(), &text, a.reply_to) }))
}

async fn press(s: S, Json(a): Json<UserArgs>) -> Reply {
    let (Some(id), Some(data)) = (a.message_id, a.data.as_deref()) else {
        return Err((StatusCode::BAD_REQUEST, "message_id and data are required".into()));
    };
    Ok(Json(json!({ "update_id": s.0.user_press(&a.user(), id, data) })))
}

async fn raw(s: S, Json(update): Json<Value>) -> Json<Value> {
    Json(json!({ "update_id": s.0.push_update(update) }))
}

async fn requests(s: S) -> Json<Value> {
    let st = lock(&s.0.state);
    let list = st.requests.iter().map(|r| {
        json!({
            "method": r.method, "params": r.params, "status": r.status, "description": r.description,
            "at_ms": r.at.saturating_duration_since(s.0.started).as_millis() as u64,
        })
    });
    Json(Value::Array(list.collect()))
}

async fn confirmed(s: S) -> Json<Value> {
    let st = lock(&s.0.state);
    Json(json!({ "confirmed_update_id": st.confirmed, "pending_updates": st.updates.len() }))
}

/// Parses a fault: `{"retry_after":3}`, `{"server_error":502}`, `{"delay_ms":20000}`,
/// `"forbidden"`, `"chat_not_found"` or `{"bad_request":"text"}`.
pub fn parse_fault(v: &Value) -> Option<Fault> {
    let num = |k: &str| v.get(k).and_then(Value::as_u64);
    match v.as_str() {
        Some("forbidden") => return Some(Fault::Forbidden),
        Some("chat_not_found") => return Some(Fault::ChatNotFound),
        Some("unauthorized") => return Some(Fault::Unauthorized),
        _ => {}
    }
    if v.get("forbidden").is_some() {
        Some(Fault::Forbidden)
    } else if v.get("chat_not_found").is_some() {
        Some(Fault::ChatNotFound)
    } else if let Some(n) = num("retry_after") {
        Some(Fault::RetryAfter(n as u32))
    } else if let Some(n) = num("server_error") {
        Some(Fault::ServerError(n as u16))
    } else if let Some(n) = num("delay_ms") {
        Some(Fault::Delay(Duration::from_millis(n)))
    } else {
        v.get("bad_request").and_then(Value::as_str).map(|t| Fault::BadRequest(t.to_owned()))
    }
}

async fn fault(s: S, Json(v): Json<Value>) -> Reply {
    let method = v["method"].as_str().unwrap_or("*").to_ascii_lowercase();
    let fault = parse_fault(&v["fault"]).ok_or((StatusCode::BAD_REQUEST, "unknown fault".to_owned()))?;
    lock(&s.0.state).faults.queue.push((method, fault));
    Ok(ok())
}

async fn limits(s: S, Json(v): Json<Value>) -> Json<Value> {
    let num = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as u32);
    let limits = match (num("global_per_second"), num("per_chat_per_second")) {
        (Some(g), Some(c)) => Some(Limits { global_per_second: g, per_chat_per_second: c }),
        _ => None,
    };
    lock(&s.0.state).faults.limits = limits;
    ok()
}

async fn random_faults(s: S, Json(v): Json<Value>) -> Json<Value> {
    let mut st = lock(&s.0.state);
    st.faults.set_random(v["rate"].as_f64().unwrap_or(0.0), v["seed"].as_u64().unwrap_or(1));
    if let Some(ms) = v["delay_ms"].as_u64() {
        st.faults.random_delay = Duration::from_millis(ms);
    }
    ok()
}
