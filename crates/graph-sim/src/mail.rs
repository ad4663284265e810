//! `POST /{v1.0|beta}/users/{id | userPrincipalName}/sendMail`: the JSON form of Graph's
//! `sendMail`, checked as Graph checks it, each accepted mail recorded for the test to read
//! ([`RunningSim::sent_mail`](crate::RunningSim::sent_mail)).

use axum::body::Body;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::conn::ConnHandle;
use crate::faults::Fault;
use crate::graph;
use crate::server::{RequestIds, Shared, graph_error};

/// The largest request body taken: Graph's documented 4 MB per request (as MiB, the generous
/// reading); a larger one is answered 413.
pub const MAX_SEND_MAIL_REQUEST_BYTES: usize = 4 << 20;

/// A mail the simulator took through `sendMail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMail {
    /// The API version of the request (`v1.0` or `beta`).
    pub version: String,
    /// The mailbox it was sent as (the `{id | userPrincipalName}` of the URL, decoded).
    pub mailbox: String,
    /// `toRecipients` addresses.
    pub to: Vec<String>,
    /// `ccRecipients` addresses.
    pub cc: Vec<String>,
    /// `bccRecipients` addresses.
    pub bcc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The body's `contentType` as sent (`HTML` or `Text`, any case).
    pub content_type: String,
    /// The body's content.
    pub body: String,
    /// The file attachments, decoded.
    pub attachments: Vec<SentAttachment>,
    /// `saveToSentItems` (Graph's default: true).
    pub save_to_sent_items: bool,
}

/// A file attachment of a [`SentMail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentAttachment {
    /// Its `name`.
    pub name: String,
    /// Its `contentType` (`None` when the request had none).
    pub content_type: Option<String>,
    /// Its `contentBytes`, decoded from base64.
    pub bytes: Vec<u8>,
}

/// Answers one `sendMail` request: faults, authentication, the `Mail.Send` permission (and the
/// application access policy), then the body; 202 with no body once the mail is recorded.
pub(crate) async fn handle(
    shared: &Shared,
    conn: &ConnHandle,
    parts: &Parts,
    body: Body,
    ids: &RequestIds,
) -> Response {
    let (number, _in_flight) = shared.stats.enter_graph();
    let bearer = graph::bearer(parts);
    // A stall answers late but takes the mail first, as Graph does when its answer is slow: a
    // client that gives up waiting cannot know whether the mail went.
    let late = match shared.config.faults.fault_for(number) {
        Some(Fault::Stall(delay)) => {
            shared.stats.update(|s| s.faults_injected += 1);
            Some(*delay)
        }
        _ => {
            if let Err(response) = graph::inject_fault(shared, conn, number, bearer, ids).await {
                return response;
            }
            None
        }
    };
    let response = match take(shared, parts, body, bearer, ids).await {
        Ok(mail) => {
            shared
                .sent_mail
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(mail);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::ACCEPTED;
            response
        }
        Err(response) => response,
    };
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    response
}

/// The mail of an authorised, well-formed request, or Graph's refusal.
async fn take(
    shared: &Shared,
    parts: &Parts,
    body: Body,
    bearer: Option<&str>,
    ids: &RequestIds,
) -> Result<SentMail, Response> {
    if let Some(refused) = graph::refusal(shared, bearer, ids) {
        return Err(refused);
    }
    let segments: Vec<&str> = parts.uri.path().split('/').collect();
    let (version, mailbox) = match segments.as_slice() {
        ["", version, _users, mailbox, _send_mail] => (*version, percent_decoded(mailbox)),
        _ => (parts.uri.path(), None),
    };
    let Some(mailbox) = mailbox.filter(|m| !m.is_empty()) else {
        return Err(bad_request(
            shared,
            "ErrorInvalidUser",
            "The requested user is invalid.",
            ids,
        ));
    };
    let refused_by_policy = (shared.config.mail_send_policy.as_ref())
        .is_some_and(|allowed| !allowed.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)));
    if shared.config.missing_mail_send || refused_by_policy {
        shared.stats.update(|s| s.forbidden += 1);
        let message = if shared.config.missing_mail_send {
            "Access is denied. Check credentials and try again."
        } else {
            "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
        };
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            message,
            ids,
        ));
    }
    let json = (parts.headers.get(CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    let bytes = match axum::body::to_bytes(body, MAX_SEND_MAIL_REQUEST_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            shared.stats.update(|s| s.bad_requests += 1);
            return Err(graph_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestBodyTooLarge",
                "The request body is too large: the limit is 4 MB.",
                ids,
            ));
        }
    };
    let unreadable = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.";
    if !json {
        return Err(bad_request(shared, "BadRequest", unreadable, ids));
    }
    let request: Value = serde_json::from_slice(&bytes)
        .map_err(|_| bad_request(shared, "BadRequest", unreadable, ids))?;
    parse(version, mailbox, &request)
        .map_err(|(code, message)| bad_request(shared, code, &message, ids))
}

/// Graph's reading of a `sendMail` body: `Err((code, message))` where Graph answers 400.
fn parse(
    version: &str,
    mailbox: String,
    request: &Value,
) -> Result<SentMail, (&'static str, String)> {
    let invalid = |message: &str| ("ErrorInvalidParameter", message.to_owned());
    let message = match request.get("message") {
        Some(m @ Value::Object(_)) => m,
        _ => return Err(invalid("The value of the parameter 'Message' is empty.")),
    };
    let save_to_sent_items = match request.get("saveToSentItems") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("Invalid value for 'saveToSentItems': a Boolean.")),
    };
    let text = |key: &str| -> Result<String, (&'static str, String)> {
        match message.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(&format!("Invalid value for '{key}': a string."))),
        }
    };
    let subject = text("subject")?;
    let (content_type, body) = match message.get("body") {
        None | Some(Value::Null) => ("Text".to_owned(), String::new()),
        Some(Value::Object(b)) => {
            let content_type = match b.get("contentType") {
                None => "Text".to_owned(),
                Some(Value::String(t))
                    if t.eq_ignore_ascii_case("html") || t.eq_ignore_ascii_case("text") =>
                {
                    t.clone()
                }
                Some(_) => {
                    return Err(invalid(
                        "Invalid value for 'body.contentType': 'Text' or 'HTML'.",
                    ));
                }
            };
            let content = match b.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(c)) => c.clone(),
                Some(_) => return Err(invalid("Invalid value for 'body.content': a string.")),
            };
            (content_type, content)
        }
        Some(_) => return Err(invalid("Invalid value for 'body': an itemBody.")),
    };
    let to = recipients(message, "toRecipients")?;
    let cc = recipients(message, "ccRecipients")?;
    let bcc = recipients(message, "bccRecipients")?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err((
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains no recipients."
                .to_owned(),
        ));
    }
    let attachments = match message.get("attachments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(attachment).collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("Invalid value for 'attachments': a collection.")),
    };
    Ok(SentMail {
        version: version.to_owned(),
        mailbox,
        to,
        cc,
        bcc,
        subject,
        content_type,
        body,
        attachments,
        save_to_sent_items,
    })
}

/// The addresses of a recipient collection: `[{"emailAddress": {"address": "…"}}]`.
fn recipients(message: &Value, key: &str) -> Result<Vec<String>, (&'static str, String)> {
    let bad = || {
        (
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid.".to_owned(),
        )
    };
    match message.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|r| {
                r.pointer("/emailAddress/address")
                    .and_then(Value::as_str)
                    .filter(|a| {
                        a.split_once('@')
                            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
                    })
                    .map(str::to_owned)
                    .ok_or_else(bad)
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// A `#microsoft.graph.fileAttachment` with its bytes decoded.
fn attachment(value: &Value) -> Result<SentAttachment, (&'static str, String)> {
    let invalid = |message: &str| ("ErrorInvalidParameter", message.to_owned());
    if value.get("@odata.type").and_then(Value::as_str) != Some("#microsoft.graph.fileAttachment") {
        return Err(invalid(
            "An attachment must say its type: '@odata.type': '#microsoft.graph.fileAttachment'.",
        ));
    }
    let name = (value.get("name").and_then(Value::as_str))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("The attachment has no name."))?;
    let content_type = match value.get("contentType") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("Invalid value for 'contentType': a string.")),
    };
    let bytes = (value.get("contentBytes").and_then(Value::as_str))
        .and_then(|b| STANDARD.decode(b).ok())
        .ok_or_else(|| invalid("The attachment's 'contentBytes' is not valid base64."))?;
    Ok(SentAttachment {
        name: name.to_owned(),
        content_type,
        bytes,
    })
}

/// A path segment with its `%XX` escapes decoded, if it is UTF-8.
fn percent_decoded(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn bad_request(shared: &Shared, code: &str, message: &str, ids: &RequestIds) -> Response {
    shared.stats.update(|s| s.bad_requests += 1);
    graph_error(StatusCode::BAD_REQUEST, code, message, ids)
}

/// Whether a request is a `sendMail` (its action name, like Graph's, in any case).
pub(crate) fn is_send_mail(segments: &[&str]) -> bool {
    matches!(segments, ["", "v1.0" | "beta", users, _, action]
        if users.eq_ignore_ascii_case("users") && action.eq_ignore_ascii_case("sendMail"))
}
