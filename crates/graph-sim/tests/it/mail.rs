//! `sendMail`: what is taken, what is refused, and what the test can read back.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pstn_lake_graph_sim::{RunningSim, SentAttachment, SimConfig};
use serde_json::{Value, json};

use crate::{client, start, token};

const MAILBOX: &str = "reports@contoso.example";

fn url(sim: &RunningSim, mailbox: &str) -> String {
    format!("{}/v1.0/users/{mailbox}/sendMail", sim.graph_url())
}

fn mail() -> Value {
    json!({
        "message": {
            "subject": "Charges",
            "body": {"contentType": "HTML", "content": "<p>Total €12.34</p>"},
            "toRecipients": [{"emailAddress": {"address": "finance@contoso.example"}}],
            "ccRecipients": [{"emailAddress": {"address": "cfo@contoso.example", "name": "CFO"}}],
            "attachments": [{
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": "charges.csv",
                "contentType": "text/csv",
                "contentBytes": STANDARD.encode(b"user,charge\n"),
            }],
        },
        "saveToSentItems": false,
    })
}

/// POSTs `body` (as JSON unless `content_type` says otherwise) with a token; the status and
/// Graph's error code.
async fn post(
    sim: &RunningSim,
    mailbox: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Option<String>) {
    let http = client();
    let token = token(&http, sim).await;
    let response = http
        .post(url(sim, mailbox))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let code = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    if status == 202 {
        assert!(bytes.is_empty(), "202 has no body");
    }
    (status, code)
}

async fn post_json(sim: &RunningSim, mailbox: &str, body: &Value) -> (u16, Option<String>) {
    post(
        sim,
        mailbox,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_mail_is_taken_with_202_and_recorded_decoded() {
    let sim = start(SimConfig::default()).await;
    assert_eq!(
        post_json(&sim, "Reports%40contoso.example", &mail()).await,
        (202, None)
    );
    let sent = sim.sent_mail();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.version, "v1.0");
    assert_eq!(m.mailbox, "Reports@contoso.example");
    assert_eq!(m.subject, "Charges");
    assert_eq!(
        (m.content_type.as_str(), m.body.as_str()),
        ("HTML", "<p>Total €12.34</p>")
    );
    assert_eq!(m.to, ["finance@contoso.example"]);
    assert_eq!(m.cc, ["cfo@contoso.example"]);
    assert!(m.bcc.is_empty());
    assert!(!m.save_to_sent_items);
    assert_eq!(
        m.attachments,
        [SentAttachment {
            name: "charges.csv".into(),
            content_type: Some("text/csv".into()),
            bytes: b"user,charge\n".to_vec(),
        }]
    );
}

#[tokio::test]
async fn a_malformed_mail_is_refused_400_as_graph_does_and_not_recorded() {
    let sim = start(SimConfig::default()).await;
    let with = |pointer: &str, value: Value| {
        let mut m = mail();
        *m.pointer_mut(pointer).unwrap() = value;
        m
    };
    let mut no_recipient = with("/message/toRecipients", json!([]));
    no_recipient["message"]["ccRecipients"] = Value::Null;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no message",
            json!({"saveToSentItems": false}),
            "ErrorInvalidParameter",
        ),
        ("no recipient", no_recipient, "ErrorInvalidRecipients"),
        (
            "an address without @",
            with(
                "/message/toRecipients/0/emailAddress/address",
                json!("finance"),
            ),
            "ErrorInvalidRecipients",
        ),
        (
            "a body type",
            with("/message/body/contentType", json!("markdown")),
            "ErrorInvalidParameter",
        ),
        (
            "an attachment without its type",
            with(
                "/message/attachments/0/@odata.type",
                json!("#microsoft.graph.attachment"),
            ),
            "ErrorInvalidParameter",
        ),
        (
            "bytes not in base64",
            with("/message/attachments/0/contentBytes", json!("not base64!")),
            "ErrorInvalidParameter",
        ),
        (
            "saveToSentItems",
            with("/saveToSentItems", json!("no")),
            "ErrorInvalidParameter",
        ),
    ];
    for (what, body, code) in cases {
        assert_eq!(
            post_json(&sim, MAILBOX, &body).await,
            (400, Some(code.to_owned())),
            "{what}"
        );
    }
    let not_json = post(&sim, MAILBOX, "application/json", b"{\"message\":".to_vec()).await;
    assert_eq!(not_json, (400, Some("BadRequest".to_owned())));
    let not_said = post(&sim, MAILBOX, "text/plain", mail().to_string().into_bytes()).await;
    assert_eq!(not_said, (400, Some("BadRequest".to_owned())));
    assert!(sim.sent_mail().is_empty());
    assert_eq!(sim.stats().bad_requests, 9);
}

#[tokio::test]
async fn a_request_over_4_mb_is_refused_413() {
    let sim = start(SimConfig::default()).await;
    let big = with_attachment_of(5 << 20);
    let (status, _) = post_json(&sim, MAILBOX, &big).await;
    assert_eq!(status, 413);
    assert!(sim.sent_mail().is_empty());
}

fn with_attachment_of(bytes: usize) -> Value {
    let mut m = mail();
    m["message"]["attachments"][0]["contentBytes"] = json!(STANDARD.encode(vec![0u8; bytes]));
    m
}

#[tokio::test]
async fn without_a_token_a_mail_is_401() {
    let sim = start(SimConfig::default()).await;
    let response = client()
        .post(url(&sim, MAILBOX))
        .header("content-type", "application/json")
        .body(mail().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(sim.sent_mail().is_empty());
}

#[tokio::test]
async fn without_mail_send_or_outside_the_access_policy_a_mail_is_403() {
    let sim = start(SimConfig::default().with_missing_mail_send()).await;
    let refused = (403, Some("ErrorAccessDenied".to_owned()));
    assert_eq!(post_json(&sim, MAILBOX, &mail()).await, refused);
    assert!(sim.sent_mail().is_empty());
    assert_eq!(sim.stats().forbidden, 1);

    let sim = start(SimConfig::default().with_mail_send_policy([MAILBOX])).await;
    assert_eq!(
        post_json(&sim, "ceo@contoso.example", &mail()).await,
        refused
    );
    assert_eq!(
        post_json(&sim, "REPORTS@contoso.example", &mail()).await,
        (202, None)
    );
    assert_eq!(sim.sent_mail().len(), 1);
}

#[tokio::test]
async fn the_call_records_permissions_do_not_refuse_mail() {
    let sim = start(SimConfig::default().with_missing_user_read_all()).await;
    assert_eq!(post_json(&sim, MAILBOX, &mail()).await, (202, None));
}
