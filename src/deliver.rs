//! Delivery of a run's reports: mail through Microsoft Graph `sendMail` as a mailbox, mail
//! through an SMTP relay (STARTTLS required), and an Adaptive Card posted to a Teams channel or
//! chat through a Workflows webhook. `docs/delivery.md` says how to set each one up.
//!
//! Secrets (the SMTP password, the webhook URL) are never printed: [`Smtp`]'s and
//! [`WebhookUrl`]'s `Debug` and every error leave them out.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use lettre::message::header::ContentType;
use lettre::message::{MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use pstn_lake_fetch::{Attachment, GraphClient, Mail};
use serde_json::{Value, json};
use url::Url;

/// The port of mail submission with STARTTLS, the default of [`Smtp::port`].
pub const SMTP_PORT: u16 = 587;

/// How long an SMTP conversation or a webhook request may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The largest card posted: Teams refuses a message over about 28 KB, and a Workflows webhook
/// answers 202 before the flow posts it, so a card too large would be lost without a word.
pub const MAX_CARD_BYTES: usize = 28_000;

/// Where a run's reports go.
#[derive(Clone, Debug)]
pub enum Target {
    /// Mail sent as `mailbox` through Graph `sendMail` (application permission `Mail.Send`),
    /// with the app's own Graph credentials.
    GraphMail {
        /// The mailbox to send as (user principal name or user id).
        mailbox: String,
        /// `To` addresses.
        to: Vec<String>,
        /// `Cc` addresses.
        cc: Vec<String>,
    },
    /// Mail through an SMTP relay.
    Smtp(Smtp),
    /// An Adaptive Card posted to a Workflows (or incoming) webhook.
    Webhook {
        /// The webhook's URL (a secret).
        url: WebhookUrl,
    },
}

/// An SMTP relay: STARTTLS is required (a relay that does not offer it is refused before
/// anything is sent), and AUTH happens only over TLS.
#[derive(Clone)]
pub struct Smtp {
    /// The relay's host name (what its certificate names).
    pub host: String,
    /// Its submission port ([`SMTP_PORT`] by default).
    pub port: u16,
    /// The `From` address.
    pub from: String,
    /// `To` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// The user to log in as (with `password`), if the relay needs a login.
    pub username: Option<String>,
    /// The password (a secret).
    pub password: Option<String>,
    /// A PEM file of certificate authorities trusted besides the system's (an internal relay's).
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("cc", &self.cc)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A webhook URL: `https://` (or `http://` to this machine's loopback, for tests). It is a
/// secret: whoever has it can post to the channel; `Debug` and `Display` show its scheme and
/// host only.
#[derive(Clone)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// The URL, refused unless it is `https://` or `http://` to a loopback address.
    pub fn new(url: Url) -> anyhow::Result<Self> {
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let redacted = WebhookUrl(url);
        match redacted.0.scheme() {
            "https" => Ok(redacted),
            "http" if loopback => Ok(redacted),
            _ => bail!(
                "the webhook URL {redacted} is not https://: it is a secret and goes only over TLS"
            ),
        }
    }

    /// Parses and checks a URL ([`WebhookUrl::new`]); the error does not repeat it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match Url::parse(text.trim()) {
            Ok(url) => Self::new(url),
            Err(e) => bail!("the webhook URL is not a URL ({e})"),
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}/…",
            self.0.scheme(),
            self.0.host_str().unwrap_or("")
        )?;
        Ok(())
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

/// What is delivered: mail targets send the subject, HTML and attachments; a webhook posts the
/// card.
#[derive(Clone, Debug)]
pub struct Message {
    /// The mail's subject.
    pub subject: String,
    /// The mail's body (the HTML report, or a page that introduces the attachments).
    pub html: String,
    /// Files attached to the mail (the CSVs, the HTML report).
    pub attachments: Vec<Attachment>,
    /// The card a webhook posts.
    pub card: Card,
}

/// An Adaptive Card: a title, a line of text, headline numbers and a link.
#[derive(Clone, Debug, Default)]
pub struct Card {
    /// The title (large, bold).
    pub title: String,
    /// A paragraph under it.
    pub text: String,
    /// Headline numbers, as (label, value), shown as a fact set.
    pub facts: Vec<(String, String)>,
    /// Where the report is (a URL), shown as an "Open the report" button.
    pub link: Option<String>,
}

impl Card {
    /// The Workflows webhook payload: a `message` with the card as its one attachment.
    pub fn payload(&self) -> Value {
        let mut body = vec![
            json!({"type": "TextBlock", "text": self.title, "size": "Large", "weight": "Bolder", "wrap": true}),
            json!({"type": "TextBlock", "text": self.text, "wrap": true}),
        ];
        if !self.facts.is_empty() {
            let facts: Vec<Value> = (self.facts.iter())
                .map(|(title, value)| json!({"title": title, "value": value}))
                .collect();
            body.push(json!({"type": "FactSet", "facts": facts}));
        }
        let mut content = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "msteams": {"width": "Full"},
        });
        if let Some(link) = &self.link {
            content["actions"] =
                json!([{"type": "Action.OpenUrl", "title": "Open the report", "url": link}]);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": content,
            }],
        })
    }
}

/// Sends messages to targets.
#[derive(Debug)]
pub struct Deliverer {
    /// The Graph client `GraphMail` targets send with.
    graph: Option<GraphClient>,
    /// The HTTP client of webhooks.
    http: reqwest::Client,
}

impl Deliverer {
    /// A deliverer; `graph` is needed when a target is [`Target::GraphMail`].
    pub fn new(graph: Option<GraphClient>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(20))
            // The webhook answers; a redirect elsewhere is not followed with the card.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pstn-lake/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTP client")?;
        Ok(Deliverer { graph, http })
    }

    /// Delivers `message` to `target`. Nothing is retried after the message may have gone out
    /// (a second attempt could deliver it twice); Graph mail is sent again only where Graph
    /// certainly refused it (throttling).
    pub async fn send(&self, target: &Target, message: &Message) -> anyhow::Result<()> {
        match target {
            Target::GraphMail { mailbox, to, cc } => {
                let Some(graph) = &self.graph else {
                    bail!("mail through Graph as {mailbox} needs the app's Graph credentials");
                };
                let mail = Mail {
                    to: to.clone(),
                    cc: cc.clone(),
                    subject: message.subject.clone(),
                    html: message.html.clone(),
                    attachments: message.attachments.clone(),
                };
                (graph.send_mail(mailbox, &mail).await).with_context(|| {
                    format!("sending the mail as {mailbox} through Microsoft Graph")
                })
            }
            Target::Smtp(smtp) => send_smtp(smtp, message).await.with_context(|| {
                format!(
                    "sending the mail through the SMTP relay {}:{} (STARTTLS required)",
                    smtp.host, smtp.port
                )
            }),
            Target::Webhook { url } => (self.post_card(url, &message.card).await)
                .with_context(|| format!("posting the card to the webhook {url}")),
        }
    }

    async fn post_card(&self, url: &WebhookUrl, card: &Card) -> anyhow::Result<()> {
        let body = serde_json::to_vec(&card.payload()).context("writing the card")?;
        if body.len() > MAX_CARD_BYTES {
            bail!(
                "the card is {} bytes, over the {MAX_CARD_BYTES} bytes Teams takes: fewer or \
                 shorter facts",
                body.len()
            );
        }
        let sent = (self.http.post(url.0.clone()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            // reqwest's errors name the URL: never this one.
            Err(e) if e.is_connect() => {
                return Err(anyhow::Error::new(e.without_url())
                    .context("cannot connect to the webhook (nothing was posted)"));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e.without_url())
                    .context("no answer (not sent again: the card may have been posted)"));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The start of the answer is enough to say what went wrong.
        let mut start = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            start.extend_from_slice(&chunk);
            if start.len() >= 4096 {
                break;
            }
        }
        // An error body might echo the URL: its path, query and query values never appear.
        let mut said = String::from_utf8_lossy(&start).into_owned();
        let mut secrets = vec![url.0.as_str().to_owned(), url.0.path().to_owned()];
        secrets.extend(url.0.query().map(str::to_owned));
        secrets.extend(url.0.query_pairs().map(|(_, value)| value.into_owned()));
        for secret in secrets.iter().filter(|s| s.len() > 3) {
            said = said.replace(secret.as_str(), "…");
        }
        let said: String = said.trim().chars().take(300).collect();
        bail!(
            "the webhook answered {status}{}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )
    }
}

/// Sends `message` as a mail through `smtp`.
async fn send_smtp(smtp: &Smtp, message: &Message) -> anyhow::Result<()> {
    let mail = smtp_mail(smtp, message)?;
    let mut tls = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the SMTP ca_file {}", path.display()))?;
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            bail!(
                "the SMTP ca_file {} holds no PEM certificate",
                path.display()
            );
        }
        let roots = Certificate::from_pem(&pem)
            .with_context(|| format!("reading the SMTP ca_file {}", path.display()))?;
        tls = tls.add_root_certificate(roots);
    }
    let tls = tls.build().context("setting up TLS")?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        // STARTTLS before anything else, never a plain-text fallback; AUTH comes after it.
        .tls(Tls::Required(tls))
        .timeout(Some(TIMEOUT));
    match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        (None, None) => {}
        _ => bail!("an SMTP login needs both a user name and a password"),
    }
    let response = (transport.build().send(mail).await)
        // lettre's message already says its causes, each again as a source: one line of it.
        .map_err(|e| anyhow::Error::msg(e.to_string()))
        .context("the relay did not take the mail (not sent again)")?;
    tracing::debug!(host = %smtp.host, code = %response.code(), "the SMTP relay took the mail");
    Ok(())
}

/// The MIME message: the HTML body, then each attachment.
fn smtp_mail(smtp: &Smtp, message: &Message) -> anyhow::Result<lettre::Message> {
    if smtp.to.is_empty() && smtp.cc.is_empty() {
        bail!("the mail has no recipient");
    }
    let address = |text: &str| {
        (text.parse::<lettre::message::Mailbox>())
            .with_context(|| format!("`{text}` is not a mail address"))
    };
    let mut builder = lettre::Message::builder()
        .from(address(&smtp.from)?)
        .subject(&message.subject);
    for to in &smtp.to {
        builder = builder.to(address(to)?);
    }
    for cc in &smtp.cc {
        builder = builder.cc(address(cc)?);
    }
    let mut body = MultiPart::mixed().singlepart(SinglePart::html(message.html.clone()));
    for a in &message.attachments {
        let content_type = ContentType::parse(&a.content_type)
            .with_context(|| format!("`{}` of {} is not a media type", a.content_type, a.name))?;
        body = body.singlepart(
            lettre::message::Attachment::new(a.name.clone()).body(a.bytes.clone(), content_type),
        );
    }
    builder.multipart(body).context("writing the mail")
}

#[cfg(test)]
#[path = "../tests/stand-ins/smtp.rs"]
mod smtp_stand_in;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use axum::http::{HeaderMap, StatusCode};
    use pstn_lake_fetch::{Credentials as GraphCredentials, GraphConfig};
    use pstn_lake_graph_sim::{RunningSim, SimConfig};

    use super::smtp_stand_in::{SmtpOptions, SmtpStandIn};
    use super::*;

    fn message() -> Message {
        Message {
            subject: "Telephony charges, November 2026 — €1,234.56".into(),
            html: "<html><body><h1>Charges</h1><p>Total: €1,234.56 · 4,321 calls</p></body></html>"
                .into(),
            attachments: vec![
                Attachment {
                    name: "charges-by-user.csv".into(),
                    content_type: "text/csv".into(),
                    bytes: "user,charge\nzoë@contoso.example,12.340000\n"
                        .as_bytes()
                        .to_vec(),
                },
                Attachment {
                    name: "report.html".into(),
                    content_type: "text/html".into(),
                    bytes: b"<html><body>report</body></html>".to_vec(),
                },
                Attachment {
                    name: "all-bytes.bin".into(),
                    content_type: "application/octet-stream".into(),
                    bytes: (0..=255u8).cycle().take(100_000).collect(),
                },
            ],
            card: Card {
                title: "Telephony, November 2026".into(),
                text: "4,321 calls, 2 fraud signals.".into(),
                facts: vec![
                    ("Charges".into(), "€1,234.56".into()),
                    ("Calls".into(), "4,321".into()),
                ],
                link: Some("https://contoso.sharepoint.com/reports/2026-11.html".into()),
            },
        }
    }

    fn started() -> Instant {
        Instant::now()
    }

    // ---- Graph mail, through the simulator

    async fn sim(config: SimConfig) -> RunningSim {
        pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    fn graph(sim: &RunningSim) -> GraphClient {
        let c = sim.config();
        GraphClient::new(
            GraphConfig::new(
                sim.graph_url().parse().unwrap(),
                sim.login_url().parse().unwrap(),
            ),
            GraphCredentials::with_secret(&c.tenant_id, &c.client_id, &c.client_secret),
        )
        .unwrap()
    }

    fn graph_mail(to: &[&str]) -> Target {
        Target::GraphMail {
            mailbox: "reports@contoso.example".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            cc: vec!["cfo@contoso.example".into()],
        }
    }

    #[tokio::test]
    async fn graph_mail_arrives_once_with_the_report_and_the_files() {
        let t = started();
        let sim = sim(SimConfig::default()).await;
        let deliverer = Deliverer::new(Some(graph(&sim))).unwrap();
        let message = message();
        (deliverer
            .send(&graph_mail(&["finance@contoso.example"]), &message)
            .await)
            .unwrap();
        let sent = sim.sent_mail();
        assert_eq!(sent.len(), 1);
        let m = &sent[0];
        assert_eq!(m.mailbox, "reports@contoso.example");
        assert_eq!(m.to, ["finance@contoso.example"]);
        assert_eq!(m.cc, ["cfo@contoso.example"]);
        assert_eq!(m.subject, message.subject);
        assert_eq!(
            (m.content_type.as_str(), m.body.as_str()),
            ("HTML", message.html.as_str())
        );
        assert_eq!(m.attachments.len(), 3);
        for (got, want) in m.attachments.iter().zip(&message.attachments) {
            assert_eq!(got.name, want.name);
            assert_eq!(
                got.content_type.as_deref(),
                Some(want.content_type.as_str())
            );
            assert_eq!(got.bytes, want.bytes, "{}", want.name);
        }
        eprintln!("graph mail: {:?}", t.elapsed());
    }

    #[tokio::test]
    async fn graph_mail_without_mail_send_says_which_permission() {
        let sim = sim(SimConfig::default().with_missing_mail_send()).await;
        let deliverer = Deliverer::new(Some(graph(&sim))).unwrap();
        let e = (deliverer
            .send(&graph_mail(&["finance@contoso.example"]), &message())
            .await)
            .unwrap_err();
        let text = format!("{e:#}");
        assert!(text.contains("Mail.Send"), "{text}");
        assert!(text.contains("New-ApplicationAccessPolicy"), "{text}");
        assert!(sim.sent_mail().is_empty());
    }

    #[tokio::test]
    async fn graph_mail_too_large_is_refused_before_any_request() {
        let sim = sim(SimConfig::default()).await;
        let deliverer = Deliverer::new(Some(graph(&sim))).unwrap();
        let mut big = message();
        big.attachments.push(Attachment {
            name: "calls.csv".into(),
            content_type: "text/csv".into(),
            bytes: vec![b'1'; 3_500_000],
        });
        let e = (deliverer
            .send(&graph_mail(&["finance@contoso.example"]), &big)
            .await)
            .unwrap_err();
        let text = format!("{e:#}");
        assert!(text.contains("SMTP") && text.contains("fewer"), "{text}");
        assert_eq!(sim.stats().requests, 0, "not even a token was asked for");
    }

    #[tokio::test]
    async fn graph_mail_without_graph_credentials_is_refused() {
        let deliverer = Deliverer::new(None).unwrap();
        let e = (deliverer
            .send(&graph_mail(&["a@contoso.example"]), &message())
            .await)
            .unwrap_err();
        assert!(e.to_string().contains("credentials"), "{e}");
    }

    // ---- SMTP, through a real SMTP server

    fn smtp(server: &SmtpStandIn, ca: &std::path::Path) -> Smtp {
        Smtp {
            host: "127.0.0.1".into(),
            port: server.port,
            from: "pstn-lake <reports@contoso.example>".into(),
            to: vec![
                "finance@contoso.example".into(),
                "ops@contoso.example".into(),
            ],
            cc: vec!["cfo@contoso.example".into()],
            username: Some("relay-user".into()),
            password: Some("relay-secret-8d1f".into()),
            ca_file: Some(ca.to_path_buf()),
        }
    }

    #[tokio::test]
    async fn smtp_mail_arrives_once_over_starttls_with_login_and_the_files_intact() {
        let t = started();
        let server = SmtpStandIn::start(
            SmtpOptions::default().with_login("relay-user", "relay-secret-8d1f"),
        );
        let deliverer = Deliverer::new(None).unwrap();
        let message = message();
        let target = Target::Smtp(smtp(&server, &server.ca_pem));
        deliverer.send(&target, &message).await.unwrap();
        let received = server.received();
        assert_eq!(received.len(), 1, "{received:?}");
        let m = &received[0];
        assert!(m.tls, "the mail came over STARTTLS");
        assert_eq!(m.login.as_deref(), Some("relay-user"));
        assert_eq!(m.mail_from, "reports@contoso.example");
        assert_eq!(
            m.rcpt_to,
            [
                "finance@contoso.example",
                "ops@contoso.example",
                "cfo@contoso.example"
            ]
        );
        assert_eq!(m.to, ["finance@contoso.example", "ops@contoso.example"]);
        assert_eq!(m.cc, ["cfo@contoso.example"]);
        assert_eq!(m.subject, message.subject);
        assert_eq!(
            m.html.as_deref().map(str::trim_end),
            Some(message.html.as_str())
        );
        let got: Vec<_> = (m.attachments.iter())
            .map(|a| (a.name.as_str(), a.content_type.as_str(), a.bytes.as_slice()))
            .collect();
        let want: Vec<_> = (message.attachments.iter())
            .map(|a| (a.name.as_str(), a.content_type.as_str(), a.bytes.as_slice()))
            .collect();
        assert_eq!(got, want);
        eprintln!("smtp mail: {:?}", t.elapsed());
    }

    #[tokio::test]
    async fn smtp_with_a_wrong_password_is_refused_and_nothing_is_sent() {
        let server = SmtpStandIn::start(
            SmtpOptions::default().with_login("relay-user", "relay-secret-8d1f"),
        );
        let mut target = smtp(&server, &server.ca_pem);
        target.password = Some("wrong-password-77".into());
        let e = (Deliverer::new(None)
            .unwrap()
            .send(&Target::Smtp(target), &message())
            .await)
            .unwrap_err();
        let text = format!("{e:#} {e:?}");
        assert!(text.contains("535"), "{text}");
        assert!(!text.contains("wrong-password-77"), "{text}");
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn smtp_without_starttls_is_refused_and_nothing_is_sent() {
        let server = SmtpStandIn::start(SmtpOptions::default().without_starttls());
        let mut target = smtp(&server, &server.ca_pem);
        (target.username, target.password) = (None, None);
        let e = (Deliverer::new(None)
            .unwrap()
            .send(&Target::Smtp(target), &message())
            .await)
            .unwrap_err();
        let text = format!("{e:#}");
        assert!(text.contains("STARTTLS"), "{text}");
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn smtp_with_a_certificate_from_another_authority_is_refused() {
        let server = SmtpStandIn::start(
            SmtpOptions::default().with_login("relay-user", "relay-secret-8d1f"),
        );
        let deliverer = Deliverer::new(None).unwrap();
        // Another authority's root, then the system's roots alone.
        for ca_file in [Some(server.other_ca_pem.clone()), None] {
            let mut target = smtp(&server, &server.ca_pem);
            target.ca_file = ca_file.clone();
            let e = (deliverer.send(&Target::Smtp(target), &message()).await).unwrap_err();
            let text = format!("{e:#}");
            assert!(
                text.to_lowercase().contains("certificate"),
                "{ca_file:?}: {text}"
            );
        }
        assert!(server.received().is_empty());
    }

    #[test]
    fn smtp_debug_hides_the_password() {
        let target = Smtp {
            host: "relay.contoso.example".into(),
            port: SMTP_PORT,
            from: "a@contoso.example".into(),
            to: vec![],
            cc: vec![],
            username: Some("user".into()),
            password: Some("hunter2-secret".into()),
            ca_file: None,
        };
        let text = format!("{:?}", Target::Smtp(target));
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    // ---- Webhooks, through a loopback server

    /// What the loopback webhook received: each request's path and query, headers and body.
    type Posts = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

    /// A webhook on loopback answering `status`; its URL carries a secret query like a
    /// Workflows URL.
    async fn webhook(status: StatusCode) -> (Url, Posts, tokio::task::JoinHandle<()>) {
        let posts: Posts = Arc::default();
        let seen = posts.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    seen.lock().unwrap().push((uri.to_string(), headers, json));
                    (
                        status,
                        format!("{{\"error\":\"flow refused {uri}, sig SeCrEtSiGnAtUrE42\"}}"),
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let url = Url::parse(&format!(
            "http://{addr}/powerautomate/automations/direct/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SeCrEtSiGnAtUrE42"
        ))
        .unwrap();
        (url, posts, server)
    }

    #[tokio::test]
    async fn a_webhook_receives_one_adaptive_card_with_the_facts_and_the_link() {
        let t = started();
        let (url, posts, server) = webhook(StatusCode::ACCEPTED).await;
        let target = Target::Webhook {
            url: WebhookUrl::new(url.clone()).unwrap(),
        };
        let message = message();
        Deliverer::new(None)
            .unwrap()
            .send(&target, &message)
            .await
            .unwrap();
        let posts = posts.lock().unwrap().clone();
        assert_eq!(posts.len(), 1);
        let (path, headers, body) = &posts[0];
        assert_eq!(path, &format!("{}?{}", url.path(), url.query().unwrap()));
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(attachment["contentUrl"], Value::Null);
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(
            card["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(card["body"][0]["text"], message.card.title);
        assert_eq!(card["body"][1]["text"], message.card.text);
        assert_eq!(card["body"][2]["type"], "FactSet");
        assert_eq!(
            card["body"][2]["facts"],
            json!([{"title": "Charges", "value": "€1,234.56"}, {"title": "Calls", "value": "4,321"}])
        );
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            message.card.link.clone().unwrap()
        );
        server.abort();
        eprintln!("webhook: {:?}", t.elapsed());
    }

    #[tokio::test]
    async fn a_webhook_error_says_the_status_and_never_the_url() {
        let (url, posts, server) = webhook(StatusCode::BAD_REQUEST).await;
        let target = Target::Webhook {
            url: WebhookUrl::new(url.clone()).unwrap(),
        };
        let e = (Deliverer::new(None)
            .unwrap()
            .send(&target, &message())
            .await)
            .unwrap_err();
        let text = format!("{e:#} {e:?} {target:?}");
        assert!(text.contains("400"), "{text}");
        for secret in ["SeCrEtSiGnAtUrE42", "0a1b2c", "/triggers"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(posts.lock().unwrap().len(), 1, "not posted again");
        server.abort();

        // Nobody listening: nothing was posted, and the message says so.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut u = url.clone();
            u.set_port(Some(listener.local_addr().unwrap().port()))
                .unwrap();
            u
        };
        let target = Target::Webhook {
            url: WebhookUrl::new(closed).unwrap(),
        };
        let e = (Deliverer::new(None)
            .unwrap()
            .send(&target, &message())
            .await)
            .unwrap_err();
        let text = format!("{e:#} {e:?}");
        assert!(
            !text.contains("SeCrEtSiGnAtUrE42") && !text.contains("/triggers"),
            "{text}"
        );
        assert!(text.contains("nothing was posted"), "{text}");
    }

    #[test]
    fn a_webhook_must_be_https_unless_on_loopback() {
        for ok in [
            "https://prod-01.westeurope.logic.azure.com/workflows/x?sig=s",
            "http://127.0.0.1:8080/hook?sig=s",
            "http://[::1]:8080/hook",
            "http://localhost/hook",
        ] {
            assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.contoso.example/hook?sig=SeCrEt",
            "http://10.0.0.1/hook?sig=SeCrEt",
            "ftp://hooks.contoso.example/hook?sig=SeCrEt",
        ] {
            let e = WebhookUrl::parse(bad).unwrap_err();
            let text = format!("{e:#}");
            assert!(text.contains("https"), "{text}");
            assert!(!text.contains("SeCrEt"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_card_too_large_for_teams_is_refused_before_posting() {
        let (url, posts, server) = webhook(StatusCode::ACCEPTED).await;
        let mut message = message();
        message.card.facts = (0..2000)
            .map(|i| (format!("Department {i}"), format!("€{i}.00")))
            .collect();
        let target = Target::Webhook {
            url: WebhookUrl::new(url).unwrap(),
        };
        let e = (Deliverer::new(None).unwrap().send(&target, &message).await).unwrap_err();
        assert!(format!("{e:#}").contains("28000"), "{e:#}");
        assert!(posts.lock().unwrap().is_empty());
        server.abort();
    }
}
