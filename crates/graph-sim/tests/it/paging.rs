//! Pages and next links: the rows a correct client lands.

use pstn_lake_graph_sim::{ApiVersion, Function};
use serde_json::Value;

use crate::{client, config, day, follow, ids, start, token, window_url};

#[tokio::test]
async fn following_next_links_lands_exactly_the_expected_direct_routing_rows() {
    let sim = start(config(250, 60)).await;
    let client = client();
    let token = token(&client, &sim).await;
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        let url = window_url(&sim, version, Function::DirectRouting, day(1), day(2));
        let pages = follow(&client, &url, &token).await;
        assert_eq!(pages.len(), 5);
        let want: Vec<String> = sim
            .tenant()
            .expected(Function::DirectRouting, day(1), day(1))
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(want.len(), 250);
        assert_eq!(ids(&pages), want);
    }
    let stats = sim.stats();
    assert_eq!(
        (stats.pages_served, stats.rows_served, stats.graph_requests),
        (10, 500, 10)
    );
}

#[tokio::test]
async fn pstn_to_is_inclusive_so_the_next_midnight_row_comes_too() {
    let sim = start(config(120, 50)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let pages = follow(
        &client,
        &window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1)),
        &token,
    )
    .await;
    let mut want: Vec<String> = sim
        .tenant()
        .expected(Function::Pstn, day(0), day(0))
        .into_iter()
        .map(|r| r.id)
        .collect();
    let next_midnight = sim
        .tenant()
        .expected(Function::Pstn, day(1), day(1))
        .remove(0)
        .id;
    want.push(next_midnight.clone());
    assert_eq!(ids(&pages), want);

    let last: Value = serde_json::from_str(pages.last().unwrap()).unwrap();
    let row = last["value"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(row["id"], next_midnight.as_str());
    assert_eq!(
        row["startDateTime"],
        format!("{}T00:00:00.0000000Z", day(1))
    );
    let first: Value = serde_json::from_str(&pages[0]).unwrap();
    assert_eq!(
        first["value"][0]["startDateTime"],
        format!("{}T00:00:00.0000000Z", day(0))
    );
    let before_midnight =
        &last["value"].as_array().unwrap()[last["@odata.count"].as_u64().unwrap() as usize - 2];
    assert_eq!(
        before_midnight["startDateTime"],
        format!("{}T23:59:59.9999999Z", day(0))
    );
}

#[tokio::test]
async fn every_page_has_the_documented_shape() {
    let sim = start(config(95, 20)).await;
    let client = client();
    let token = token(&client, &sim).await;
    for function in [Function::Pstn, Function::DirectRouting] {
        for version in [ApiVersion::V1, ApiVersion::Beta] {
            let url = window_url(&sim, version, function, day(2), day(3));
            let pages = follow(&client, &url, &token).await;
            assert_eq!(pages.len(), 5);
            for (k, text) in pages.iter().enumerate() {
                let page: Value = serde_json::from_str(text).unwrap();
                let context = format!(
                    "{}/{}/$metadata#Collection(microsoft.graph.callRecords.{})",
                    sim.graph_url(),
                    version.path_segment(),
                    function.row_type()
                );
                assert_eq!(page["@odata.context"], context.as_str());
                let rows = page["value"].as_array().unwrap();
                assert_eq!(
                    page["@odata.count"].as_u64(),
                    Some(rows.len() as u64),
                    "count is of this page"
                );
                let beta_only = if function == Function::Pstn {
                    "clientPublicIpV4Address"
                } else {
                    "userCountryCode"
                };
                assert!(
                    rows.iter()
                        .all(|r| r.get(beta_only).is_some() == (version == ApiVersion::Beta))
                );
                if k + 1 == pages.len() {
                    assert!(page.get("@odata.nextLink").is_none());
                    continue;
                }
                let link = page["@odata.nextLink"].as_str().unwrap();
                let want = format!(
                    "{}/{}/communications/callRecords/{}(from={}T00:00:00Z,to={}T00:00:00Z)?$skip={}",
                    sim.graph_url(),
                    version.path_segment(),
                    function.graph_name(),
                    day(2),
                    day(3),
                    20 * (k + 1)
                );
                assert_eq!(link, want);
                // Odd pages carry the link before the rows, even pages after.
                let link_first =
                    text.find("@odata.nextLink").unwrap() < text.find("\"value\"").unwrap();
                assert_eq!(link_first, k % 2 == 0, "page {}", k + 1);
            }
        }
    }
}

#[tokio::test]
async fn same_seed_same_rows_different_seed_different_rows() {
    let client = client();
    let mut values = Vec::new();
    for seed in [42, 42, 43] {
        let mut c = config(40, 1000);
        c.tenant.seed = seed;
        let sim = start(c).await;
        let token = token(&client, &sim).await;
        let pages = follow(
            &client,
            &window_url(&sim, ApiVersion::Beta, Function::Pstn, day(0), day(1)),
            &token,
        )
        .await;
        let page: Value = serde_json::from_str(&pages[0]).unwrap();
        values.push(page["value"].to_string());
        // The served bytes are the generator's bytes.
        let rows = sim.tenant().rows(Function::Pstn, ApiVersion::Beta, day(0));
        assert!(pages[0].contains(&String::from_utf8(rows).unwrap()[1..100]));
    }
    assert_eq!(values[0], values[1]);
    assert_ne!(values[0], values[2]);
}

#[tokio::test]
async fn ranges_outside_the_tenant_give_one_empty_page() {
    let sim = start(config(10, 5)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::DirectRouting,
        day(10),
        day(11),
    );
    let pages = follow(&client, &url, &token).await;
    assert_eq!(pages.len(), 1);
    let page: Value = serde_json::from_str(&pages[0]).unwrap();
    assert_eq!(
        (
            page["@odata.count"].as_u64(),
            page["value"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn write_pages_matches_what_the_server_serves_apart_from_the_host() {
    let sim = start(config(70, 30)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let served = follow(
        &client,
        &window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(2)),
        &token,
    )
    .await;
    let mut written = Vec::new();
    sim.tenant()
        .write_pages(Function::Pstn, ApiVersion::V1, day(0), day(1), 30, |p| {
            written.push(p)
        });
    let written: Vec<String> = written
        .into_iter()
        .map(|p| {
            String::from_utf8(p)
                .unwrap()
                .replace("https://graph.microsoft.com", &sim.graph_url())
        })
        .collect();
    assert_eq!(served, written);
}

#[tokio::test]
async fn a_foreign_next_link_host_and_a_repeating_link() {
    let foreign = start(config(10, 5)).await;
    let sim = start(config(30, 10).with_next_link_host_override(foreign.graph_url())).await;
    let client = client();
    let token = token(&client, &sim).await;
    let page = crate::json(
        crate::get(
            &client,
            &window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1)),
            &token,
        )
        .await,
    )
    .await;
    let link = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/v1.0/", foreign.graph_url())),
        "{link}"
    );
    // The foreign host counts requests that carried a credential.
    client.get(link).send().await.unwrap();
    assert_eq!(
        (
            foreign.stats().requests,
            foreign.stats().requests_with_authorization
        ),
        (1, 0)
    );
    client.get(link).bearer_auth(&token).send().await.unwrap();
    assert_eq!(foreign.stats().requests_with_authorization, 1);

    let sim = start(config(30, 10).with_repeat_next_link(true)).await;
    let token = crate::token(&client, &sim).await;
    let first = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));
    let page = crate::json(crate::get(&client, &first, &token).await).await;
    let link = page["@odata.nextLink"].as_str().unwrap().to_owned();
    assert!(link.ends_with("?$skip=0"), "{link}");
    let again = crate::json(crate::get(&client, &link, &token).await).await;
    assert_eq!(again["@odata.nextLink"].as_str(), Some(link.as_str()));
    assert_eq!(again["value"], page["value"]);
}
