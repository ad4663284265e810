//! OAuth2 client credentials for Graph (application permissions): a client secret, or a
//! certificate signing a JWT client assertion. Tokens are cached and renewed before they expire.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SecureRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::retry::RetryConfig;
use crate::{Error, RequestError, Result};

/// Renew a cached token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// How the application proves who it is.
pub enum Secret {
    /// A client secret.
    ClientSecret(String),
    /// A certificate: the RSA private key and the SHA-256 thumbprint of the certificate.
    Certificate {
        /// The private key that signs assertions.
        key: Arc<RsaKeyPair>,
        /// `x5t#S256`: base64url of the SHA-256 of the certificate's DER.
        thumbprint_s256: String,
    },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::ClientSecret(_) => f.write_str("ClientSecret(<redacted>)"),
            Secret::Certificate {
                thumbprint_s256, ..
            } => {
                write!(f, "Certificate {{ x5t#S256: {thumbprint_s256} }}")
            }
        }
    }
}

/// The names of the environment variables that hold an app's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVars {
    pub tenant_id: std::borrow::Cow<'static, str>,
    pub client_id: std::borrow::Cow<'static, str>,
    pub client_secret: std::borrow::Cow<'static, str>,
    pub client_certificate_path: std::borrow::Cow<'static, str>,
}

impl CredentialVars {
    /// The Azure SDK's names.
    pub const AZURE: CredentialVars = CredentialVars {
        tenant_id: std::borrow::Cow::Borrowed("AZURE_TENANT_ID"),
        client_id: std::borrow::Cow::Borrowed("AZURE_CLIENT_ID"),
        client_secret: std::borrow::Cow::Borrowed("AZURE_CLIENT_SECRET"),
        client_certificate_path: std::borrow::Cow::Borrowed("AZURE_CLIENT_CERTIFICATE_PATH"),
    };
}

/// An application's credentials for one tenant.
#[derive(Debug)]
pub struct Credentials {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The secret or certificate.
    pub secret: Secret,
}

impl Credentials {
    /// Credentials with a client secret.
    pub fn with_secret(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Credentials {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret: Secret::ClientSecret(secret.into()),
        }
    }

    /// Reads the Azure SDK variables: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, and
    /// `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM file holding the private
    /// key and the certificate).
    pub fn from_env() -> Result<Self> {
        Self::from_env_names(&CredentialVars::AZURE)
    }

    /// [`Credentials::from_env`] from the variables `names` gives (a config file may name others).
    pub fn from_env_names(names: &CredentialVars) -> Result<Self> {
        Self::from_vars(names, |name| std::env::var(name).ok())
    }

    /// [`Credentials::from_env`] with the variables read by `lookup`.
    fn from_vars(names: &CredentialVars, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let missing = |what: &str| Error::Credentials {
            message: format!("{what} is not set"),
        };
        let tenant_id = var(&names.tenant_id).ok_or_else(|| missing(&names.tenant_id))?;
        let client_id = var(&names.client_id).ok_or_else(|| missing(&names.client_id))?;
        let secret = match (
            var(&names.client_secret),
            var(&names.client_certificate_path),
        ) {
            (Some(secret), _) => Secret::ClientSecret(secret),
            (None, Some(path)) => {
                let pem = match std::fs::read(&path) {
                    Ok(pem) => pem,
                    Err(source) => return Err(Error::CertificateFile { path, source }),
                };
                match certificate_secret(&pem) {
                    Ok(secret) => secret,
                    Err(source) => return Err(Error::Certificate { path, source }),
                }
            }
            (None, None) => {
                return Err(Error::Credentials {
                    message: format!(
                        "neither {} nor {} is set",
                        names.client_secret, names.client_certificate_path
                    ),
                });
            }
        };
        Ok(Credentials {
            tenant_id,
            client_id,
            secret,
        })
    }
}

/// Why a PEM file gives no usable certificate credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No private key could be read.
    #[error("no private key in the PEM file")]
    NoKey(#[source] rustls_pki_types::pem::Error),
    /// The key is not RSA.
    #[error("the private key is not an RSA key")]
    NotRsa,
    /// ring refused the RSA key.
    #[error("the private key is not a usable RSA key ({0})")]
    UnusableKey(ring::error::KeyRejected),
    /// There is no certificate after the key.
    #[error("no certificate in the PEM file: put the certificate after the key")]
    NoCertificate,
    /// The certificate cannot be read.
    #[error("the certificate cannot be read")]
    BadCertificate(#[source] rustls_pki_types::pem::Error),
}

/// Reads an RSA private key (PKCS#8 or PKCS#1) and its certificate from one PEM file.
pub fn certificate_secret(pem: &[u8]) -> Result<Secret, CertificateError> {
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(CertificateError::NoKey)?;
    let key = match &key {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err(CertificateError::NotRsa),
    }
    .map_err(CertificateError::UnusableKey)?;
    let cert = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or(CertificateError::NoCertificate)?
        .map_err(CertificateError::BadCertificate)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    Ok(Secret::Certificate {
        key: Arc::new(key),
        thumbprint_s256: URL_SAFE_NO_PAD.encode(digest.as_ref()),
    })
}

#[derive(Clone)]
struct Token {
    value: Arc<str>,
    renew_at: Instant,
}

/// Gets, caches and renews access tokens for one Graph resource.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    scope: String,
    credentials: Credentials,
    cached: tokio::sync::Mutex<Option<Token>>,
    issued: AtomicU64,
    retry: RetryConfig,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The largest token response accepted (a token is a few kilobytes).
const MAX_TOKEN_RESPONSE_BYTES: u64 = 64 << 10;

/// The longest a token is kept: Entra ID issues tokens for 60-90 minutes, so a larger
/// `expires_in` is not believed (and an absurd one must not overflow the clock).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long after it is issued a token with this `expires_in` is renewed: [`RENEW_BEFORE`] before
/// it expires (or halfway, for a short one), never later than [`MAX_TOKEN_LIFETIME`].
fn renew_after(expires_in: Option<u64>) -> Duration {
    let lifetime = Duration::from_secs(expires_in.unwrap_or(3599)).min(MAX_TOKEN_LIFETIME);
    lifetime.saturating_sub(RENEW_BEFORE.min(lifetime / 2))
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(serde::Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    /// A token source for `graph_url`'s `/.default` scope, from `login_url`'s token endpoint.
    pub fn new(
        http: reqwest::Client,
        login_url: &str,
        graph_url: &str,
        credentials: Credentials,
    ) -> Self {
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            login_url.trim_end_matches('/'),
            credentials.tenant_id
        );
        TokenSource {
            http,
            token_url,
            scope: format!("{}/.default", graph_url.trim_end_matches('/')),
            credentials,
            cached: tokio::sync::Mutex::new(None),
            issued: AtomicU64::new(0),
            retry: RetryConfig::default(),
        }
    }

    /// Retries transient failures of the token endpoint with `retry` (the client's policy).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Tokens obtained so far (the first one and every renewal).
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a new one when it is about to expire.
    pub async fn token(&self) -> Result<Arc<str>> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && t.renew_at > Instant::now()
        {
            return Ok(Arc::clone(&t.value));
        }
        let fresh = self.request().await?;
        let value = Arc::clone(&fresh.value);
        *cached = Some(fresh);
        Ok(value)
    }

    /// A new token after Graph rejected `stale` (401). If another request already renewed it,
    /// that newer token is returned without asking again.
    pub async fn renew(&self, stale: &str) -> Result<Arc<str>> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && &*t.value != stale
            && t.renew_at > Instant::now()
        {
            return Ok(Arc::clone(&t.value));
        }
        let fresh = self.request().await?;
        let value = Arc::clone(&fresh.value);
        *cached = Some(fresh);
        Ok(value)
    }

    /// Asks the token endpoint for a token, retrying its transient failures (429, 500, 502, 503,
    /// 504, a body cut off) as Graph's are retried: `Retry-After` when given, else exponential
    /// back-off, within [`RetryConfig`]'s limits.
    async fn request(&self) -> Result<Token> {
        let retry = &self.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let (after, error) = match self.request_once().await? {
                Ok(token) => return Ok(token),
                Err(transient) => transient,
            };
            if attempt >= retry.max_retries || started.elapsed() >= retry.retry_timeout {
                return Err(Error::RetriesExhausted {
                    url: self.token_url.clone(),
                    attempts: attempt + 1,
                    last: error,
                });
            }
            let delay = after.map_or_else(|| retry.backoff(attempt), |d| d.min(retry.max_backoff));
            tracing::debug!(url = %self.token_url, ?error, ?delay, "retrying the token request");
            attempt += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// One token request: a token, or a transient failure (with the `Retry-After` asked for) to
    /// retry, or an error to stop at.
    async fn request_once(
        &self,
    ) -> Result<std::result::Result<Token, (Option<Duration>, RequestError)>> {
        let c = &self.credentials;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", c.client_id.clone()),
            ("scope", self.scope.clone()),
        ];
        match &c.secret {
            Secret::ClientSecret(secret) => form.push(("client_secret", secret.clone())),
            Secret::Certificate {
                key,
                thumbprint_s256,
            } => {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", self.assertion(key, thumbprint_s256)?));
            }
        }
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let failed = |source: RequestError| Error::Auth {
            url: self.token_url.clone(),
            source,
        };
        let response = self
            .http
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        // A connection that cannot be made fails at once: on the login host that is a wrong
        // --login-url or network far more often than a passing fault (Graph's are retried).
        let response = response.map_err(|e| failed(RequestError::Transport(e.without_url())))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::parse_retry_after);
        let text = match crate::client::read_capped(response, MAX_TOKEN_RESPONSE_BYTES).await {
            Ok(Some(body)) => String::from_utf8_lossy(&body).into_owned(),
            Ok(None) => {
                return Err(Error::TooLarge {
                    url: self.token_url.clone(),
                    limit: MAX_TOKEN_RESPONSE_BYTES,
                    what: "a token response",
                });
            }
            Err(e) => return Ok(Err((None, RequestError::CutOff(e.without_url())))),
        };
        if matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) {
            let error = if status.as_u16() == 429 {
                RequestError::Throttled { retry_after }
            } else {
                RequestError::Status {
                    status: status.as_u16(),
                    message: serde_json::from_str::<TokenError>(&text)
                        .ok()
                        .map(|e| format!("{}: {}", e.error, e.error_description)),
                }
            };
            return Ok(Err((retry_after, error)));
        }
        if !status.is_success() {
            let detail = serde_json::from_str::<TokenError>(&text)
                .map(|e| format!("{}: {}", e.error, e.error_description))
                .unwrap_or_else(|_| text.chars().take(300).collect());
            return Err(failed(RequestError::Status {
                status: status.as_u16(),
                message: Some(detail),
            }));
        }
        let parsed: TokenResponse =
            serde_json::from_str(&text).map_err(|e| failed(RequestError::Malformed(e)))?;
        self.issued.fetch_add(1, Ordering::Relaxed);
        Ok(Ok(Token {
            value: parsed.access_token.into(),
            renew_at: Instant::now() + renew_after(parsed.expires_in),
        }))
    }

    /// The signed JWT client assertion (PS256, `x5t#S256`).
    fn assertion(&self, key: &RsaKeyPair, thumbprint: &str) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let rng = ring::rand::SystemRandom::new();
        let mut jti = [0u8; 16];
        rng.fill(&mut jti).map_err(|_| Error::Signing {
            what: "getting system randomness for the client assertion",
        })?;
        let header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
        let claims = serde_json::json!({
            "aud": self.token_url,
            "iss": self.credentials.client_id,
            "sub": self.credentials.client_id,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; key.public().modulus_len()];
        key.sign(
            &RSA_PSS_SHA256,
            &rng,
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| Error::Signing {
            what: "signing the client assertion",
        })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_expires_in_gives_a_renewal_time_within_a_day() {
        let renew = |e| renew_after(Some(e)).as_secs();
        assert_eq!(renew(3599), 3599 - RENEW_BEFORE.as_secs());
        assert_eq!(renew(2), 1, "a short token is renewed halfway");
        assert_eq!(renew(0), 0);
        for absurd in [u64::MAX, u64::MAX / 2, 10u64.pow(12)] {
            assert_eq!(renew(absurd), 24 * 3600 - RENEW_BEFORE.as_secs());
            // What `request` does with it: no overflow.
            let _ = Instant::now() + renew_after(Some(absurd));
        }
        assert_eq!(renew_after(None).as_secs(), 3599 - RENEW_BEFORE.as_secs());
    }

    #[test]
    fn the_scope_is_the_graph_host_of_the_cloud_and_secrets_are_redacted() {
        let creds = Credentials::with_secret("tenant-1", "client-1", "hunter2");
        assert!(!format!("{creds:?}").contains("hunter2"));
        let source = TokenSource::new(
            reqwest::Client::new(),
            crate::Cloud::UsGov.login_url(),
            crate::Cloud::UsGov.graph_url(),
            creds,
        );
        assert_eq!(
            source.token_url,
            "https://login.microsoftonline.us/tenant-1/oauth2/v2.0/token"
        );
        assert_eq!(source.scope, "https://graph.microsoft.us/.default");
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn a_certificate_file_that_cannot_be_used_is_named_with_the_cause() {
        let dir = std::env::temp_dir().join(format!("pstn-lake-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let only_key = dir.join("key-only.pem");
        std::fs::write(&only_key, "not a pem").unwrap();
        let vars = |path: &std::path::Path| {
            let path = path.to_str().unwrap().to_owned();
            move |name: &str| match name {
                "AZURE_TENANT_ID" | "AZURE_CLIENT_ID" => Some("x".to_owned()),
                "AZURE_CLIENT_SECRET" => Some(" ".to_owned()),
                "AZURE_CLIENT_CERTIFICATE_PATH" => Some(path.clone()),
                _ => None,
            }
        };
        let missing = dir.join("missing.pem");
        let e = Credentials::from_vars(&CredentialVars::AZURE, vars(&missing)).unwrap_err();
        assert!(
            matches!(&e, Error::CertificateFile { path, source } if path.ends_with("missing.pem") && source.kind() == std::io::ErrorKind::NotFound),
            "{e:?}"
        );
        let e = Credentials::from_vars(&CredentialVars::AZURE, vars(&only_key)).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Certificate {
                    source: CertificateError::NoKey(_),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("key-only.pem` needs an RSA private key"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Known answer: the `x5t#S256` in the assertion header is what openssl computes from the
    /// certificate, outside this code.
    #[test]
    fn the_assertion_names_the_certificate_by_the_thumbprint_openssl_computes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/test-credentials/test-app.pem"
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; openssl x509 -in '{path}' -outform DER \
                 | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='"
            ))
            .output()
            .expect("bash runs");
        let openssl = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && openssl.len() == 43,
            "openssl (needed by this test) failed: {openssl:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = certificate_secret(&std::fs::read(path).unwrap()).unwrap();
        let Secret::Certificate {
            key,
            thumbprint_s256,
        } = &secret
        else {
            panic!("not a certificate")
        };
        let source = TokenSource::new(
            reqwest::Client::new(),
            crate::Cloud::Global.login_url(),
            crate::Cloud::Global.graph_url(),
            Credentials {
                tenant_id: "tenant-1".into(),
                client_id: "client-1".into(),
                secret: Secret::ClientSecret(String::new()),
            },
        );
        let jwt = source.assertion(key, thumbprint_s256).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["x5t#S256"], openssl.as_str());
        assert_eq!(header["alg"], "PS256");
    }

    #[test]
    fn a_certificate_pem_gives_a_key_and_thumbprint() {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/test-credentials/test-app.pem"
        ))
        .unwrap();
        let Secret::Certificate {
            thumbprint_s256, ..
        } = certificate_secret(&pem).unwrap()
        else {
            panic!("not a certificate")
        };
        assert_eq!(thumbprint_s256.len(), 43, "base64url of 32 bytes");
        let only_key: Vec<u8> = String::from_utf8(pem)
            .unwrap()
            .split("-----BEGIN CERTIFICATE-----")
            .next()
            .unwrap()
            .into();
        assert!(matches!(
            certificate_secret(&only_key),
            Err(CertificateError::NoCertificate)
        ));
        assert!(matches!(
            certificate_secret(b"garbage"),
            Err(CertificateError::NoKey(_))
        ));
    }
}
