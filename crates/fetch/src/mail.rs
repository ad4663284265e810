//! Mail sent as a mailbox through Graph's `sendMail`
//! (`POST {graph}/v1.0/users/{mailbox}/sendMail`, application permission `Mail.Send`), with the
//! client's token, origin and throttle.
//!
//! A `sendMail` is not idempotent: Graph has no request key that would make a second POST of
//! the same mail a no-op. So a request is sent again only when Graph certainly did not take the
//! mail:
//!
//! - the connection could not be made (nothing reached Graph);
//! - 401 (the token is checked before anything else): once, with a new token;
//! - 429, and 503 with `Retry-After`: Graph's throttling answers, which refuse the request
//!   before it is processed; the pause is shared with every other request of the client.
//!
//! Everything else that leaves the outcome open (no answer within the request timeout after the
//! request went out, a connection cut before the answer, any other 5xx) is
//! [`Error::MailUncertain`] at once: a mail that may have gone out is never sent twice. Any 2xx
//! (Graph answers 202 Accepted) means Graph took the mail; delivery is Exchange's from there.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use url::Url;

use crate::client::{Attempt, MAX_PAUSE, graph_message, read_capped};
use crate::{ApiVersion, Error, GraphClient, RequestError, Result};

/// The largest `sendMail` request body sent, in bytes (attachments count base64-encoded, a
/// third larger than they are). Graph documents about 4 MB for a request and answers 413 over
/// it; this is the lower, decimal reading of that figure. A larger mail goes through SMTP.
pub const MAX_SEND_MAIL_BYTES: usize = 4_000_000;

/// The most of an error answer read (Graph's error bodies are a few hundred bytes).
const MAX_ERROR_BYTES: u64 = 64 << 10;

/// A mail: HTML body and file attachments (what Graph `sendMail` and SMTP both send).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mail {
    /// `To` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The body, HTML.
    pub html: String,
    /// Files attached.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a [`Mail`].
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees (`charges.csv`).
    pub name: String,
    /// Its media type (`text/csv`, `text/html`).
    pub content_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// `{"message": {…}, "saveToSentItems": false}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendMail<'a> {
    message: Message<'a>,
    save_to_sent_items: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    subject: &'a str,
    body: Body<'a>,
    to_recipients: Vec<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc_recipients: Vec<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<FileAttachment<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    content_type: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Recipient<'a> {
    email_address: Address<'a>,
}

#[derive(Serialize)]
struct Address<'a> {
    address: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileAttachment<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    name: &'a str,
    content_type: &'a str,
    content_bytes: String,
}

impl Mail {
    /// The body of the `sendMail` request for this mail, refused when it would be over
    /// [`MAX_SEND_MAIL_BYTES`] ([`Error::MailTooLarge`]) or has no recipient.
    pub fn send_mail_body(&self) -> Result<Vec<u8>> {
        if self.to.is_empty() && self.cc.is_empty() {
            return Err(Error::MailInvalid {
                reason: "it has no recipient",
            });
        }
        // What the base64 alone comes to: a mail far over the limit is refused before it is
        // encoded.
        let floor = self.html.len()
            + (self.attachments.iter())
                .map(|a| a.bytes.len().div_ceil(3) * 4)
                .sum::<usize>();
        if floor > MAX_SEND_MAIL_BYTES {
            return Err(Error::MailTooLarge {
                bytes: floor,
                limit: MAX_SEND_MAIL_BYTES,
            });
        }
        let request = SendMail {
            message: Message {
                subject: &self.subject,
                body: Body {
                    content_type: "HTML",
                    content: &self.html,
                },
                to_recipients: recipients(&self.to),
                cc_recipients: recipients(&self.cc),
                attachments: (self.attachments.iter())
                    .map(|a| FileAttachment {
                        odata_type: "#microsoft.graph.fileAttachment",
                        name: &a.name,
                        content_type: &a.content_type,
                        content_bytes: STANDARD.encode(&a.bytes),
                    })
                    .collect(),
            },
            save_to_sent_items: false,
        };
        let body = serde_json::to_vec(&request).expect("strings serialise");
        if body.len() > MAX_SEND_MAIL_BYTES {
            return Err(Error::MailTooLarge {
                bytes: body.len(),
                limit: MAX_SEND_MAIL_BYTES,
            });
        }
        Ok(body)
    }
}

fn recipients(list: &[String]) -> Vec<Recipient<'_>> {
    (list.iter())
        .map(|address| Recipient {
            email_address: Address { address },
        })
        .collect()
}

impl GraphClient {
    /// `{graph}/v1.0/users/{mailbox}/sendMail`, the mailbox percent-encoded as one path segment.
    /// Always v1.0, whatever version the call records are read with.
    pub fn send_mail_url(&self, mailbox: &str) -> Url {
        let mut url = self.config.graph_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        // The Graph URL is http(s) (`GraphClient::new` checked it), so it has a path.
        (url.path_segments_mut().expect("an http(s) URL has a path"))
            .pop_if_empty()
            .extend([ApiVersion::V1.path(), "users", mailbox, "sendMail"]);
        url
    }

    /// Sends `mail` as `mailbox` (a user principal name or user id) through Graph `sendMail`,
    /// without saving it to the mailbox's Sent Items. The mail is checked (recipients, size)
    /// before any request. A request is sent again only when Graph certainly did not take the
    /// mail (no connection, 401 once, 429, 503 with `Retry-After`); an outcome left open (no
    /// answer after the request went out, another 5xx) is [`Error::MailUncertain`] at once, so a
    /// mail is never sent twice.
    pub async fn send_mail(&self, mailbox: &str, mail: &Mail) -> Result<()> {
        if mailbox.trim().is_empty() {
            return Err(Error::MailInvalid {
                reason: "no mailbox to send it as",
            });
        }
        let body = bytes::Bytes::from(mail.send_mail_body()?);
        let url = self.send_mail_url(mailbox);
        let rejected = || Error::MailRefused {
            mailbox: mailbox.to_owned(),
            status: 401,
            message: "Graph rejected a freshly issued token: check that the app registration is \
                      in this tenant and cloud"
                .into(),
        };
        // Only what Graph certainly did not take comes back as `Attempt::Retry`: an outcome left
        // open is `Error::MailUncertain`, which ends the loop.
        let (url, body) = (&url, &body);
        self.with_retries(url, rejected, |token| async move {
            self.post_mail(url, mailbox, &token, body).await
        })
        .await?;
        tracing::debug!(mailbox, bytes = body.len(), "Graph took the mail");
        Ok(())
    }

    /// One `sendMail` POST.
    async fn post_mail(
        &self,
        url: &Url,
        mailbox: &str,
        token: &str,
        body: &bytes::Bytes,
    ) -> Result<Attempt<()>> {
        let uncertain = |source| Error::MailUncertain {
            mailbox: mailbox.to_owned(),
            source,
        };
        let sent = (self.http.post(url.clone()))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // No connection, so no request: Graph saw nothing.
            Err(e) if e.is_connect() => {
                return Ok(Attempt::Retry {
                    after: None,
                    error: RequestError::Transport(e.without_url()),
                });
            }
            Err(e) if e.is_timeout() => {
                return Err(uncertain(RequestError::TimedOut {
                    timeout: self.config.retry.request_timeout,
                    source: e.without_url(),
                }));
            }
            Err(e) => return Err(uncertain(RequestError::Transport(e.without_url()))),
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(Attempt::Done(()));
        }
        let retry_after = (response.headers().get(reqwest::header::RETRY_AFTER))
            .and_then(|v| v.to_str().ok())
            .and_then(crate::parse_retry_after);
        match status {
            401 => return Ok(Attempt::Unauthorized),
            429 => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                let pause = retry_after
                    .map(|d| d.min(MAX_PAUSE))
                    .unwrap_or_else(|| self.config.retry.backoff(0).max(Duration::from_secs(1)));
                self.throttle.pause(pause);
                return Ok(Attempt::Retry {
                    after: Some(Duration::ZERO),
                    error: RequestError::Throttled { retry_after },
                });
            }
            503 if retry_after.is_some() => {
                let pause = retry_after.unwrap_or_default().min(MAX_PAUSE);
                self.throttle.pause(pause);
                return Ok(Attempt::Retry {
                    after: Some(Duration::ZERO),
                    error: RequestError::Status {
                        status,
                        message: None,
                    },
                });
            }
            _ => {}
        }
        let text = match read_capped(response, MAX_ERROR_BYTES).await {
            Ok(Some(body)) => String::from_utf8_lossy(&body).into_owned(),
            _ => String::new(),
        };
        let message = graph_message(&text);
        let mailbox = mailbox.to_owned();
        Err(match status {
            403 => Error::MailForbidden { mailbox, message },
            300..=499 => Error::MailRefused {
                mailbox,
                status,
                message,
            },
            _ => uncertain(RequestError::Status {
                status,
                message: Some(message),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use pstn_lake_graph_sim::{Fault, FaultPlan, RunningSim, SimConfig};

    use super::*;
    use crate::{Credentials, GraphConfig, RetryConfig};

    const MAILBOX: &str = "reports@contoso.example";

    async fn sim(config: SimConfig) -> RunningSim {
        pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    /// A client of `sim` reading call records from beta (mail still goes to v1.0), retrying at
    /// once, with this request timeout.
    fn client(sim: &RunningSim, request_timeout: Duration) -> GraphClient {
        let c = sim.config();
        let retry = RetryConfig {
            max_retries: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            request_timeout,
            ..RetryConfig::default()
        };
        let config = GraphConfig::new(
            sim.graph_url().parse().unwrap(),
            sim.login_url().parse().unwrap(),
        )
        .with_api(ApiVersion::Beta)
        .with_retry(retry);
        GraphClient::new(
            config,
            Credentials::with_secret(&c.tenant_id, &c.client_id, &c.client_secret),
        )
        .unwrap()
    }

    fn mail() -> Mail {
        Mail {
            to: vec![
                "finance@contoso.example".into(),
                "ops@contoso.example".into(),
            ],
            cc: vec!["cfo@contoso.example".into()],
            subject: "Telephony charges, November 2026 — €1,234.56".into(),
            html: "<html><body><h1>Charges</h1><p>Total: €1,234.56</p></body></html>".into(),
            attachments: vec![
                Attachment {
                    name: "charges-by-user.csv".into(),
                    content_type: "text/csv".into(),
                    bytes: b"user,charge\nada@contoso.example,12.340000\n".to_vec(),
                },
                Attachment {
                    name: "bytes.bin".into(),
                    content_type: "application/octet-stream".into(),
                    bytes: (0..=255u8).collect(),
                },
            ],
        }
    }

    #[tokio::test]
    async fn a_mail_arrives_once_as_sent_through_v1() {
        let sim = sim(SimConfig::default()).await;
        let graph = client(&sim, Duration::from_secs(30));
        let mail = mail();
        graph.send_mail(MAILBOX, &mail).await.unwrap();
        let sent = sim.sent_mail();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let got = &sent[0];
        assert_eq!(got.version, "v1.0");
        assert_eq!(got.mailbox, MAILBOX);
        assert_eq!(got.to, mail.to);
        assert_eq!(got.cc, mail.cc);
        assert_eq!(got.subject, mail.subject);
        assert_eq!(got.content_type, "HTML");
        assert_eq!(got.body, mail.html);
        assert!(!got.save_to_sent_items);
        let attachments: Vec<_> = (got.attachments.iter())
            .map(|a| {
                (
                    a.name.as_str(),
                    a.content_type.as_deref(),
                    a.bytes.as_slice(),
                )
            })
            .collect();
        let expected: Vec<_> = (mail.attachments.iter())
            .map(|a| {
                (
                    a.name.as_str(),
                    Some(a.content_type.as_str()),
                    a.bytes.as_slice(),
                )
            })
            .collect();
        assert_eq!(attachments, expected);
        assert_eq!(sim.stats().graph_requests, 1);
    }

    #[tokio::test]
    async fn a_mailbox_is_one_path_segment() {
        let sim = sim(SimConfig::default()).await;
        let url = client(&sim, Duration::from_secs(30)).send_mail_url("a/b?c#d@contoso.example");
        assert_eq!(
            url.as_str(),
            format!(
                "{}/v1.0/users/a%2Fb%3Fc%23d@contoso.example/sendMail",
                sim.graph_url()
            )
        );
    }

    #[tokio::test]
    async fn without_mail_send_the_error_names_the_permission_and_the_policy() {
        let sim = sim(SimConfig::default().with_missing_mail_send()).await;
        let e = (client(&sim, Duration::from_secs(30)).send_mail(MAILBOX, &mail()))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::MailForbidden { mailbox, .. } if mailbox == MAILBOX),
            "{e:?}"
        );
        let text = e.to_string();
        for needle in [
            "Mail.Send",
            "application permission",
            "New-ApplicationAccessPolicy",
            MAILBOX,
        ] {
            assert!(text.contains(needle), "{needle} not in {text}");
        }
        assert!(sim.sent_mail().is_empty());
        assert_eq!(sim.stats().graph_requests, 1, "a 403 is not retried");
    }

    #[tokio::test]
    async fn an_access_policy_lets_the_app_send_as_its_mailboxes_only() {
        let sim = sim(SimConfig::default().with_mail_send_policy([MAILBOX])).await;
        let graph = client(&sim, Duration::from_secs(30));
        graph.send_mail(MAILBOX, &mail()).await.unwrap();
        let e = graph
            .send_mail("ceo@contoso.example", &mail())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::MailForbidden { .. }), "{e:?}");
        let sent = sim.sent_mail();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].mailbox, MAILBOX);
    }

    #[tokio::test]
    async fn a_mail_over_the_limit_is_refused_before_any_request() {
        let sim = sim(SimConfig::default()).await;
        let graph = client(&sim, Duration::from_secs(30));
        for size in [3_000_000, 100_000_000] {
            let mut big = mail();
            big.attachments.push(Attachment {
                name: "big.csv".into(),
                content_type: "text/csv".into(),
                bytes: vec![b'x'; size],
            });
            let e = graph.send_mail(MAILBOX, &big).await.unwrap_err();
            assert!(
                matches!(e, Error::MailTooLarge { bytes, limit: MAX_SEND_MAIL_BYTES } if bytes > MAX_SEND_MAIL_BYTES),
                "{e:?}"
            );
            assert!(e.to_string().contains("SMTP"), "{e}");
        }
        // Just under the limit goes.
        let mut fits = mail();
        let room = MAX_SEND_MAIL_BYTES - fits.send_mail_body().unwrap().len();
        fits.attachments.push(Attachment {
            name: "fits.bin".into(),
            content_type: "application/octet-stream".into(),
            bytes: vec![7; room / 4 * 3 - 200],
        });
        graph.send_mail(MAILBOX, &fits).await.unwrap();
        assert_eq!(
            sim.stats().graph_requests,
            1,
            "only the mail that fits was sent"
        );
        assert_eq!(
            sim.sent_mail()[0].attachments[2].bytes.len(),
            room / 4 * 3 - 200
        );
    }

    #[tokio::test]
    async fn a_mail_without_recipient_or_mailbox_is_refused_before_any_request() {
        let sim = sim(SimConfig::default()).await;
        let graph = client(&sim, Duration::from_secs(30));
        let nobody = Mail {
            to: vec![],
            cc: vec![],
            ..mail()
        };
        let e = graph.send_mail(MAILBOX, &nobody).await.unwrap_err();
        assert!(matches!(e, Error::MailInvalid { .. }), "{e:?}");
        let e = graph.send_mail(" ", &mail()).await.unwrap_err();
        assert!(matches!(e, Error::MailInvalid { .. }), "{e:?}");
        assert_eq!(sim.stats().requests, 0);
    }

    #[tokio::test]
    async fn throttling_and_an_expired_token_are_sent_again_and_the_mail_arrives_once() {
        let faults = FaultPlan::new()
            .at(
                1,
                Fault::Throttle {
                    retry_after_secs: 0,
                },
            )
            .at(2, Fault::ExpireToken);
        let sim = sim(SimConfig::default().with_faults(faults)).await;
        let graph = client(&sim, Duration::from_secs(30));
        graph.send_mail(MAILBOX, &mail()).await.unwrap();
        assert_eq!(sim.sent_mail().len(), 1);
        assert_eq!(sim.stats().graph_requests, 3);
        assert_eq!(graph.stats().throttled.load(Ordering::Relaxed), 1);
        assert_eq!(graph.stats().renewals_after_401.load(Ordering::Relaxed), 1);
    }

    /// A request that went out and got no clear answer is not sent again: the mail may have gone
    /// (here, after the stall, it did), and a second POST would send it twice.
    #[tokio::test]
    async fn an_uncertain_outcome_is_never_sent_again() {
        for (fault, taken) in [
            (Fault::Stall(Duration::from_millis(1000)), 1),
            (Fault::DropConnection, 0),
            (Fault::Status(500), 0),
            (Fault::Status(504), 0),
        ] {
            let sim =
                sim(SimConfig::default().with_faults(FaultPlan::new().at(1, fault.clone()))).await;
            let graph = client(&sim, Duration::from_millis(300));
            let e = graph.send_mail(MAILBOX, &mail()).await.unwrap_err();
            assert!(matches!(e, Error::MailUncertain { .. }), "{fault:?}: {e:?}");
            assert!(
                e.to_string().contains("may or may not have been sent"),
                "{e}"
            );
            if taken == 1 {
                // Let the stalled request finish on the server.
                tokio::time::sleep(Duration::from_millis(1000)).await;
            }
            assert_eq!(sim.stats().graph_requests, 1, "{fault:?}: sent again");
            assert_eq!(sim.sent_mail().len(), taken, "{fault:?}");
            assert_eq!(graph.stats().retries.load(Ordering::Relaxed), 0);
        }
    }
}
