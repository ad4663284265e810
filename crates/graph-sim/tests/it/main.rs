//! Integration tests: the simulator over real loopback HTTP, driven with reqwest.

mod auth;
mod beta;
mod errors;
mod faults;
mod mail;
mod paging;
mod users;

use chrono::NaiveDate;
use pstn_lake_graph_sim::{ApiVersion, Function, RunningSim, SimConfig, TenantConfig};
use serde_json::Value;

/// The tenant's first day in every test.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// `first_day() + n` days.
pub fn day(n: i64) -> NaiveDate {
    first_day() + chrono::Duration::days(n)
}

/// A small config: 3 days of `calls` rows, pages of `page_size`.
pub fn config(calls: u32, page_size: usize) -> SimConfig {
    SimConfig::default()
        .with_tenant(TenantConfig::new(42, first_day(), 3, calls))
        .with_page_size(page_size)
}

pub async fn start(config: SimConfig) -> RunningSim {
    pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A client that never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Gets a token with the client secret.
pub async fn token(client: &reqwest::Client, sim: &RunningSim) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", sim.config().client_id.as_str()),
        ("client_secret", sim.config().client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let body = form_body(&form);
    let response = client
        .post(sim.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

pub fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The first-page URL of a day window, the way Microsoft's SDKs write it.
pub fn window_url(
    sim: &RunningSim,
    version: ApiVersion,
    function: Function,
    from: NaiveDate,
    to: NaiveDate,
) -> String {
    format!(
        "{}/{}/communications/callRecords/microsoft.graph.callRecords.{}(fromDateTime={}T00:00:00Z,toDateTime={}T00:00:00Z)",
        sim.graph_url(),
        version.path_segment(),
        function.graph_name(),
        from,
        to
    )
}

pub async fn get(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    client.get(url).bearer_auth(token).send().await.unwrap()
}

/// Parses a JSON body.
pub async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Follows next links from `url`; returns every page's raw text.
pub async fn follow(client: &reqwest::Client, url: &str, token: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let response = get(client, &url, token).await;
        assert_eq!(response.status(), 200, "{url}");
        let text = response.text().await.unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        pages.push(text);
        assert!(pages.len() < 1000, "next links never end");
    }
    pages
}

/// The `id`s of the rows of pages, in order.
pub fn ids(pages: &[String]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| {
            let page: Value = serde_json::from_str(p).unwrap();
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}
