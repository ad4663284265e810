//! The fetch crate's error type.

/// What went wrong while decoding a page or talking to Graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL that would receive credentials or tokens is not HTTPS (plain HTTP is allowed only to
    /// this machine's loopback addresses, for the simulator and tests).
    #[error(
        "the {which} `{url}` is not https://: credentials and tokens go only over TLS (http:// is \
         allowed only for localhost, 127.0.0.0/8 and [::1])"
    )]
    Insecure {
        /// Which URL (`Graph URL`, `login URL`).
        which: &'static str,
        /// The URL as given.
        url: String,
    },

    /// The page is not well-formed JSON.
    #[error("the page is not valid JSON")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's error.
        source: serde_json::Error,
    },

    /// The page has no `value` array.
    #[error("the page has no `value` array: it is not a Graph call-log page")]
    MissingValue,

    /// A key of the page itself (`value`, `@odata.nextLink`, `@odata.context`) came twice.
    #[error("the page has `{0}` twice: refused rather than keep one of them")]
    RepeatedKey(&'static str),

    /// Which table the page belongs to could not be told.
    #[error(
        "cannot tell which table this page belongs to ({}): pass --table pstn_calls or --table direct_routing_calls",
        match context { Some(c) => format!("its @odata.context is `{c}`"), None => "it has no @odata.context".to_string() }
    )]
    UnknownTable {
        /// The page's `@odata.context`, if any.
        context: Option<String>,
    },

    /// The page's `@odata.context` names another table than the one asked for.
    #[error("the page holds {found} rows (by its @odata.context) but {expected} was asked for")]
    TableMismatch {
        /// The table asked for.
        expected: crate::Table,
        /// The table the page's context names.
        found: crate::Table,
    },

    /// A property of a row has a value the schema cannot hold.
    #[error("row {row}{} field `{field}`: {message}", match id { Some(id) => format!(" (id {id})"), None => String::new() })]
    Field {
        /// 0-based index of the row in the page's `value` array.
        row: usize,
        /// The row's `id`, when it came before the bad field.
        id: Option<String>,
        /// The Graph property name.
        field: String,
        /// What is wrong with the value.
        message: String,
    },

    /// Credentials are missing.
    #[error(
        "Graph credentials: {message} (set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)"
    )]
    Credentials {
        /// What is missing.
        message: String,
    },

    /// The certificate file (`AZURE_CLIENT_CERTIFICATE_PATH`) cannot be read.
    #[error("Graph credentials: cannot read AZURE_CLIENT_CERTIFICATE_PATH `{path}`")]
    CertificateFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The certificate file holds no usable RSA key and certificate.
    #[error(
        "Graph credentials: AZURE_CLIENT_CERTIFICATE_PATH `{path}` needs an RSA private key and its certificate in one PEM file"
    )]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: crate::CertificateError,
    },

    /// Signing the client assertion failed (no system randomness, or the key refused to sign;
    /// ring says no more).
    #[error("Graph credentials: {what} failed")]
    Signing {
        /// What was being done.
        what: &'static str,
    },

    /// The token endpoint refused the credentials or could not be reached.
    #[error(
        "getting a token from {url} failed (check AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or certificate, and --cloud / --login-url)"
    )]
    Auth {
        /// The token endpoint.
        url: String,
        /// Why the request failed.
        source: RequestError,
    },

    /// The HTTP client could not be set up.
    #[error("setting up the HTTP client failed")]
    Client {
        /// reqwest's error.
        source: reqwest::Error,
    },

    /// A request URL could not be built.
    #[error("`{url}` is not a valid URL (check --graph-url)")]
    Url {
        /// The text that should have been a URL.
        url: String,
        /// The parser's error.
        source: url::ParseError,
    },

    /// Graph refused access: a permission is missing.
    #[error(
        "Graph refused access to {url} (403 {message}): grant the app registration the {permission} application permission (not delegated) and admin consent in Entra ID"
    )]
    Forbidden {
        /// The request URL (without query).
        url: String,
        /// The least privileged permission the request needs.
        permission: &'static str,
        /// Graph's error.
        message: String,
    },

    /// Graph answered an error that retrying cannot fix.
    #[error("Graph answered {status} for {url}: {message}{}", if matches!(status, 400 | 406) { " (Graph refuses ranges over 90 days and quoted or malformed date literals)" } else { "" })]
    Graph {
        /// The request URL (without query).
        url: String,
        /// The HTTP status.
        status: u16,
        /// Graph's error.
        message: String,
    },

    /// A request kept failing.
    #[error(
        "gave up on {url} after {attempts} attempts (re-run later: finished days are kept); last failure"
    )]
    RetriesExhausted {
        /// The request URL (without query).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Why the last attempt failed.
        #[source]
        last: RequestError,
    },

    /// A response body is larger than any the endpoint sends (an endless or hostile body).
    #[error("the response of {url} is larger than {limit} bytes, more than {what} can be: refused")]
    TooLarge {
        /// The request URL (without query).
        url: String,
        /// The cap, in bytes.
        limit: u64,
        /// What the body should have been ("a Graph page", "a token response").
        what: &'static str,
    },

    /// A day has more pages than any tenant's day can have (a server that never stops linking).
    #[error(
        "{url}: more than {limit} pages for one day ({rows} rows so far), more than any tenant has: refused"
    )]
    TooManyPages {
        /// The day's first request URL (without query).
        url: String,
        /// The cap.
        limit: usize,
        /// Rows received in those pages.
        rows: u64,
    },

    /// The last page of a user directory read carried neither `@odata.nextLink` nor
    /// `@odata.deltaLink`: the next read could not start where this one ended.
    #[error("the user directory page from {url} ends the read without an @odata.deltaLink")]
    NoDeltaLink {
        /// The page's URL (without query).
        url: String,
    },

    /// An `@odata.nextLink` cannot be followed.
    #[error("refusing the @odata.nextLink {link}")]
    NextLink {
        /// The link (or its origin).
        link: String,
        /// Why.
        #[source]
        reason: NextLinkRefusal,
    },

    /// A mail cannot be sent as it is (no recipient, no mailbox to send as): nothing was sent.
    #[error("the mail cannot be sent: {reason} (nothing was sent)")]
    MailInvalid {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A mail is larger than one Graph `sendMail` request may be: nothing was sent.
    #[error(
        "the mail is {bytes} bytes as a Graph sendMail request (attachments in base64), over Graph's \
         limit of {limit} bytes: nothing was sent; send it through SMTP, or with fewer or smaller \
         attachments"
    )]
    MailTooLarge {
        /// The size of the request body.
        bytes: usize,
        /// The most a request may be ([`MAX_SEND_MAIL_BYTES`](crate::MAX_SEND_MAIL_BYTES)).
        limit: usize,
    },

    /// Graph refused to send mail as the mailbox: the permission is missing, or an application
    /// access policy leaves the mailbox out.
    #[error(
        "Graph refused to send mail as {mailbox} (403 {message}): grant the app registration the \
         Mail.Send application permission (not delegated) and admin consent in Entra ID; if \
         Exchange restricts the app to some mailboxes (an application access policy, \
         New-ApplicationAccessPolicy -AccessRight RestrictAccess, or RBAC for Applications), the \
         mailbox must be in its scope"
    )]
    MailForbidden {
        /// The mailbox the mail was to be sent as.
        mailbox: String,
        /// Graph's error.
        message: String,
    },

    /// Graph refused the mail (a 4xx other than 401, 403 and 429): it was not sent.
    #[error("Graph refused to send mail as {mailbox}: {status} {message}{}", match status {
        404 => " (no such mailbox: check the mailbox's address)",
        413 => " (too large: send it through SMTP, or with fewer attachments)",
        _ => "",
    })]
    MailRefused {
        /// The mailbox the mail was to be sent as.
        mailbox: String,
        /// The HTTP status.
        status: u16,
        /// Graph's error.
        message: String,
    },

    /// A `sendMail` request ended so that the mail may or may not have been sent (no answer
    /// after the request went out, a 5xx that is not a refusal): it is not retried, so that it is
    /// never sent twice.
    #[error(
        "the mail as {mailbox} may or may not have been sent (not retried, so that it is not sent \
         twice: check with its recipients before sending it again)"
    )]
    MailUncertain {
        /// The mailbox the mail was to be sent as.
        mailbox: String,
        /// What happened to the request.
        source: RequestError,
    },

    /// A page could not be decoded.
    #[error("page {page} of {from}")]
    Page {
        /// Where the page came from: the request URL (without query), a file, an archive.
        from: String,
        /// 1-based page number within the window, file or archive.
        page: usize,
        /// The decoding error.
        source: Box<Error>,
    },

    /// Building the Arrow batch failed (a bug: decoded columns always match the schema).
    #[error("building the Arrow batch failed")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// Why one HTTP request failed (the kinds a retry can fix, and the token endpoint's refusals).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No answer: the server could not be reached.
    #[error("no answer")]
    Transport(#[source] reqwest::Error),

    /// No complete answer within the request timeout.
    #[error("no answer within the request timeout of {}s", timeout.as_secs_f64())]
    TimedOut {
        /// The request timeout.
        timeout: std::time::Duration,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },

    /// The answer's body was cut off.
    #[error("the answer was cut off")]
    CutOff(#[source] reqwest::Error),

    /// 429: the server asked to slow down.
    #[error("429 Too Many Requests")]
    Throttled {
        /// The pause the server asked for (`Retry-After`), if it did.
        retry_after: Option<std::time::Duration>,
    },

    /// Another error status.
    #[error("HTTP {status}{}", match message { Some(m) => format!(": {m}"), None => String::new() })]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's error (Entra ID's `error: error_description`), if it said one.
        message: Option<String>,
    },

    /// The answer is not the JSON the server sends.
    #[error("the answer is not what the server sends")]
    Malformed(#[source] serde_json::Error),
}

/// Why an `@odata.nextLink` is not followed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NextLinkRefusal {
    /// The link is not a URL.
    #[error("it is not a URL")]
    NotAUrl(#[source] url::ParseError),

    /// The link leaves the configured Graph endpoint.
    #[error(
        "it points away from the configured Graph endpoint {graph_url}; the bearer token is not sent there"
    )]
    OtherHost {
        /// The configured Graph base URL.
        graph_url: String,
    },

    /// The link names a page already read.
    #[error("it repeats a page already read (Graph is not progressing)")]
    Repeats,
}

/// The fetch crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
