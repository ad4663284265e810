//! The HTTP server: lifecycle, request dispatch and the token endpoint's responses.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{self, Tokens};
use crate::config::SimConfig;
use crate::conn::{ConnHandle, SimListener};
use crate::faults::Fault;
use crate::graph;
use crate::json;
use crate::rng::hash;
use crate::stats::{Recorder, SimStats};
use crate::tenant::{Tenant, date_of, day_number};

/// State shared by all requests.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SimConfig,
    pub tenant: Tenant,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub stats: Recorder,
    pub tokens: Tokens,
    /// Admission times of Graph requests in the rate-limit window.
    pub admitted: Mutex<VecDeque<Instant>>,
    /// Set once requests a [`Fault::Hold`] holds may go on.
    pub released: tokio::sync::watch::Sender<bool>,
    /// The day (day number) whose directory `/users` serves.
    pub directory_day: AtomicI64,
    /// The mail `sendMail` took, in order.
    pub sent_mail: Mutex<Vec<crate::SentMail>>,
    request_ids: AtomicU64,
    nonce: u64,
}

/// The ids a response carries, as Graph's `request-id` and `client-request-id` headers.
#[derive(Clone, Debug)]
pub(crate) struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

/// Starts the simulator on `addr` (pass `127.0.0.1:0` for a free port).
pub async fn start(config: SimConfig, addr: SocketAddr) -> Result<RunningSim, io::Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let tokens = Tokens::new();
    let shared = Arc::new(Shared {
        tenant: Tenant::new(config.tenant.clone()),
        directory_day: AtomicI64::new(day_number(config.tenant.last_day())),
        config,
        base_url: format!("http://{addr}"),
        stats: Recorder::default(),
        nonce: hash(&[tokens.nonce(), 0x0052_4551_5545_5354]),
        tokens,
        admitted: Mutex::new(VecDeque::new()),
        released: tokio::sync::watch::Sender::new(false),
        request_ids: AtomicU64::new(0),
        sent_mail: Mutex::new(Vec::new()),
    });
    let killed = Arc::new(AtomicBool::new(false));
    let app = Router::new().fallback(dispatch).with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = axum::serve(
        SimListener::new(listener, killed.clone()),
        app.into_make_service_with_connect_info::<ConnHandle>(),
    )
    .with_graceful_shutdown(async move {
        // Fires on `shutdown` and when the handle is dropped.
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move {
        // The server future only ends after the signal; there is nobody to tell about an error.
        let _ = server.await;
    });
    Ok(RunningSim {
        addr,
        shared,
        killed,
        stop: Some(stop),
        task: Some(task),
    })
}

/// A running simulator. Dropping it stops the server and cuts its connections.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    killed: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Graph base URL, `http://127.0.0.1:PORT` (no trailing slash, no version).
    pub fn graph_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The login (authority) base URL: the same server; tokens are at
    /// `{login_url}/{tenant_id}/oauth2/v2.0/token`.
    pub fn login_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The full token URL.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.shared.base_url, self.shared.config.tenant_id
        )
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The tenant whose rows are served.
    pub fn tenant(&self) -> &Tenant {
        &self.shared.tenant
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// Sets the day whose directory ([`Tenant::directory`]) `/users` and `/users/delta` serve
    /// from now on (it starts as the tenant's last day): a test can sync the directory, move the
    /// day on, and sync again. Delta links issued before then serve the changes in between.
    pub fn set_directory_day(&self, day: NaiveDate) {
        self.shared
            .directory_day
            .store(day_number(day), Ordering::SeqCst);
    }

    /// The day whose directory `/users` serves.
    pub fn directory_day(&self) -> NaiveDate {
        date_of(self.shared.directory_day.load(Ordering::SeqCst))
    }

    /// The mail `sendMail` took so far, in the order it was taken.
    pub fn sent_mail(&self) -> Vec<crate::SentMail> {
        self.shared
            .sent_mail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Lets every request a [`Fault::Hold`] holds go on, and every later one pass without a
    /// hold.
    pub fn release_held(&self) {
        self.shared.released.send_replace(true);
    }

    /// Stops accepting connections, lets requests in progress finish (for up to 5 seconds; held
    /// requests are released), then cuts what is left.
    pub async fn shutdown(mut self) {
        self.release_held();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.release_held();
        self.killed.store(true, Ordering::SeqCst);
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Routes a request: the token endpoint, Graph, or 404.
async fn dispatch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    request: Request,
) -> Response {
    let ids = shared.request_ids(request.headers());
    let has_authorization = request.headers().contains_key(AUTHORIZATION);
    shared.stats.update(|s| {
        s.requests += 1;
        s.requests_with_authorization += u64::from(has_authorization);
    });
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = parts.uri.path().to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let mut response = match (&parts.method, segments.as_slice()) {
        (&Method::POST, ["", tenant, "oauth2", "v2.0", "token"]) => {
            let form = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let scope = url::form_urlencoded::parse(&form)
                .find(|(k, _)| k == "scope")
                .map(|(_, v)| v.into_owned());
            shared.stats.update(|s| {
                s.token_hosts.insert(host);
                s.token_scopes.extend(scope);
            });
            token(&shared, tenant, &form, &ids)
        }
        (&Method::POST, segments) if crate::mail::is_send_mail(segments) => {
            shared.stats.update(|s| {
                s.graph_hosts.insert(host);
            });
            crate::mail::handle(&shared, &conn, &parts, body, &ids).await
        }
        (method, ["", "v1.0" | "beta", ..]) if method == Method::GET => {
            shared.stats.update(|s| {
                s.graph_hosts.insert(host);
            });
            graph::handle(&shared, &conn, &parts, &ids).await
        }
        (_, ["", "v1.0" | "beta", ..]) => graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            &format!(
                "The HTTP method '{}' is not allowed on this resource.",
                parts.method
            ),
            &ids,
        ),
        _ => graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No resource at '{path}'."),
            &ids,
        ),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", &ids.request_id),
        ("client-request-id", &ids.client_request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `POST /{tenant}/oauth2/v2.0/token`.
fn token(shared: &Shared, tenant: &str, form: &[u8], ids: &RequestIds) -> Response {
    let mut number = 0;
    shared.stats.update(|s| {
        s.token_requests += 1;
        number = s.token_requests;
    });
    match shared.config.token_faults.fault_for(number) {
        Some(Fault::Status(code)) => {
            shared.stats.update(|s| s.faults_injected += 1);
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "AADSTS90033: A transient error has occurred. Please try again.",
            });
            return json_response(
                status,
                body.to_string().into_bytes(),
                "application/json; charset=utf-8",
            );
        }
        Some(Fault::Throttle { retry_after_secs }) => {
            shared.stats.update(|s| s.faults_injected += 1);
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                br#"{"error":"temporarily_unavailable","error_description":"Too many requests."}"#
                    .to_vec(),
                "application/json; charset=utf-8",
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            return response;
        }
        Some(Fault::EndlessBody) => {
            shared.stats.update(|s| s.faults_injected += 1);
            return crate::graph::endless_body();
        }
        _ => {}
    }
    match auth::token_request(&shared.config, &shared.tokens, tenant, form) {
        Ok(issued) => {
            shared.stats.update(|s| s.tokens_issued += 1);
            let body = serde_json::json!({
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "ext_expires_in": issued.expires_in,
                "access_token": issued.access_token,
            });
            json_response(
                StatusCode::OK,
                body.to_string().into_bytes(),
                "application/json; charset=utf-8",
            )
        }
        Err(e) => {
            shared.stats.update(|s| match e.status {
                401 => s.unauthorized += 1,
                _ => s.bad_requests += 1,
            });
            let timestamp = now_text();
            let body = serde_json::json!({
                "error": e.error,
                "error_description": format!(
                    "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {timestamp}",
                    e.code, e.description, ids.request_id, ids.client_request_id
                ),
                "error_codes": [e.code],
                "timestamp": timestamp,
                "trace_id": ids.request_id,
                "correlation_id": ids.client_request_id,
            });
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(
                status,
                body.to_string().into_bytes(),
                "application/json; charset=utf-8",
            )
        }
    }
}

impl Shared {
    /// A fresh `request-id`, and the client's `client-request-id` (or the same id when absent).
    fn request_ids(&self, headers: &HeaderMap) -> RequestIds {
        let n = self.request_ids.fetch_add(1, Ordering::Relaxed);
        let request_id = json::guid_string(hash(&[self.nonce, n]), hash(&[self.nonce, n, 1]));
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| request_id.clone(), str::to_owned);
        RequestIds {
            request_id,
            client_request_id,
        }
    }
}

/// A response with a byte body.
pub(crate) fn json_response(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Graph's error shape: `{"error":{"code":…,"message":…,"innerError":{…}}}`.
pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
) -> Response {
    let body = serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now_text(),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    json_response(status, body.to_string().into_bytes(), "application/json")
}

/// The current UTC time as `2026-11-01T12:00:00Z`.
fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
