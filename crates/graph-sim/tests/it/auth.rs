//! The token endpoint: client secrets and certificate assertions.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pstn_lake_graph_sim::{ApiVersion, Function, RunningSim};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use serde_json::{Value, json};

use crate::{client, config, form_body, start};

/// A throwaway 2048-bit RSA key (PKCS#8), generated for these tests only.
fn key_pair() -> RsaKeyPair {
    let text: String = include_str!("fixtures/test-rsa-2048.pk8.b64")
        .split_whitespace()
        .collect();
    RsaKeyPair::from_pkcs8(&STANDARD.decode(text).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A client assertion JWT signed with `key`.
fn assertion(key: &RsaKeyPair, alg: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "x5t#S256": "AAAA"});
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

#[tokio::test]
async fn certificate_assertions_are_verified() {
    let key = key_pair();
    let sim = start(config(10, 10).with_assertion_public_key_der(key.public().as_ref())).await;
    for alg in ["PS256", "RS256"] {
        let (status, body) = with_assertion(&sim, &assertion(&key, alg, &claims(&sim))).await;
        assert_eq!(status, 200, "{alg}: {body}");
    }
    let refused = |mutate: fn(&mut Value)| {
        let mut c = claims(&sim);
        mutate(&mut c);
        assertion(&key, "PS256", &c)
    };
    let cases = [
        (refused(|c| c["exp"] = json!(now() - 10)), "AADSTS700024"),
        (refused(|c| c["nbf"] = json!(now() + 3600)), "AADSTS700024"),
        (
            refused(|c| {
                c["aud"] = json!("https://login.microsoftonline.com/other/oauth2/v2.0/token")
            }),
            "AADSTS50012",
        ),
        (
            refused(|c| c["iss"] = json!("someone-else")),
            "AADSTS700021",
        ),
    ];
    for (jwt, code) in cases {
        let (status, body) = with_assertion(&sim, &jwt).await;
        assert_eq!(status, 401);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(code),
            "{body}"
        );
    }
    // A signature that does not verify.
    let good = assertion(&key, "PS256", &claims(&sim));
    let tampered = format!("{}AAAA", &good[..good.len() - 4]);
    let (status, body) = with_assertion(&sim, &tampered).await;
    assert_eq!(status, 401);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700027"),
        "{body}"
    );
    assert_eq!(sim.stats().tokens_issued, 2);
}

#[tokio::test]
async fn assertions_are_refused_without_a_registered_key() {
    let key = key_pair();
    let sim = start(config(10, 10)).await;
    let (status, body) = with_assertion(&sim, &assertion(&key, "PS256", &claims(&sim))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}
