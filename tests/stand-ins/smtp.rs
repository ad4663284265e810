//! A real SMTP server on loopback for tests: `tests/stand-ins/smtp_server.py` (Python's
//! aiosmtpd, certificates from trustme), with STARTTLS required and, if asked, AUTH.
//!
//! Self-contained (std, serde_json, tempfile): include it where it is needed with
//! `#[path = "…/tests/stand-ins/smtp.rs"] mod smtp_stand_in;`.
//!
//! ```ignore
//! let smtp = SmtpStandIn::start(SmtpOptions::default().with_login("relay", "secret"));
//! // send to 127.0.0.1:smtp.port, trusting smtp.ca_pem, then:
//! let mail = smtp.received();
//! assert!(mail[0].tls);
//! ```
//!
//! Python comes from `PATH` (`scripts/test` puts its virtualenv first); without it or its
//! packages, `start` panics saying to run `scripts/test`. The server stops when the handle is
//! dropped (and by itself when the test process ends: it watches its stdin).

#![allow(
    dead_code,
    reason = "each test binary that includes the launcher uses a part of it"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// How the stand-in behaves.
#[derive(Clone, Debug, Default)]
pub struct SmtpOptions {
    /// Do not offer STARTTLS at all (a relay a client must refuse).
    pub no_starttls: bool,
    /// Offer AUTH (after STARTTLS only) and require it, with this user and password.
    pub login: Option<(String, String)>,
}

impl SmtpOptions {
    /// Requires AUTH with this user and password.
    pub fn with_login(mut self, user: &str, password: &str) -> Self {
        self.login = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Offers no STARTTLS.
    pub fn without_starttls(mut self) -> Self {
        self.no_starttls = true;
        self
    }
}

/// A running stand-in. Dropping it stops the server and removes its folder.
pub struct SmtpStandIn {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The PEM of the certificate authority that signed the server's certificate (for
    /// 127.0.0.1 and localhost).
    pub ca_pem: PathBuf,
    /// The PEM of another certificate authority, which signed nothing the server shows.
    pub other_ca_pem: PathBuf,
    /// The folder of the messages received: `N.eml` (as received) and `N.json`.
    pub maildir: PathBuf,
    child: Child,
    _stdin: ChildStdin,
    _dir: tempfile::TempDir,
}

/// A message the stand-in took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope's `MAIL FROM`.
    pub mail_from: String,
    /// The envelope's `RCPT TO`s.
    pub rcpt_to: Vec<String>,
    /// Whether the message came over TLS (after STARTTLS).
    pub tls: bool,
    /// The user that authenticated, if one did.
    pub login: Option<String>,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The `From` header.
    pub from: String,
    /// The `To` addresses.
    pub to: Vec<String>,
    /// The `Cc` addresses.
    pub cc: Vec<String>,
    /// The first `text/html` part that is not an attachment, decoded.
    pub html: Option<String>,
    /// The attachments, decoded.
    pub attachments: Vec<ReceivedAttachment>,
    /// The message as received.
    pub eml: PathBuf,
}

/// An attachment of a [`ReceivedMail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAttachment {
    /// Its file name.
    pub name: String,
    /// Its media type (`text/csv`).
    pub content_type: String,
    /// Its content, decoded from its transfer encoding.
    pub bytes: Vec<u8>,
}

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/stand-ins/smtp_server.py"
);

impl SmtpStandIn {
    /// Starts a stand-in and waits until it listens.
    pub fn start(options: SmtpOptions) -> SmtpStandIn {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut command = Command::new("python3");
        command.arg(SCRIPT).arg(dir.path());
        if options.no_starttls {
            command.arg("--no-starttls");
        }
        if let Some((user, password)) = &options.login {
            command.args(["--login", user, password]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start python3 for the SMTP stand-in ({e}): run scripts/test, which \
                     installs Python and the packages the tests need"
                )
            });
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut line = String::new();
        let read =
            BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line);
        if read.map_or(true, |n| n == 0) {
            let _ = child.kill();
            let _ = child.wait();
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            panic!(
                "the SMTP stand-in did not start: {stderr}\n(run scripts/test: it installs the \
                 Python packages aiosmtpd and trustme into its virtualenv and puts it on PATH)"
            );
        }
        let ready: serde_json::Value = serde_json::from_str(&line).expect("a JSON ready line");
        let path = |key: &str| PathBuf::from(ready[key].as_str().expect("a path"));
        SmtpStandIn {
            port: ready["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .expect("a port"),
            ca_pem: path("ca"),
            other_ca_pem: path("other_ca"),
            maildir: path("maildir"),
            child,
            _stdin: stdin,
            _dir: dir,
        }
    }

    /// The messages taken so far, in the order they arrived.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut numbers: Vec<u64> = std::fs::read_dir(&self.maildir)
            .expect("the mail folder")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        numbers
            .into_iter()
            .map(|n| read_mail(&self.maildir, n))
            .collect()
    }
}

fn read_mail(maildir: &Path, n: u64) -> ReceivedMail {
    let text = std::fs::read_to_string(maildir.join(format!("{n}.json"))).expect("N.json");
    let record: serde_json::Value = serde_json::from_str(&text).expect("N.json is JSON");
    let message = &record["message"];
    let text_of = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let list = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().into_iter().flatten().map(text_of).collect()
    };
    ReceivedMail {
        mail_from: text_of(&record["mail_from"]),
        rcpt_to: list(&record["rcpt_to"]),
        tls: record["tls"].as_bool() == Some(true),
        login: record["login"].as_str().map(str::to_owned),
        subject: text_of(&message["subject"]),
        from: text_of(&message["from"]),
        to: list(&message["to"]),
        cc: list(&message["cc"]),
        html: message["html"].as_str().map(str::to_owned),
        attachments: (message["attachments"].as_array().into_iter().flatten())
            .map(|a| ReceivedAttachment {
                name: text_of(&a["name"]),
                content_type: text_of(&a["content_type"]),
                bytes: from_hex(a["hex"].as_str().unwrap_or_default()),
            })
            .collect(),
        eml: maildir.join(format!("{n}.eml")),
    }
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

impl Drop for SmtpStandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
