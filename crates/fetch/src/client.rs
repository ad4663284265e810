//! The Graph call-log client: day windows, paging, retries, throttling, token renewal.

use std::collections::HashSet;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use url::Url;

use crate::auth::{Credentials, TokenSource};
use crate::directory::DirectoryPage;
use crate::retry::{RetryConfig, Throttle, parse_retry_after};
use crate::{
    ApiVersion, DecodedPage, Error, NextLinkRefusal, PageDecoder, RequestError, Result, Table,
};

/// The longest pause a `Retry-After` can impose; the retry budget bounds the total.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(300);

/// The largest Graph page accepted: a page of 1,000 beta PSTN rows is about 1 MB, so 64 MiB is
/// far past any real page and stops an endless body before it exhausts memory.
pub const MAX_PAGE_BYTES: u64 = 64 << 20;

/// The most pages one day may have (at Graph's 1,000 rows a page, 100 million calls in a day).
pub const MAX_PAGES_PER_DAY: usize = 100_000;

/// Reads a response body of at most `limit` bytes: `Ok(None)` when it is larger (said by its
/// Content-Length, or found while reading, so no more than `limit` bytes are ever held).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<Option<bytes::Bytes>> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let mut body =
        bytes::BytesMut::with_capacity(response.content_length().unwrap_or(0).min(limit) as usize);
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// Where and how to reach Graph.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Graph base URL (`https://graph.microsoft.com`); next links must stay on its scheme and host.
    pub graph_url: Url,
    /// Entra ID base URL (`https://login.microsoftonline.com`).
    pub login_url: Url,
    /// v1.0 or beta.
    pub api: ApiVersion,
    /// Retries and timeouts.
    pub retry: RetryConfig,
    /// Keep each page's raw bytes in [`Window::raw`] (for a raw archive).
    pub keep_raw: bool,
    /// Pages one day may have before the day is refused ([`MAX_PAGES_PER_DAY`]).
    pub max_pages_per_day: usize,
}

impl GraphConfig {
    /// A config for these base URLs.
    pub fn new(graph_url: Url, login_url: Url) -> Self {
        GraphConfig {
            graph_url,
            login_url,
            api: ApiVersion::V1,
            retry: RetryConfig::default(),
            keep_raw: false,
            max_pages_per_day: MAX_PAGES_PER_DAY,
        }
    }

    /// Sets the most pages one day may have.
    pub fn with_max_pages_per_day(mut self, pages: usize) -> Self {
        self.max_pages_per_day = pages;
        self
    }

    /// Sets the API version.
    pub fn with_api(mut self, api: ApiVersion) -> Self {
        self.api = api;
        self
    }

    /// Keeps each page's raw bytes in [`Window::raw`].
    pub fn with_keep_raw(mut self, keep_raw: bool) -> Self {
        self.keep_raw = keep_raw;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
}

/// What a client has done so far (shared by every request of the client).
#[derive(Debug, Default)]
pub struct FetchStats {
    /// Pages received and decoded.
    pub pages: AtomicU64,
    /// Rows in those pages.
    pub rows: AtomicU64,
    /// Bytes of page bodies.
    pub bytes: AtomicU64,
    /// Requests retried (any reason).
    pub retries: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
    /// Milliseconds spent waiting because Graph throttled (any request).
    pub throttled_wait_ms: AtomicU64,
    /// Token renewals after a 401.
    pub renewals_after_401: AtomicU64,
}

/// A Graph call-log client for one tenant.
#[derive(Debug)]
pub struct GraphClient {
    pub(crate) http: reqwest::Client,
    pub(crate) config: GraphConfig,
    pub(crate) tokens: TokenSource,
    pub(crate) throttle: Throttle,
    pub(crate) stats: FetchStats,
}

/// The pages of one window, decoded.
#[derive(Debug, Default)]
pub struct Window {
    /// Every page, in order.
    pub pages: Vec<DecodedPage>,
    /// Every page's body as received, in order (only with [`GraphConfig::keep_raw`]).
    pub raw: Vec<bytes::Bytes>,
}

/// The pages of one day, fetched as they are asked for ([`GraphClient::day_pages`]).
pub struct DayPages<'a> {
    client: &'a GraphClient,
    decoder: PageDecoder,
    seen: HashSet<String>,
    next: Option<Url>,
    number: usize,
    rows: u64,
}

impl DayPages<'_> {
    /// Set aside the rows that cannot be landed instead of failing on them (each page's
    /// [`DecodedPage::bad_rows`](crate::DecodedPage::bad_rows); see
    /// [`PageDecoder::with_bad_rows_set_aside`]).
    pub fn with_bad_rows_set_aside(mut self, set_aside: bool) -> Self {
        self.decoder = self.decoder.with_bad_rows_set_aside(set_aside);
        self
    }

    /// How many pages were fetched so far (the number of the page [`Self::next_page`] returned
    /// last).
    pub fn pages_fetched(&self) -> usize {
        self.number
    }

    /// The next page, decoded, with its body as received; `None` after the last page. The
    /// `@odata.nextLink` of a page is checked before the page is returned: it must stay on the
    /// configured Graph scheme and host and must not repeat a page.
    pub async fn next_page(&mut self) -> Result<Option<(bytes::Bytes, DecodedPage)>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let client = self.client;
        if self.number >= self.client.config.max_pages_per_day {
            return Err(Error::TooManyPages {
                url: redact_query(&url),
                limit: self.client.config.max_pages_per_day,
                rows: self.rows,
            });
        }
        self.seen.insert(url.as_str().to_owned());
        self.number += 1;
        let (body, page) = client.get_page(&url, &self.decoder, self.number).await?;
        client.stats.pages.fetch_add(1, Ordering::Relaxed);
        self.rows += page.rows as u64;
        client
            .stats
            .rows
            .fetch_add(page.rows as u64, Ordering::Relaxed);
        client
            .stats
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        if let Some(link) = &page.next_link {
            self.next = Some(unseen_link(link, &client.config.graph_url, &self.seen)?);
        }
        Ok(Some((body, page)))
    }
}

/// A next link to follow: on the Graph origin ([`next_link_url`]) and not one of the pages
/// `seen` already (a server sending a page's own link again would page forever).
fn unseen_link(link: &str, graph_url: &Url, seen: &HashSet<String>) -> Result<Url> {
    let next = next_link_url(link, graph_url)?;
    if seen.contains(next.as_str()) {
        return Err(Error::NextLink {
            link: redact_query(&next),
            reason: NextLinkRefusal::Repeats,
        });
    }
    Ok(next)
}

/// The pages of one read of the user directory ([`GraphClient::directory_pages`]).
pub struct DirectoryPages<'a> {
    client: &'a GraphClient,
    seen: HashSet<String>,
    next: Option<Url>,
    number: usize,
}

impl DirectoryPages<'_> {
    /// The next page, decoded; `None` after the page that carried the delta link. Its next and
    /// delta links are checked as a call-log page's next link is
    /// ([`DayPages::next_page`]): on the Graph origin, never a page seen before.
    pub async fn next_page(&mut self) -> Result<Option<DirectoryPage>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let client = self.client;
        if self.number >= client.config.max_pages_per_day {
            return Err(Error::TooManyPages {
                url: redact_query(&url),
                limit: client.config.max_pages_per_day,
                rows: 0,
            });
        }
        self.seen.insert(url.as_str().to_owned());
        self.number += 1;
        let (body, page) = client
            .get_decoded(&url, self.number, crate::directory::decode_page)
            .await?;
        client.stats.pages.fetch_add(1, Ordering::Relaxed);
        (client.stats.rows).fetch_add(page.rows.len() as u64, Ordering::Relaxed);
        (client.stats.bytes).fetch_add(body.len() as u64, Ordering::Relaxed);
        match (&page.next_link, &page.delta_link) {
            (Some(link), _) => {
                self.next = Some(unseen_link(link, &client.config.graph_url, &self.seen)?);
            }
            (None, Some(link)) => {
                next_link_url(link, &client.config.graph_url)?;
            }
            (None, None) => {
                return Err(Error::NoDeltaLink {
                    url: redact_query(&url),
                });
            }
        }
        Ok(Some(page))
    }
}

/// What one request to Graph came to.
pub(crate) enum Attempt<T> {
    /// Done: a page, or the mail taken.
    Done(T),
    /// Not done, and safe to send again (after the pause, if any).
    Retry {
        after: Option<Duration>,
        error: RequestError,
    },
    /// 401: the token is renewed once and the request sent again.
    Unauthorized,
}

impl GraphClient {
    /// A client that authenticates with `credentials`.
    pub fn new(config: GraphConfig, credentials: Credentials) -> Result<Self> {
        require_tls("Graph URL", &config.graph_url)?;
        require_tls("login URL", &config.login_url)?;
        let http = reqwest::Client::builder()
            .timeout(config.retry.request_timeout)
            .connect_timeout(Duration::from_secs(20))
            // Redirects would carry the bearer token elsewhere: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pstn-lake/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Client { source })?;
        let tokens = TokenSource::new(
            http.clone(),
            config.login_url.as_str(),
            config.graph_url.as_str(),
            credentials,
        )
        .with_retry(config.retry.clone());
        Ok(GraphClient {
            http,
            config,
            tokens,
            throttle: Throttle::default(),
            stats: FetchStats::default(),
        })
    }

    /// The counters of everything this client did.
    pub fn stats(&self) -> &FetchStats {
        &self.stats
    }

    /// Access tokens obtained so far.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens.issued()
    }

    /// Gets a token now, so bad credentials fail before any work starts.
    pub async fn check_credentials(&self) -> Result<()> {
        self.tokens.token().await.map(|_| ())
    }

    /// The URL of a window: `{graph}/{api}/communications/callRecords/microsoft.graph.callRecords.getPstnCalls(fromDateTime=…,toDateTime=…)`.
    /// Date-times are unquoted UTC literals, as Graph requires. A [beta-only](Table::beta_only)
    /// table is asked of beta whatever the configured version.
    pub fn window_url(
        &self,
        table: Table,
        from: NaiveDate,
        to_exclusive: NaiveDate,
    ) -> Result<Url> {
        let base = self.config.graph_url.as_str().trim_end_matches('/');
        let text = format!(
            "{base}/{}/communications/callRecords/microsoft.graph.callRecords.{}(fromDateTime={}T00:00:00Z,toDateTime={}T00:00:00Z)",
            if table.beta_only() {
                ApiVersion::Beta.path()
            } else {
                self.config.api.path()
            },
            table.graph_function(),
            from.format("%Y-%m-%d"),
            to_exclusive.format("%Y-%m-%d"),
        );
        Url::parse(&text).map_err(|source| Error::Url { url: text, source })
    }

    /// Fetches every page of one UTC day of `table`, following `@odata.nextLink` verbatim.
    ///
    /// PSTN's `toDateTime` is inclusive, so the pages may hold rows that start at the next
    /// midnight: callers keep only the rows of `day`.
    pub async fn fetch_day(&self, table: Table, day: NaiveDate) -> Result<Window> {
        let mut pages = self.day_pages(table, day)?;
        let mut window = Window::default();
        while let Some((body, page)) = pages.next_page().await? {
            window.pages.push(page);
            if self.config.keep_raw {
                window.raw.push(body);
            }
        }
        Ok(window)
    }

    /// The pages of one UTC day of `table`, one at a time (so a caller can use each page as it
    /// arrives instead of holding the day); see [`GraphClient::fetch_day`].
    pub fn day_pages(&self, table: Table, day: NaiveDate) -> Result<DayPages<'_>> {
        let next_day = day.succ_opt().expect("a day before the end of time");
        Ok(DayPages {
            client: self,
            decoder: PageDecoder::new()
                .with_table(Some(table))
                .with_window(day, next_day),
            seen: HashSet::new(),
            next: Some(self.window_url(table, day, next_day)?),
            number: 0,
            rows: 0,
        })
    }

    /// The pages of a read of the user directory: from `delta_link` (the link the last read ended
    /// with: only the users changed since), or, without one, a full round of
    /// `{graph}/v1.0/users/delta` with the [`Table::Users`] properties selected. The link must be
    /// on the Graph origin. A link Graph no longer knows is refused with 410 Gone
    /// ([`Error::Graph`] with `status` 410): start again without one.
    pub fn directory_pages(&self, delta_link: Option<&str>) -> Result<DirectoryPages<'_>> {
        let start = match delta_link {
            Some(link) => next_link_url(link, &self.config.graph_url)?,
            None => {
                let base = self.config.graph_url.as_str().trim_end_matches('/');
                let text = format!(
                    "{base}/{}/users/delta?$select={}",
                    ApiVersion::V1.path(),
                    crate::directory::SELECT.join(",")
                );
                Url::parse(&text).map_err(|source| Error::Url { url: text, source })?
            }
        };
        Ok(DirectoryPages {
            client: self,
            seen: HashSet::new(),
            next: Some(start),
            number: 0,
        })
    }

    /// Whether pages' bodies are meant to be kept (`--keep-raw`).
    pub fn keeps_raw(&self) -> bool {
        self.config.keep_raw
    }

    /// GETs and decodes one page. A body that is not well-formed JSON (cut off by a proxy that
    /// sent no Content-Length, say) is fetched again, twice at most; a well-formed page whose rows
    /// do not fit the schema is an error at once.
    async fn get_page(
        &self,
        url: &Url,
        decoder: &PageDecoder,
        number: usize,
    ) -> Result<(bytes::Bytes, DecodedPage)> {
        self.get_decoded(url, number, |body| decoder.decode(body))
            .await
    }

    /// GETs one page and decodes it with `decode`, as [`GraphClient::get_page`] says: a body that
    /// is not well-formed JSON is fetched again, twice at most.
    async fn get_decoded<T>(
        &self,
        url: &Url,
        number: usize,
        decode: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<(bytes::Bytes, T)> {
        let mut tries = 0;
        loop {
            let body = self.get(url).await?;
            match decode(&body) {
                Ok(page) => return Ok((body, page)),
                Err(Error::Json { .. }) if tries < 2 => {
                    tries += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(url = %redact_query(url), "page is not well-formed JSON; fetching it again");
                }
                Err(source) => {
                    return Err(Error::Page {
                        from: redact_query(url),
                        page: number,
                        source: Box::new(source),
                    });
                }
            }
        }
    }

    /// GETs one page with retries: throttling and transient failures wait and retry, 401 renews
    /// the token once, other 4xx fail at once with Graph's message.
    async fn get(&self, url: &Url) -> Result<bytes::Bytes> {
        let rejected = || {
            Error::Graph {
            url: redact_query(url),
            status: 401,
            message: "Graph rejected a freshly issued token: check that the app registration is in this tenant and cloud (--cloud)".into(),
        }
        };
        self.with_retries(url, rejected, |token| async move {
            self.attempt(url, &token).await
        })
        .await
    }

    /// Sends a request to `url` until it is done: every attempt first waits out the run's
    /// throttle pause; [`Attempt::Retry`] waits (its pause, or the backoff) and sends again until
    /// the retry budget is spent; the first 401 renews the token, a second is `rejected()`. The
    /// one loop every Graph request goes through (the pages' GETs, `sendMail`).
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        url: &Url,
        rejected: impl Fn() -> Error,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(Arc<str>) -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>>>,
    {
        let retry = &self.config.retry;
        let started = Instant::now();
        let mut tries = 0u32;
        let mut renewed = false;
        let mut token = self.tokens.token().await?;
        loop {
            let waited = self.throttle.wait().await;
            if !waited.is_zero() {
                self.stats
                    .throttled_wait_ms
                    .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
            }
            let (after, error) = match attempt(Arc::clone(&token)).await? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Unauthorized if !renewed => {
                    renewed = true;
                    self.stats
                        .renewals_after_401
                        .fetch_add(1, Ordering::Relaxed);
                    token = self.tokens.renew(&token).await?;
                    continue;
                }
                Attempt::Unauthorized => return Err(rejected()),
                Attempt::Retry { after, error } => (after, error),
            };
            if tries >= retry.max_retries || started.elapsed() >= retry.retry_timeout {
                return Err(Error::RetriesExhausted {
                    url: redact_query(url),
                    attempts: tries + 1,
                    last: error,
                });
            }
            let delay = after.unwrap_or_else(|| retry.backoff(tries));
            tracing::debug!(url = %redact_query(url), ?error, ?delay, "retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tries += 1;
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, url: &Url, token: &str) -> Result<Attempt<bytes::Bytes>> {
        let response = match self.http.get(url.clone()).bearer_auth(token).send().await {
            Ok(r) => r,
            Err(e) => {
                let error = if e.is_timeout() {
                    RequestError::TimedOut {
                        timeout: self.config.retry.request_timeout,
                        source: e.without_url(),
                    }
                } else {
                    RequestError::Transport(e.without_url())
                };
                return Ok(Attempt::Retry { after: None, error });
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        match status {
            200 => match read_capped(response, MAX_PAGE_BYTES).await {
                Ok(Some(body)) => Ok(Attempt::Done(body)),
                Ok(None) => Err(Error::TooLarge {
                    url: redact_query(url),
                    limit: MAX_PAGE_BYTES,
                    what: "a Graph page",
                }),
                Err(e) => Ok(Attempt::Retry {
                    after: None,
                    error: RequestError::CutOff(e.without_url()),
                }),
            },
            429 => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                // One 429 slows the whole run: every request waits out the same pause.
                let pause = retry_after
                    .map(|d| d.min(MAX_PAUSE))
                    .unwrap_or_else(|| self.config.retry.backoff(0).max(Duration::from_secs(1)));
                self.throttle.pause(pause);
                Ok(Attempt::Retry {
                    after: Some(Duration::ZERO),
                    error: RequestError::Throttled { retry_after },
                })
            }
            500 | 502 | 503 | 504 => {
                if let Some(d) = retry_after {
                    self.throttle.pause(d.min(MAX_PAUSE));
                }
                Ok(Attempt::Retry {
                    after: retry_after.map(|_| Duration::ZERO),
                    error: RequestError::Status {
                        status,
                        message: None,
                    },
                })
            }
            401 => Ok(Attempt::Unauthorized),
            _ => {
                let text = response.text().await.unwrap_or_default();
                let message = graph_message(&text);
                // The function is in the URL this client built (`….getSmsLog(fromDateTime=…)`).
                let permission = Table::from_url_path(url.path())
                    .map_or(Table::PstnCalls.permission(), Table::permission);
                let url = redact_query(url);
                Err(match status {
                    403 => Error::Forbidden {
                        url,
                        permission,
                        message,
                    },
                    _ => Error::Graph {
                        url,
                        status,
                        message,
                    },
                })
            }
        }
    }
}

/// The URL of a page's `@odata.nextLink`, if it is one and stays on the scheme, host and port of
/// `graph_url`.
fn next_link_url(link: &str, graph_url: &Url) -> Result<Url> {
    let next = Url::parse(link).map_err(|e| Error::NextLink {
        link: link.to_owned(),
        reason: NextLinkRefusal::NotAUrl(e),
    })?;
    if !same_origin(&next, graph_url) {
        return Err(Error::NextLink {
            link: format!("{}://{}", next.scheme(), next.host_str().unwrap_or("")),
            reason: NextLinkRefusal::OtherHost {
                graph_url: graph_url.to_string(),
            },
        });
    }
    Ok(next)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A URL for messages: the query (`$skip` tokens, which can be long) dropped.
fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// Graph's `{"error":{"code":…,"message":…}}`, or the start of the body.
pub(crate) fn graph_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) => format!("{}: {}", e.error.code, e.error.message),
        Err(_) => body.chars().take(300).collect(),
    }
}

/// Refuses a URL that would carry secrets in clear text: only `https://`, or `http://` to a
/// loopback address of this machine.
fn require_tls(which: &'static str, url: &Url) -> Result<()> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Error::Insecure {
            which,
            url: url.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn credentials_go_only_over_tls_or_to_loopback() {
        let credentials = || Credentials::with_secret("t", "c", "s");
        let client = |graph: &str, login: &str| {
            GraphClient::new(
                GraphConfig::new(Url::parse(graph).unwrap(), Url::parse(login).unwrap()),
                credentials(),
            )
        };
        for (graph, login) in [
            (
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            ("http://127.0.0.1:8080", "http://localhost:9"),
            ("http://[::1]:8080", "http://127.9.9.9"),
        ] {
            assert!(client(graph, login).is_ok(), "{graph} {login}");
        }
        for (graph, login, which) in [
            (
                "http://graph.example.com",
                "https://login.example.com",
                "Graph URL",
            ),
            ("https://graph.example.com", "http://10.0.0.1", "login URL"),
            (
                "https://graph.example.com",
                "ftp://login.example.com",
                "login URL",
            ),
            (
                "http://localhost.example.com",
                "https://login.example.com",
                "Graph URL",
            ),
        ] {
            let Err(err) = client(graph, login) else {
                panic!("{graph} {login}: accepted");
            };
            assert!(
                matches!(&err, Error::Insecure { which: w, .. } if *w == which),
                "{graph} {login}: {err}"
            );
        }
    }

    /// A server on loopback that answers each request with what `answer` makes of its text: a
    /// whole HTTP response, or `None` to close the connection without a word.
    async fn serve(
        answer: impl Fn(&str) -> Option<String> + Send + 'static,
    ) -> (Url, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                if let Some(response) = answer(&request) {
                    socket.write_all(response.as_bytes()).await.unwrap();
                }
                socket.shutdown().await.unwrap();
            }
        });
        (url, server)
    }

    /// A response with `status`, extra `headers` and `body` (no Content-Length: the body ends
    /// when the connection closes).
    fn response(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}\r\n{body}"
        )
    }

    const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#;

    /// A server whose token endpoint works and whose Graph answers every GET with `get`.
    async fn graph(
        get: impl Fn() -> Option<String> + Send + 'static,
    ) -> (Url, tokio::task::JoinHandle<()>) {
        serve(move |request| {
            if request.starts_with("POST") {
                Some(response("200 OK", "", TOKEN))
            } else {
                get()
            }
        })
        .await
    }

    /// A client of `url` that retries twice, at once.
    fn client(url: &Url) -> GraphClient {
        let retry = RetryConfig {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            ..RetryConfig::default()
        };
        GraphClient::new(
            GraphConfig::new(url.clone(), url.clone()).with_retry(retry),
            Credentials::with_secret("t", "c", "s"),
        )
        .unwrap()
    }

    async fn fetch_error(url: &Url) -> Error {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        client(url)
            .fetch_day(Table::PstnCalls, day)
            .await
            .expect_err("must fail")
    }

    /// The error and its sources, as the binary prints them.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }

    #[tokio::test]
    async fn a_request_that_keeps_failing_gives_up_with_the_last_failure_typed() {
        let (url, server) =
            graph(|| Some(response("429 Too Many Requests", "Retry-After: 0\r\n", ""))).await;
        let e = fetch_error(&url).await;
        assert!(
            matches!(
                &e,
                Error::RetriesExhausted {
                    attempts: 3,
                    last: RequestError::Throttled {
                        retry_after: Some(d)
                    },
                    ..
                } if d.is_zero()
            ),
            "{e:?}"
        );
        assert!(
            chain(&e).ends_with(
                "after 3 attempts (re-run later: finished days are kept); last failure: 429 Too Many Requests"
            ),
            "{}",
            chain(&e)
        );
        server.abort();

        let (url, server) = graph(|| Some(response("503 Service Unavailable", "", ""))).await;
        let e = fetch_error(&url).await;
        assert!(
            matches!(
                &e,
                Error::RetriesExhausted {
                    last: RequestError::Status {
                        status: 503,
                        message: None
                    },
                    ..
                }
            ),
            "{e:?}"
        );
        server.abort();

        // Graph closes the connection without answering: a transport failure, reqwest's error and
        // the I/O error under it kept as sources.
        let (url, server) = graph(|| None).await;
        let e = fetch_error(&url).await;
        let Error::RetriesExhausted {
            last: RequestError::Transport(transport),
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(
            transport.url().is_none(),
            "the URL is said once, not per source"
        );
        let text = chain(&e);
        assert!(text.contains("last failure: no answer: "), "{text}");
        assert_eq!(text.matches(url.host_str().unwrap()).count(), 1, "{text}");
        server.abort();
    }

    #[tokio::test]
    async fn refusals_are_typed_and_not_retried() {
        let gets = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&gets);
        let (url, server) = graph(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Some(response(
                "403 Forbidden",
                "",
                r#"{"error":{"code":"Forbidden","message":"no role"}}"#,
            ))
        })
        .await;
        let e = fetch_error(&url).await;
        assert!(
            matches!(&e, Error::Forbidden { message, .. } if message == "Forbidden: no role"),
            "{e:?}"
        );
        // The test's window is of pstn_calls: the least privileged permission for it.
        assert!(
            e.to_string()
                .contains("CallRecord-PstnCalls.Read.All application permission"),
            "{e}"
        );
        assert_eq!(gets.load(Ordering::SeqCst), 1);
        server.abort();

        // The token endpoint refuses the secret: Entra ID's error, typed with its status.
        let (url, server) = serve(|_| {
            Some(response(
                "401 Unauthorized",
                "",
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret."}"#,
            ))
        })
        .await;
        let e = fetch_error(&url).await;
        assert!(
            matches!(
                &e,
                Error::Auth {
                    source: RequestError::Status { status: 401, message: Some(m) },
                    ..
                } if m.starts_with("invalid_client: AADSTS7000215")
            ),
            "{e:?}"
        );
        assert!(
            chain(&e).contains("--login-url): HTTP 401: invalid_client: AADSTS7000215"),
            "{}",
            chain(&e)
        );
        server.abort();
    }

    #[tokio::test]
    async fn an_unreachable_token_endpoint_keeps_the_connection_error() {
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let e = fetch_error(&url).await;
        let Error::Auth {
            source: RequestError::Transport(_),
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        let mut refused = false;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            refused |= s
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
            source = s.source();
        }
        assert!(refused, "the I/O error is in the chain: {}", chain(&e));
    }

    /// A server that answers the token request, then the first page GET with a body cut short and
    /// no Content-Length (as a dying proxy would), then whole pages.
    async fn flaky_server() -> (Url, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let gets = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&gets);
        let (url, server) = graph(move || {
            let body = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                r#"{"@odata.context":"x","value":[{"id":"a","#
            } else {
                r#"{"value":[{"id":"a","startDateTime":"2026-11-01T01:00:00Z"}]}"#
            };
            Some(response("200 OK", "", body))
        })
        .await;
        (url, gets, server)
    }

    use std::sync::Arc;

    #[tokio::test]
    async fn a_page_cut_short_without_content_length_is_fetched_again() {
        let (url, gets, server) = flaky_server().await;
        let client = GraphClient::new(
            GraphConfig::new(url.clone(), url),
            Credentials::with_secret("t", "c", "s"),
        )
        .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let window = client.fetch_day(Table::PstnCalls, day).await.unwrap();
        assert_eq!(window.pages.len(), 1);
        assert_eq!(window.pages[0].rows, 1);
        assert_eq!(gets.load(Ordering::SeqCst), 2);
        assert_eq!(client.stats().retries.load(Ordering::Relaxed), 1);
        server.abort();
    }

    /// A day whose pages never end stops at the page limit, before fetching the page past it,
    /// and says how many rows it had; the pages fetched are counted as they come.
    #[tokio::test]
    async fn a_day_stops_at_its_page_limit_with_the_rows_so_far() {
        // Page n holds n rows and links to page n + 1.
        let base = Arc::new(std::sync::OnceLock::<Url>::new());
        let gets = Arc::new(AtomicUsize::new(0));
        let (next_base, counter) = (Arc::clone(&base), Arc::clone(&gets));
        let (url, server) = graph(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let rows: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"id":"p{n}r{i}","startDateTime":"2026-11-01T01:00:00Z"}}"#))
                .collect();
            let next = next_base
                .get()?
                .join(&format!("page/{}?$skip={n}", n + 1))
                .ok()?;
            let body = format!(
                r#"{{"value":[{}],"@odata.nextLink":"{next}"}}"#,
                rows.join(",")
            );
            Some(response("200 OK", "", &body))
        })
        .await;
        base.set(url.clone()).unwrap();
        let client = GraphClient::new(
            GraphConfig::new(url.clone(), url).with_max_pages_per_day(2),
            Credentials::with_secret("t", "c", "s"),
        )
        .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut pages = client.day_pages(Table::PstnCalls, day).unwrap();
        assert_eq!(pages.pages_fetched(), 0);
        let (_, first) = pages.next_page().await.unwrap().expect("page 1");
        assert_eq!((first.rows, pages.pages_fetched()), (1, 1));
        let (_, second) = pages.next_page().await.unwrap().expect("page 2");
        assert_eq!((second.rows, pages.pages_fetched()), (2, 2));
        let e = pages
            .next_page()
            .await
            .expect_err("page 3 is past the limit");
        assert!(
            matches!(&e, Error::TooManyPages { limit: 2, rows: 3, url } if url.ends_with("/page/3")),
            "{e:?}"
        );
        assert_eq!(gets.load(Ordering::SeqCst), 2, "page 3 is not fetched");
        assert_eq!(client.stats().rows.load(Ordering::Relaxed), 3);
        server.abort();
    }

    /// A configured Graph URL and how else its host may be written.
    struct Base {
        url: &'static str,
        /// Other spellings of its host that a URL parser reads as the same host.
        same_hosts: &'static [&'static str],
    }

    const BASES: &[Base] = &[
        Base {
            url: "https://graph.microsoft.com",
            same_hosts: &[],
        },
        Base {
            url: "https://microsoftgraph.chinacloudapi.cn/",
            same_hosts: &[],
        },
        Base {
            url: "https://graph.microsoft.us:8443/",
            same_hosts: &[],
        },
        // The simulator's
        Base {
            url: "http://127.0.0.1:8080",
            same_hosts: &[
                "127.1",
                "127.0.1",
                "0x7f.0.0.1",
                "0x7F.1",
                "2130706433",
                "0177.0.0.1",
                "0x7f000001",
                "127.0.0.0x1",
                "127.0.0.1.",
            ],
        },
        Base {
            url: "http://[::1]:9000/",
            same_hosts: &[
                "[0:0:0:0:0:0:0:1]",
                "[::0001]",
                "[0::1]",
                "[::0:1]",
                "[0000:0000::1]",
            ],
        },
    ];

    /// A domain written another way that means the same host: each character as it is, in upper
    /// case, percent-encoded, fullwidth, or after a soft hyphen (which IDNA drops); a dot as an
    /// ideographic or fullwidth full stop.
    fn respelled(host: &str, how: &[u8]) -> String {
        let mut out = String::new();
        for (c, how) in host.chars().zip(how.iter().cycle()) {
            match (how % 8, c) {
                (1, c) => out.push(c.to_ascii_uppercase()),
                (2, c) => out.push_str(&format!("%{:02X}", c as u32)),
                (3, '.') => out.push('\u{3002}'),
                (4, '.') => out.push('\u{FF0E}'),
                (3 | 4, c) if c.is_ascii_alphanumeric() => {
                    out.push(char::from_u32(c.to_ascii_lowercase() as u32 + 0xFEE0).unwrap());
                }
                (5, c) => {
                    out.push('\u{AD}');
                    out.push(c);
                }
                (_, c) => out.push(c),
            }
        }
        out
    }

    /// Hosts that are not `host`, many of them close to it.
    fn other_hosts(host: &str) -> Vec<String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ipv4 = bare.parse::<std::net::Ipv4Addr>().is_ok();
        let mut others = vec![
            format!("{bare}.evil.com"),
            format!("evil{bare}"),
            format!("x{bare}"),
            format!("{bare}."),
            format!("{bare}.."),
            format!("{bare}%2eevil.com"),
            format!("{bare}%00"),
            bare.replacen('o', "\u{43E}", 1).replacen('a', "\u{430}", 1),
            bare.replacen('.', "", 1),
            bare[1..].to_owned(),
            "evil.com".to_owned(),
            "localhost".to_owned(),
            "127.0.0.2".to_owned(),
            "0.0.0.0".to_owned(),
            "[::2]".to_owned(),
            "[::ffff:7f00:1]".to_owned(),
            "graph.microsoft.com.evil.com".to_owned(),
            "login.microsoftonline.com".to_owned(),
        ];
        // An IPv4 address may end in a dot; a domain that does is another name to TLS and HTTP.
        others.retain(|h| !(ipv4 && *h == format!("{bare}.")));
        others
    }

    /// A next link built from parts, and whether it names the configured scheme, host and port.
    #[derive(Debug, Clone)]
    struct Link {
        base: &'static str,
        link: String,
        same_origin: bool,
    }

    fn link() -> impl Strategy<Value = Link> {
        use proptest::sample::select;
        ((
            0..BASES.len(),
            any::<bool>(),
            prop_oneof![3 => Just(None), 1 => select(vec!["http", "https", "wss", "ws", "ftp", "file", "foo", "javascript", "httpss"]).prop_map(Some)],
            proptest::collection::vec(any::<bool>(), 8),
            select(vec!["://", "://", ":/", ":", ":///", ":\\\\", ":/\\", "://\t"]),
            prop_oneof![
                2 => Just(None),
                1 => select(vec![
                    "graph.microsoft.com", "graph.microsoft.com:443", "127.0.0.1:8080", "[::1]",
                    "evil.com", "a%40b", "", "x@y", ":", "user:p@ss",
                ]).prop_map(Some),
            ]),
            (
            // the host: 0 as configured, 1 respelled, 2 another
            prop_oneof![2 => Just(0u8), 2 => Just(1u8), 3 => Just(2u8)],
            proptest::collection::vec(any::<u8>(), 1..6),
            any::<proptest::sample::Index>(),
            "[a-z][a-z0-9-]{0,6}(\\.[a-z][a-z0-9-]{0,6}){0,2}\\.[a-z]{2,4}",
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(String::new())),
                1 => Just(Some("default".to_owned())),
                1 => Just(Some("configured".to_owned())),
                1 => (1u32..=70000).prop_map(|p| Some(p.to_string())),
                1 => select(vec!["0443", "00080", "8080x", "-1", "99999999999"]).prop_map(|p| Some(p.to_owned())),
            ],
            select(vec![
                "", "/", "/v1.0/communications/callRecords/getPstnCalls?$skip=1", "/@evil.com",
                "\\@evil.com", "?@evil.com", "#@evil.com", "//evil.com", "/..%2f..%2fevil.com",
                "?next=https://evil.com/", "/%2e%2e/evil", "\\\\evil.com",
            ]),
            proptest::collection::vec((any::<proptest::sample::Index>(), select(vec!['\t', '\n', '\r'])), 0..3),
        ))
            .prop_map(
                |((base, upper, scheme, case, sep, userinfo), (host_kind, how, pick, random_domain, port, rest, noise))| {
                    let base_url = Url::parse(BASES[base].url).unwrap();
                    let base_scheme = base_url.scheme().to_owned();
                    let base_host = base_url.host_str().unwrap().to_owned();
                    let base_port = base_url.port_or_known_default().unwrap();
                    let scheme_text = scheme.unwrap_or(&base_scheme);
                    let scheme_text: String = scheme_text
                        .chars()
                        .zip(case.iter().cycle())
                        .map(|(c, up)| if *up && upper { c.to_ascii_uppercase() } else { c })
                        .collect();
                    let same_scheme = scheme_text.eq_ignore_ascii_case(&base_scheme);
                    let special = ["http", "https", "ws", "wss", "ftp"]
                        .contains(&scheme_text.to_ascii_lowercase().as_str());
                    let (host, same_host) = match host_kind {
                        0 => (base_host.clone(), true),
                        1 if BASES[base].same_hosts.is_empty() => (respelled(&base_host, &how), true),
                        1 => (pick.get(BASES[base].same_hosts).to_string(), true),
                        _ => {
                            let mut others = other_hosts(&base_host);
                            others.push(random_domain.clone());
                            let other = pick.get(&others).clone();
                            let same = other.eq_ignore_ascii_case(&base_host);
                            (other, same)
                        }
                    };
                    let default_port = match scheme_text.to_ascii_lowercase().as_str() {
                        "http" | "ws" => Some(80),
                        "https" | "wss" => Some(443),
                        "ftp" => Some(21),
                        _ => None,
                    };
                    let port_text = match port.as_deref() {
                        Some("default") => default_port.map(|p| p.to_string()),
                        Some("configured") => Some(base_port.to_string()),
                        _ => port,
                    };
                    // The port the link names: none or empty is the scheme's default.
                    let effective_port = match port_text.as_deref() {
                        None | Some("") => default_port,
                        Some(p) => p.parse::<u16>().ok(),
                    };
                    let mut link = format!("{scheme_text}{sep}");
                    if let Some(userinfo) = userinfo {
                        link.push_str(userinfo);
                        link.push('@');
                    }
                    link.push_str(&host);
                    if let Some(p) = &port_text {
                        link.push(':');
                        link.push_str(p);
                    }
                    link.push_str(rest);
                    // Tabs and newlines anywhere in a URL are dropped by its parser.
                    for (at, c) in noise {
                        let boundaries: Vec<usize> = (0..=link.len()).filter(|i| link.is_char_boundary(*i)).collect();
                        link.insert(*at.get(&boundaries), c);
                    }
                    Link {
                        base: BASES[base].url,
                        same_origin: same_scheme
                            && special
                            && same_host
                            && effective_port == Some(base_port),
                        link,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 2000,
            failure_persistence: None,
            ..Default::default()
        })]

        /// A next link is followed only when it names the configured Graph scheme, host and port,
        /// however it is written (case, percent-encoding, IDNA, other IP spellings, a user name
        /// that looks like the host, an `@` or a backslash after it, tabs inside); any other host,
        /// port or scheme is refused.
        #[test]
        fn prop_next_links_stay_on_the_graph_origin(link in link()) {
            let graph = Url::parse(link.base).unwrap();
            match next_link_url(&link.link, &graph) {
                Ok(url) => {
                    prop_assert!(link.same_origin, "followed {:?} to {}", link.link, url);
                    prop_assert_eq!(url.origin(), graph.origin());
                }
                Err(e) => {
                    prop_assert!(!link.same_origin, "refused {:?}: {}", link.link, e);
                    prop_assert!(matches!(e, Error::NextLink { .. }), "{}", e);
                }
            }
        }

        /// Any text at all: a link that is followed has the configured origin.
        #[test]
        fn prop_any_next_link_followed_has_the_graph_origin(
            base in 0..BASES.len(),
            link in "(https?|HTTPS|ftp)?(:|://|:///|:\\\\)?([a-z@:.%0-9\\[\\]/\\\\#?]|graph\\.microsoft\\.com|127\\.0\\.0\\.1|\\[::1\\]|:443|:8080|:9000|\u{3002}|\t){0,12}",
        ) {
            let graph = Url::parse(BASES[base].url).unwrap();
            if let Ok(url) = next_link_url(&link, &graph) {
                prop_assert_eq!(url.origin(), graph.origin(), "{:?}", link);
                prop_assert_eq!(url.host_str(), graph.host_str(), "{:?}", link);
            }
        }
    }
}
