//! Graph requests: faults, authentication, permission, throttling, the URL, the function's (or
//! the directory's) permission, then pages of call records or of the user directory.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt as _;

use crate::auth::TokenState;
use crate::conn::ConnHandle;
use crate::faults::Fault;
use crate::odata::{self, Refusal};
use crate::page::{self, PageRequest};
use crate::server::{RequestIds, Shared, graph_error, json_response};
use crate::users::{self, UsersQuery};

/// The content type Graph sends with collection pages.
const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
/// Graph's challenge on 401.
const CHALLENGE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Answers one Graph request.
pub(crate) async fn handle(
    shared: &Shared,
    conn: &ConnHandle,
    parts: &Parts,
    ids: &RequestIds,
) -> Response {
    let (number, _in_flight) = shared.stats.enter_graph();
    let bearer = bearer(parts);
    let truncate = match inject_fault(shared, conn, number, bearer, ids).await {
        Ok(truncate) => truncate,
        Err(response) => return response,
    };

    let (response, rows) = match serve(shared, bearer, parts, ids).await {
        Ok((response, rows)) => (response, Some(rows)),
        Err(response) => (response, None),
    };
    if truncate {
        return truncated(response).await;
    }
    if let Some(rows) = rows {
        // Only pages sent in full count as served.
        shared.stats.update(|s| {
            s.pages_served += 1;
            s.rows_served += rows as u64;
        });
    }
    response
}

/// The bearer token of a request, if it carries one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The fault the plan injects into Graph request `number`: `Err` with the response that
/// replaces the answer, or `Ok(truncate)` to answer as usual (after a stall or a hold), cut in
/// half when `truncate`.
pub(crate) async fn inject_fault(
    shared: &Shared,
    conn: &ConnHandle,
    number: u64,
    bearer: Option<&str>,
    ids: &RequestIds,
) -> Result<bool, Response> {
    let mut truncate = false;
    if let Some(fault) = shared.config.faults.fault_for(number) {
        shared.stats.update(|s| s.faults_injected += 1);
        match fault {
            Fault::Status(code) => {
                let status =
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let (code, message) = match status.as_u16() {
                    502 => ("BadGateway", "The gateway received an invalid response."),
                    503 => (
                        "ServiceNotAvailable",
                        "The service is temporarily unavailable. Try again later.",
                    ),
                    504 => ("GatewayTimeout", "The gateway timed out."),
                    429 => ("TooManyRequests", "Too many requests."),
                    // What Graph says for a range over 90 days (or an Accept it cannot produce).
                    406 => (
                        "NotAcceptable",
                        "The requested range or format is not supported.",
                    ),
                    _ => ("UnknownError", "An internal server error occurred."),
                };
                if status == StatusCode::TOO_MANY_REQUESTS {
                    shared.stats.update(|s| s.throttled += 1);
                }
                return Err(graph_error(status, code, message, ids));
            }
            Fault::Throttle { retry_after_secs } => {
                return Err(throttled(shared, *retry_after_secs, ids));
            }
            Fault::DropConnection => {
                // The connection fails on hyper's first write: the client gets no byte back.
                conn.kill();
                return Err(graph_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UnknownError",
                    "dropped",
                    ids,
                ));
            }
            Fault::TruncatedBody => truncate = true,
            Fault::EndlessBody => return Err(endless_body()),
            Fault::Stall(delay) => tokio::time::sleep(*delay).await,
            Fault::Hold => {
                let mut released = shared.released.subscribe();
                if !*released.borrow_and_update() {
                    shared.stats.update(|s| s.held += 1);
                    // The sender lives in `shared`, so this ends only with a release.
                    let _ = released.wait_for(|released| *released).await;
                }
            }
            Fault::ExpireToken => {
                if let Some(token) = bearer {
                    shared.tokens.expire(token);
                }
                return Err(unauthorized(
                    shared,
                    "Lifetime validation failed, the token is expired.",
                    ids,
                ));
            }
        }
    }
    Ok(truncate)
}

/// The checks every Graph request passes first: a valid token, the permission not refused
/// tenant-wide, the rate limit. `Some` refusal when one fails.
pub(crate) fn refusal(shared: &Shared, bearer: Option<&str>, ids: &RequestIds) -> Option<Response> {
    match bearer.map(|token| shared.tokens.check(token)) {
        None => return Some(unauthorized(shared, "Access token is empty.", ids)),
        Some(TokenState::Expired) => {
            return Some(unauthorized(
                shared,
                "Lifetime validation failed, the token is expired.",
                ids,
            ));
        }
        Some(TokenState::Unknown) => {
            return Some(unauthorized(
                shared,
                "Invalid access token: signature validation failed.",
                ids,
            ));
        }
        Some(TokenState::Valid) => {}
    }
    if shared.config.forbidden {
        return Some(forbidden(shared, ids));
    }
    if let Err(wait) = admit(shared) {
        return Some(throttled(shared, wait, ids));
    }
    None
}

/// Everything after fault injection: a page and its row count, or a refusal.
async fn serve(
    shared: &Shared,
    bearer: Option<&str>,
    parts: &Parts,
    ids: &RequestIds,
) -> Result<(Response, usize), Response> {
    if let Some(refused) = refusal(shared, bearer, ids) {
        return Err(refused);
    }
    let prefer = parts
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let key = users::token_key(shared.tenant.seed());
    if let Some(query) = users::parse(parts.uri.path(), parts.uri.query(), Some(&prefer), key) {
        return serve_users(shared, query, key, ids).await;
    }
    let query = odata::parse(parts.uri.path(), parts.uri.query())
        .map_err(|refusal| refused(shared, refusal, ids))?;
    if shared.config.unavailable.contains(&query.function) {
        let segment = query.function.graph_name().to_owned();
        return Err(refused(shared, Refusal::UnknownSegment(segment), ids));
    }
    if shared.config.missing_permissions.contains(&query.function) {
        return Err(forbidden(shared, ids));
    }
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }

    let selection = shared.tenant.select(query.function, query.from, query.to);
    let page = page::render(
        &shared.tenant,
        &selection,
        &PageRequest {
            function: query.function,
            version: query.version,
            context_base: &shared.base_url,
            next_base: next_base(shared),
            from_literal: &query.from_literal,
            to_literal: &query.to_literal,
            skip: query.skip,
            page_size: shared.config.page_size,
            repeat_next_link: shared.config.repeat_next_link,
        },
    );
    let bad: Vec<_> = (shared.config.bad_values.iter())
        .filter(|b| b.function == query.function)
        .collect();
    let body = if bad.is_empty() {
        page.body
    } else {
        with_bad_values(page.body, &bad)
    };
    Ok((json_response(StatusCode::OK, body, ODATA_JSON), page.rows))
}

/// The base of next and delta links: the configured override (a test's hostile host), else the
/// simulator's own URL.
fn next_base(shared: &Shared) -> &str {
    shared
        .config
        .next_link_host_override
        .as_deref()
        .unwrap_or(&shared.base_url)
}

/// A page of `/users` or `/users/delta` (`User.Read.All` checked first), or a refusal.
async fn serve_users(
    shared: &Shared,
    query: Result<UsersQuery, Refusal>,
    key: u64,
    ids: &RequestIds,
) -> Result<(Response, usize), Response> {
    if shared.config.missing_user_read_all {
        return Err(forbidden(shared, ids));
    }
    let query = query.map_err(|refusal| refused(shared, refusal, ids))?;
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let env = users::Env {
        context_base: &shared.base_url,
        next_base: next_base(shared),
        directory_day: shared.directory_day.load(Ordering::SeqCst),
        max_age_days: shared.config.delta_token_max_age_days,
        repeat_next_link: shared.config.repeat_next_link,
        key,
    };
    let page = users::render(&shared.tenant, &query, &env)
        .map_err(|refusal| refused(shared, refusal, ids))?;
    Ok((
        json_response(StatusCode::OK, page.body, ODATA_JSON),
        page.rows,
    ))
}

/// The response to a refused URL: 400, or 410 for a lost sync state.
fn refused(shared: &Shared, refusal: Refusal, ids: &RequestIds) -> Response {
    match refusal {
        Refusal::UnknownSegment(segment) => bad_request(
            shared,
            &format!("Resource not found for the segment '{segment}'."),
            ids,
        ),
        Refusal::BadArgument(message) => bad_request(shared, &message, ids),
        Refusal::SyncStateNotFound => {
            shared.stats.update(|s| s.sync_resets += 1);
            graph_error(
                StatusCode::GONE,
                "SyncStateNotFound",
                "The sync state generation is not found. Please restart the sync.",
                ids,
            )
        }
    }
}

/// The page `body` with the configured bad values in place (a placeholder string is set through
/// `serde_json`, then replaced by the raw text, which need not be JSON a parser accepts).
fn with_bad_values(body: Vec<u8>, bad: &[&crate::BadValue]) -> Vec<u8> {
    let mut page: serde_json::Value = serde_json::from_slice(&body).expect("the page rendered");
    let rows = page["value"].as_array_mut().expect("a page has rows");
    let placeholder = |i: usize| format!("\u{1}pstn-lake-sim-bad-value-{i}\u{1}");
    for (i, b) in bad.iter().enumerate() {
        let Some(row) = rows.get_mut(b.row).and_then(|r| r.as_object_mut()) else {
            continue;
        };
        match &b.json {
            Some(_) => row.insert(b.property.clone(), placeholder(i).into()),
            None => row.remove(&b.property),
        };
    }
    let mut text = page.to_string();
    for (i, b) in bad.iter().enumerate() {
        if let Some(json) = &b.json {
            let quoted = serde_json::Value::from(placeholder(i)).to_string();
            text = text.replace(&quoted, json);
        }
    }
    text.into_bytes()
}

/// A 200 whose JSON body never ends (spaces, without a `Content-Length`).
pub(crate) fn endless_body() -> Response {
    let spaces = bytes::Bytes::from_static(&[b' '; 64 * 1024]);
    let body =
        futures::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(spaces.clone()));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Admits a request into the sliding one-minute window, or says how many seconds until it would be.
fn admit(shared: &Shared) -> Result<(), u64> {
    let Some(limit) = shared.config.rate_limit_per_minute else {
        return Ok(());
    };
    const WINDOW: Duration = Duration::from_secs(60);
    let now = Instant::now();
    let mut admitted = shared
        .admitted
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        admitted.pop_front();
    }
    if (admitted.len() as u64) < u64::from(limit) {
        admitted.push_back(now);
        return Ok(());
    }
    let oldest = admitted.front().copied().unwrap_or(now);
    let wait = WINDOW.saturating_sub(now.duration_since(oldest));
    Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
}

fn throttled(shared: &Shared, retry_after_secs: u64, ids: &RequestIds) -> Response {
    shared.stats.update(|s| s.throttled += 1);
    let mut response = graph_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Too many requests. Retry after the period in the Retry-After header.",
        ids,
    );
    let value = if shared.config.retry_after_http_date {
        let at = chrono::Utc::now() + chrono::Duration::seconds(retry_after_secs as i64);
        at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    } else {
        retry_after_secs.to_string()
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn unauthorized(shared: &Shared, message: &str, ids: &RequestIds) -> Response {
    shared.stats.update(|s| s.unauthorized += 1);
    let mut response = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        ids,
    );
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

/// 403: the application lacks the permission (for the tenant, or for the function).
fn forbidden(shared: &Shared, ids: &RequestIds) -> Response {
    shared.stats.update(|s| s.forbidden += 1);
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        ids,
    )
}

fn bad_request(shared: &Shared, message: &str, ids: &RequestIds) -> Response {
    shared.stats.update(|s| s.bad_requests += 1);
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message, ids)
}

/// The same response with its full `Content-Length` but only the first half of its body, after
/// which the connection is closed.
async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half: Bytes = full.slice(..full.len() / 2);
    let rest = futures::stream::once(async {
        // Let the first half reach the client before the connection is cut.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::other(
            "body truncated by the Graph simulator's fault plan",
        ))
    });
    let stream = futures::stream::iter([Ok::<_, io::Error>(half)]).chain(rest);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(full.len()));
    Response::from_parts(parts, Body::from_stream(stream))
}
