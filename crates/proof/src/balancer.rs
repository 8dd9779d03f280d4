//! A small round-robin load balancer for the webhook crash test, run in-process: the fake
//! Telegram posts each update to it, and it hands the post (body and secret token) to the
//! instances' `webhook_listen` addresses in turn. An instance that refuses the connection, fails
//! the call or answers 502/503 is passed over for the next one (each at most once a request),
//! as nginx's `proxy_next_upstream error timeout http_502 http_503` does.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

/// The header that carries the webhook's secret token.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// How long one instance may take to answer before the next one is tried.
const TRY_TIMEOUT: Duration = Duration::from_secs(3);

/// What the balancer did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BalancerCounts {
    /// Posts it took and passed on.
    pub forwarded: u64,
    /// Posts the first instance tried did not answer (or answered 502/503), so another was tried.
    pub second_tries: u64,
    /// Posts no instance answered: the balancer answered 502 itself.
    pub unanswered: u64,
}

/// A running balancer; it stops when dropped.
pub struct Balancer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

/// What the request handlers share.
struct Shared {
    client: reqwest::Client,
    targets: Vec<SocketAddr>,
    next: AtomicUsize,
    forwarded: AtomicU64,
    second_tries: AtomicU64,
    unanswered: AtomicU64,
}

/// An instance's answer: its status and body.
type Answer = (StatusCode, Bytes);

/// A free port on 127.0.0.1 now (the OS picks it; another process may take it meanwhile).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Balancer {
    /// Listens on a free port of 127.0.0.1 and forwards to `targets` in turn.
    pub fn start(targets: Vec<SocketAddr>) -> anyhow::Result<Self> {
        anyhow::ensure!(!targets.is_empty(), "a balancer needs at least one instance");
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
        let counter = || AtomicU64::new(0);
        let shared = Arc::new(Shared {
            client,
            targets,
            next: AtomicUsize::new(0),
            forwarded: counter(),
            second_tries: counter(),
            unanswered: counter(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let listener = runtime.block_on(async { tokio::net::TcpListener::from_std(listener) })?;
        let app = Router::new().fallback(forward).with_state(shared.clone());
        runtime.spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("nudge-proof: the balancer stopped: {error}");
            }
        });
        Ok(Self { addr, shared, _runtime: runtime })
    }

    /// The URL the fake Telegram posts to (the instances' `webhook_url`).
    pub fn url(&self) -> String {
        format!("http://{}/telegram", self.addr)
    }

    /// What it did so far.
    pub fn counts(&self) -> BalancerCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        BalancerCounts {
            forwarded: load(&self.shared.forwarded),
            second_tries: load(&self.shared.second_tries),
            unanswered: load(&self.shared.unanswered),
        }
    }
}

/// Passes one post on: to the next instance in turn, then to the others while they fail.
async fn forward(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Answer {
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    let count = shared.targets.len();
    let first = shared.next.fetch_add(1, Ordering::Relaxed);
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut passed_over: Option<Answer> = None;
    for tried in 0..count {
        if tried == 1 {
            shared.second_tries.fetch_add(1, Ordering::Relaxed);
        }
        let target = shared.targets[(first + tried) % count];
        match try_one(&shared.client, target, path, &headers, body.clone()).await {
            Some(answer) if !try_next(answer.0) => return answer,
            Some(answer) => {
                passed_over.get_or_insert(answer);
            }
            None => {}
        }
    }
    passed_over.unwrap_or_else(|| {
        shared.unanswered.fetch_add(1, Ordering::Relaxed);
        (StatusCode::BAD_GATEWAY, Bytes::from_static(b"no instance answered\n"))
    })
}

/// Whether an answer sends the post on to the next instance.
fn try_next(status: StatusCode) -> bool {
    matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE)
}

/// Posts to one instance; `None` when it refused, failed or took too long.
async fn try_one(
    client: &reqwest::Client,
    target: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Option<Answer> {
    let mut request = client
        .post(format!("http://{target}{path}"))
        .timeout(TRY_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(secret) = headers.get(SECRET_HEADER) {
        request = request.header(SECRET_HEADER, secret.as_bytes());
    }
    let response = request.send().await.ok()?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = response.bytes().await.ok()?;
    Some((status, body))
}
