//! The token endpoint: client secrets and certificate assertions.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pstn_lake_graph_sim::{ApiVersion, Function, RunningSim};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::{client, config, form_body, start};

/// A throwaway 2048-bit RSA key (PKCS#8) that no certificate names, generated for these tests.
fn other_key() -> RsaKeyPair {
    let text: String = include_str!("fixtures/test-rsa-2048.pk8.b64")
        .split_whitespace()
        .collect();
    RsaKeyPair::from_pkcs8(&STANDARD.decode(text).unwrap()).unwrap()
}

fn credentials(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/test-credentials")
        .join(file)
}

/// The test application's key (`data/test-credentials/test-app.pem`).
fn app_key() -> RsaKeyPair {
    let pem = std::fs::read(credentials("test-app.pem")).unwrap();
    match PrivateKeyDer::from_pem_slice(&pem).unwrap() {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).unwrap(),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()).unwrap(),
        other => panic!("not an RSA key: {other:?}"),
    }
}

/// The test application's certificate, DER, as registered on the app.
fn app_certificate() -> Vec<u8> {
    std::fs::read(credentials("test-app.cer")).unwrap()
}

/// base64url(SHA-256(`der`)): the `x5t#S256` of a certificate.
fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, der))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A client assertion JWT naming the certificate `x5t` and signed with `key`.
fn assertion(key: &RsaKeyPair, alg: &str, x5t: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "x5t#S256": x5t});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let encoding: &'static dyn RsaEncoding = if alg == "PS256" {
        &RSA_PSS_SHA256
    } else {
        &RSA_PKCS1_SHA256
    };
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        encoding,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims(sim: &RunningSim) -> Value {
    let client_id = &sim.config().client_id;
    json!({
        "aud": format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", sim.config().tenant_id),
        "iss": client_id, "sub": client_id, "jti": "1", "nbf": now(), "iat": now(), "exp": now() + 600,
    })
}

async fn request(sim: &RunningSim, credential: &[(&str, &str)]) -> (u16, Value) {
    let mut pairs = vec![
        ("grant_type", "client_credentials"),
        ("client_id", sim.config().client_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    pairs.extend_from_slice(credential);
    let response = client()
        .post(sim.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&pairs))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, crate::json(response).await)
}

async fn with_assertion(sim: &RunningSim, jwt: &str) -> (u16, Value) {
    let kind = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    request(
        sim,
        &[("client_assertion_type", kind), ("client_assertion", jwt)],
    )
    .await
}

#[tokio::test]
async fn a_client_secret_gets_a_token_that_graph_accepts() {
    let sim = start(config(10, 10)).await;
    let (status, body) = request(
        &sim,
        &[("client_secret", sim.config().client_secret.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(3599))
    );
    let token = body["access_token"].as_str().unwrap();
    let url = crate::window_url(
        &sim,
        ApiVersion::V1,
        Function::Pstn,
        crate::day(0),
        crate::day(1),
    );
    assert_eq!(crate::get(&client(), &url, token).await.status(), 200);

    let (status, body) = request(&sim, &[("client_secret", "wrong")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215: Invalid client secret")
    );
    let stats = sim.stats();
    assert_eq!(
        (
            stats.token_requests,
            stats.tokens_issued,
            stats.unauthorized
        ),
        (2, 1, 1)
    );
}

/// The AADSTS code at the start of a refusal's description.
fn aadsts(status: u16, body: &Value) -> (u16, String) {
    let description = body["error_description"].as_str().unwrap_or_default();
    assert_eq!(body["error"], "invalid_client", "{body}");
    (
        status,
        description.split(':').next().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn certificate_assertions_are_verified_like_entra_id() {
    let (key, certificate) = (app_key(), app_certificate());
    let x5t = thumbprint(&certificate);
    let sim = start(config(10, 10).with_assertion_certificate_der(certificate.clone())).await;
    let (status, body) = with_assertion(&sim, &assertion(&key, "PS256", &x5t, &claims(&sim))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    let with_claims = |mutate: fn(&mut Value)| {
        let mut c = claims(&sim);
        mutate(&mut c);
        assertion(&key, "PS256", &x5t, &c)
    };
    let good = assertion(&key, "PS256", &x5t, &claims(&sim));
    let other_certificate = thumbprint(b"another certificate");
    let cases = [
        // The legacy form (PKCS#1 v1.5), correctly signed by the right key.
        (
            "RS256",
            assertion(&key, "RS256", &x5t, &claims(&sim)),
            "AADSTS5002738",
        ),
        (
            "a thumbprint of another certificate",
            assertion(&key, "PS256", &other_certificate, &claims(&sim)),
            "AADSTS700027",
        ),
        (
            "the right thumbprint, signed by another key",
            assertion(&other_key(), "PS256", &x5t, &claims(&sim)),
            "AADSTS700027",
        ),
        (
            "a signature that does not verify",
            format!("{}AAAA", &good[..good.len() - 4]),
            "AADSTS700027",
        ),
        (
            "expired",
            with_claims(|c| c["exp"] = json!(now() - 10)),
            "AADSTS700024",
        ),
        (
            "not yet valid",
            with_claims(|c| c["nbf"] = json!(now() + 3600)),
            "AADSTS700024",
        ),
        (
            "another audience",
            with_claims(|c| {
                c["aud"] = json!("https://login.microsoftonline.com/other/oauth2/v2.0/token")
            }),
            "AADSTS50012",
        ),
        (
            "another issuer",
            with_claims(|c| c["iss"] = json!("someone-else")),
            "AADSTS700021",
        ),
        (
            "another subject",
            with_claims(|c| c["sub"] = json!("someone-else")),
            "AADSTS700021",
        ),
        (
            "no jti",
            with_claims(|c| c["jti"] = json!("")),
            "AADSTS50027",
        ),
    ];
    for (what, jwt, code) in cases {
        let (status, body) = with_assertion(&sim, &jwt).await;
        assert_eq!(
            aadsts(status, &body),
            (401, code.to_owned()),
            "{what}: {body}"
        );
    }
    // Entra's words for a certificate it does not know name the thumbprint the client sent.
    let (_, body) = with_assertion(
        &sim,
        &assertion(&key, "PS256", &other_certificate, &claims(&sim)),
    )
    .await;
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("is not registered on application")
            && description.contains(&other_certificate),
        "{description}"
    );
    assert_eq!(sim.stats().tokens_issued, 1);
}

#[tokio::test]
async fn assertions_are_refused_without_a_registered_certificate() {
    let (key, certificate) = (app_key(), app_certificate());
    let sim = start(config(10, 10)).await;
    let jwt = assertion(&key, "PS256", &thumbprint(&certificate), &claims(&sim));
    let (status, body) = with_assertion(&sim, &jwt).await;
    assert_eq!(aadsts(status, &body), (401, "AADSTS700027".to_owned()));
}
