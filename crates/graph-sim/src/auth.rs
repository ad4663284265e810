//! The Microsoft identity platform side: the client-credentials token endpoint (secret or
//! certificate assertion), and the access tokens Graph requests must carry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::config::SimConfig;
use crate::rng::hash;

/// The only `client_assertion_type` there is.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on an assertion's `nbf`.
const SKEW_SECS: i64 = 300;

/// A refusal of the token endpoint, in the identity platform's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AadError {
    /// 400 or 401.
    pub status: u16,
    /// OAuth error (`invalid_client`, …).
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    pub description: String,
}

impl AadError {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", code, description)
    }

    fn missing(parameter: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }
}

/// A token the endpoint issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
}

/// Handles `POST /{tenant}/oauth2/v2.0/token` with a form body.
pub(crate) fn token_request(
    config: &SimConfig,
    tokens: &Tokens,
    tenant: &str,
    form: &[u8],
) -> Result<Issued, AadError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(form).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if !tenant.eq_ignore_ascii_case(&config.tenant_id) {
        return Err(AadError::new(
            400,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."
            ),
        ));
    }
    match field("grant_type") {
        None => return Err(AadError::missing("grant_type")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(AadError::new(
                400,
                "unsupported_grant_type",
                70_003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    }
    let client_id = field("client_id").ok_or_else(|| AadError::missing("client_id"))?;
    if client_id != config.client_id {
        // The identity platform answers an unknown application with 400, not 401.
        return Err(AadError::new(
            400,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    }
    let scope = field("scope").ok_or_else(|| AadError::missing("scope"))?;
    if !scope.ends_with("/.default") {
        return Err(AadError::new(
            400,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a \
                 scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }
    match (field("client_assertion"), field("client_secret")) {
        (Some(assertion), _) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return Err(AadError::new(
                    400,
                    "invalid_request",
                    50_027,
                    format!("client_assertion_type must be '{JWT_BEARER}'."),
                ));
            }
            verify_assertion(config, tenant, assertion, unix_now())?;
        }
        (None, Some(secret)) => {
            if config.client_secret.is_empty() || secret != config.client_secret {
                return Err(AadError::invalid_client(
                    7_000_215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the \
                         client secret value, not the client secret ID, for a secret added to app \
                         '{client_id}'."
                    ),
                ));
            }
        }
        (None, None) => {
            return Err(AadError::invalid_client(
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    }
    Ok(Issued {
        access_token: tokens.issue(config.token_lifetime),
        expires_in: config.token_lifetime.as_secs(),
    })
}

/// Checks a certificate assertion as the identity platform does: PS256, a `x5t#S256` naming the
/// registered certificate, a signature by that certificate's key, then audience, issuer and
/// subject, validity time and a `jti`.
fn verify_assertion(config: &SimConfig, tenant: &str, jwt: &str, now: i64) -> Result<(), AadError> {
    let malformed = || AadError::invalid_client(50_027, "JWT token is invalid or malformed.");
    let mut parts = jwt.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let decode = |part: &str| -> Result<Value, AadError> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed())?;
        serde_json::from_slice(&bytes).map_err(|_| malformed())
    };
    let header = decode(header_b64)?;
    // The platform still takes the legacy RS256 + SHA-1 `x5t` form from old clients; the
    // simulator accepts only the current PS256 + `x5t#S256` form, so a client that regresses to
    // the legacy form fails its tests.
    if header["alg"].as_str() != Some("PS256") {
        return Err(AadError::invalid_client(
            5_002_738,
            format!(
                "Invalid JWT token. '{}' is not a supported signature algorithm. Supported signing \
                 algorithms are: 'PS256'.",
                header["alg"].as_str().unwrap_or("")
            ),
        ));
    }
    let not_registered = |reason: &str| {
        AadError::invalid_client(
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered \
                 on application. [Reason - {reason}, Thumbprint of key used by client: '{}']",
                header["x5t#S256"].as_str().unwrap_or("")
            ),
        )
    };
    let certificate = config
        .assertion_certificate_der
        .as_deref()
        .ok_or_else(|| not_registered("The application has no certificate."))?;
    let registered =
        URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, certificate));
    if header["x5t#S256"].as_str() != Some(registered.as_str()) {
        return Err(not_registered("The key was not found."));
    }
    let certificate = rustls_pki_types::CertificateDer::from(certificate);
    let certificate = webpki::EndEntityCert::try_from(&certificate)
        .map_err(|_| not_registered("The registered certificate cannot be read."))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| malformed())?;
    let signed = &jwt.as_bytes()[..header_b64.len() + 1 + claims_b64.len()];
    certificate
        .verify_signature(
            webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            signed,
            &signature,
        )
        .map_err(|_| {
            AadError::invalid_client(700_027, "Client assertion failed signature validation.")
        })?;

    let claims = decode(claims_b64)?;
    let audience = claims["aud"].as_str().unwrap_or_default();
    let token_path = format!("/{tenant}/oauth2/v2.0/token");
    if !audience.ends_with(&token_path) {
        return Err(AadError::invalid_client(
            50_012,
            format!(
                "Client assertion audience claim '{audience}' does not match the token endpoint '…{token_path}'."
            ),
        ));
    }
    if claims["iss"].as_str() != Some(&config.client_id)
        || claims["sub"].as_str() != Some(&config.client_id)
    {
        return Err(AadError::invalid_client(
            700_021,
            "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must \
             both be the client id.",
        ));
    }
    let expires = claims["exp"].as_i64().ok_or_else(malformed)?;
    let not_before = claims["nbf"].as_i64().unwrap_or(i64::MIN);
    if expires <= now || not_before > now + SKEW_SECS {
        return Err(AadError::invalid_client(
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid \
                 from {not_before}, expiry time of assertion {expires}."
            ),
        ));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(malformed());
    }
    Ok(())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What a bearer token is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenState {
    Valid,
    Expired,
    Unknown,
}

/// Access tokens issued by this simulator and when they expire.
#[derive(Debug)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, Instant>>,
    /// Makes tokens differ between simulator instances.
    nonce: u64,
    counter: AtomicU64,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

impl Tokens {
    pub(crate) fn new() -> Self {
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let nonce = hash(&[
            clock,
            INSTANCES.fetch_add(1, Ordering::Relaxed),
            u64::from(std::process::id()),
        ]);
        Self {
            issued: Mutex::new(HashMap::new()),
            nonce,
            counter: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A value unique to this instance.
    pub(crate) fn nonce(&self) -> u64 {
        self.nonce
    }

    /// Issues an opaque, random-looking token valid for `lifetime`.
    pub(crate) fn issue(&self, lifetime: Duration) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let bytes: Vec<u8> = (0..8)
            .flat_map(|k| hash(&[self.nonce, n, k]).to_le_bytes())
            .collect();
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.lock().insert(token.clone(), Instant::now() + lifetime);
        token
    }

    /// Whether `token` is one of ours and still valid.
    pub(crate) fn check(&self, token: &str) -> TokenState {
        match self.lock().get(token) {
            Some(expiry) if Instant::now() < *expiry => TokenState::Valid,
            Some(_) => TokenState::Expired,
            None => TokenState::Unknown,
        }
    }

    /// Expires `token` now, if it is ours.
    pub(crate) fn expire(&self, token: &str) {
        if let Some(expiry) = self.lock().get_mut(token) {
            *expiry = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    fn config() -> SimConfig {
        SimConfig::default()
    }

    fn request(extra: &[(&str, &str)]) -> Result<Issued, AadError> {
        let c = config();
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        pairs.extend_from_slice(extra);
        token_request(&c, &Tokens::new(), &c.tenant_id, &form(&pairs))
    }

    #[test]
    fn secrets_are_checked() {
        let c = config();
        let issued = request(&[("client_secret", c.client_secret.as_str())]).unwrap();
        assert_eq!(issued.expires_in, 3599);
        let wrong = request(&[("client_secret", "nope")]).unwrap_err();
        assert_eq!(
            (wrong.status, wrong.error, wrong.code),
            (401, "invalid_client", 7_000_215)
        );
        assert_eq!(request(&[]).unwrap_err().code, 7_000_218);
    }

    #[test]
    fn requests_are_validated_like_the_identity_platform() {
        let c = config();
        let tokens = Tokens::new();
        let base = |scope: &str, client: &str| {
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("scope", scope),
                ("client_secret", c.client_secret.as_str()),
            ])
        };
        let scope = "https://graph.microsoft.com/.default";
        let err = |tenant: &str, body: &[u8]| token_request(&c, &tokens, tenant, body).unwrap_err();
        assert_eq!(err("other-tenant", &base(scope, &c.client_id)).code, 90_002);
        assert_eq!(
            err(
                &c.tenant_id,
                &base(
                    "https://graph.microsoft.com/CallRecords.Read.All",
                    &c.client_id
                )
            )
            .code,
            1_002_012
        );
        assert_eq!(err(&c.tenant_id, &base(scope, "someone-else")).status, 400);
        assert_eq!(
            err(&c.tenant_id, b"grant_type=password").error,
            "unsupported_grant_type"
        );
    }

    #[test]
    fn assertions_without_a_key_or_malformed_are_refused() {
        let unsigned = "eyJhbGciOiJQUzI1NiJ9.e30.AAAA";
        let err = request(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", unsigned),
        ])
        .unwrap_err();
        assert_eq!((err.status, err.code), (401, 700_027));
        let err = request(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "x.y"),
        ])
        .unwrap_err();
        assert_eq!(err.code, 50_027);
        let err = request(&[
            ("client_assertion_type", "other"),
            ("client_assertion", unsigned),
        ])
        .unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn tokens_expire() {
        let tokens = Tokens::new();
        let token = tokens.issue(Duration::from_secs(60));
        assert_eq!(tokens.check(&token), TokenState::Valid);
        assert_eq!(tokens.check("forged"), TokenState::Unknown);
        tokens.expire(&token);
        assert_eq!(tokens.check(&token), TokenState::Expired);
        assert_eq!(
            tokens.check(&tokens.issue(Duration::ZERO)),
            TokenState::Expired
        );
        assert_ne!(
            Tokens::new().issue(Duration::ZERO),
            Tokens::new().issue(Duration::ZERO)
        );
    }
}
