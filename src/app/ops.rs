//! Operations endpoints, off unless `[http] listen` is set: `GET /healthz` (is the daemon up,
//! is the store readable, is it the active instance or a standby) and `GET /metrics`
//! (Prometheus text format).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::service::Service;
use crate::telemetry::metrics::Metrics;

/// What the handlers read.
#[derive(Clone)]
struct Ops {
    service: Arc<Service>,
    metrics: Arc<Metrics>,
}

/// Serves the endpoints on `listen` until `cancel` fires.
pub(crate) async fn serve(listen: SocketAddr, service: Arc<Service>, metrics: Arc<Metrics>, cancel: CancellationToken) {
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "the operations endpoints listen beyond this machine; keep them on a private network");
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%listen, error = %error, "cannot listen for /healthz and /metrics");
            return;
        }
    };
    tracing::info!(%listen, "serving /healthz and /metrics");
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(Ops { service, metrics });
    let shutdown = async move { cancel.cancelled().await };
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %error, "the operations endpoints stopped");
    }
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    let store = ops.service.store();
    match store.update_offset() {
        Ok(_) => {
            let role = if ops.metrics.active.get() == 1 { "active" } else { "standby" };
            let (learners, pending) = (store.n_learners(), store.n_pending());
            (StatusCode::OK, format!("ok\nlearners {learners}\npending {pending}\nrole {role}\n"))
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("the store cannot be read: {error}\n")),
    }
}

async fn metrics_text(State(ops): State<Ops>) -> impl IntoResponse {
    let store = ops.service.store();
    let text = ops.metrics.prometheus(store.n_learners(), store.n_pending(), store.n_agenda());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
