//! The user directory over HTTP: `/users`, `/users/delta`, delta links across directory days,
//! lost sync state and the `User.Read.All` permission.

use chrono::NaiveDate;
use pstn_lake_graph_sim::{
    ApiVersion, DirectoryChangeKind, DirectoryUser, Fault, FaultPlan, Function, RunningSim,
    SimConfig, TenantConfig,
};
use serde_json::Value;

use crate::{client, day, first_day, follow, get, ids, json, start, token, window_url};

const SELECT: &str = "id,userPrincipalName,displayName,department,jobTitle,companyName,\
                      officeLocation,city,country,usageLocation,employeeId,employeeOrgData,\
                      accountEnabled";

/// A 30-day tenant (the directory changes need days).
fn month() -> SimConfig {
    SimConfig::default().with_tenant(TenantConfig::new(42, first_day(), 30, 10))
}

fn users_url(sim: &RunningSim, version: ApiVersion, rest: &str) -> String {
    format!("{}/{}/users{rest}", sim.graph_url(), version.path_segment())
}

/// A user as the directory says Graph must serve it with [`SELECT`].
fn as_graph(user: &DirectoryUser) -> Value {
    let org = match (&user.cost_center, &user.division) {
        (None, None) => Value::Null,
        (cost_center, division) => {
            serde_json::json!({"costCenter": cost_center, "division": division})
        }
    };
    serde_json::json!({
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "displayName": user.display_name,
        "department": user.department,
        "jobTitle": user.job_title,
        "companyName": user.company_name,
        "officeLocation": user.office_location,
        "city": user.city,
        "country": user.country,
        "usageLocation": user.usage_location,
        "employeeId": user.employee_id,
        "employeeOrgData": org,
        "accountEnabled": user.account_enabled,
    })
}

/// The rows of pages, in order.
fn rows(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap().clone())
        .collect()
}

/// Follows a delta round from `url` with `Prefer: odata.maxpagesize=page_size`: its pages, and
/// the delta link of the last one (which every other page lacks).
async fn delta_round(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    page_size: u16,
) -> (Vec<Value>, String) {
    let mut pages = Vec::new();
    let mut next = url.to_owned();
    loop {
        let response = client
            .get(&next)
            .bearer_auth(token)
            .header("Prefer", format!("odata.maxpagesize={page_size}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{next}");
        let page = json(response).await;
        let next_link = page["@odata.nextLink"].as_str().map(str::to_owned);
        let delta_link = page["@odata.deltaLink"].as_str().map(str::to_owned);
        pages.push(page);
        assert!(pages.len() < 100, "next links never end");
        match (next_link, delta_link) {
            (Some(link), None) => next = link,
            (None, Some(link)) => return (pages, link),
            other => panic!("a page has one of nextLink and deltaLink: {other:?}"),
        }
    }
}

/// The ids of the users whose change is on a day in `(after, to]`, sorted.
fn changed(sim: &RunningSim, after: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut ids: Vec<String> = (sim.tenant().directory_changes().into_iter())
        .filter(|c| after < c.day && c.day <= to)
        .map(|c| c.user_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn users_pages_with_select_and_top_give_exactly_the_directory_of_the_day() {
    // Throttled like every Graph request.
    let sim = start(month().with_faults(FaultPlan::new().at(
        1,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    )))
    .await;
    assert_eq!(
        sim.directory_day(),
        day(29),
        "the tenant's last day by default"
    );
    sim.set_directory_day(day(4));
    let client = client();
    let token = token(&client, &sim).await;
    let url = users_url(&sim, ApiVersion::V1, &format!("?$select={SELECT}&$top=10"));
    assert_eq!(get(&client, &url, &token).await.status(), 429);

    let directory = sim.tenant().directory(day(4));
    assert_eq!(directory.len(), 64, "the 65th user is created on day 15");
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        let url = users_url(&sim, version, &format!("?$select={SELECT}&$top=10"));
        let pages = follow(&client, &url, &token).await;
        assert_eq!(pages.len(), 7);
        let parsed: Vec<Value> = pages
            .iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect();
        let want: Vec<Value> = directory.iter().map(as_graph).collect();
        assert_eq!(rows(&parsed), want);
        let segment = version.path_segment();
        assert_eq!(
            parsed[0]["@odata.context"],
            format!("{}/{segment}/$metadata#users({SELECT})", sim.graph_url()).as_str()
        );
        let next = parsed[0]["@odata.nextLink"].as_str().unwrap();
        let prefix = format!(
            "{}/{segment}/users?$select={SELECT}&$top=10&$skiptoken=",
            sim.graph_url()
        );
        assert!(next.starts_with(&prefix), "{next}");
        assert!(parsed.iter().all(|p| p.get("@odata.deltaLink").is_none()));
    }

    // A narrower selection (id always comes), then the default one and page size.
    let url = users_url(&sim, ApiVersion::V1, "?$select=department");
    let page = json(get(&client, &url, &token).await).await;
    assert_eq!(
        page["@odata.context"],
        format!("{}/v1.0/$metadata#users(department)", sim.graph_url()).as_str()
    );
    let first = &page["value"][0];
    assert_eq!(first.as_object().unwrap().len(), 2);
    assert_eq!(first["id"], directory[0].id.as_str());
    let url = users_url(&sim, ApiVersion::V1, "");
    let page = json(get(&client, &url, &token).await).await;
    assert_eq!(
        page["@odata.context"],
        format!("{}/v1.0/$metadata#users", sim.graph_url()).as_str()
    );
    assert!(page.get("@odata.nextLink").is_none());
    let want: Vec<Value> = directory.iter().map(as_graph).collect();
    assert_eq!(page["value"], Value::Array(want));

    // Refused like Graph refuses them.
    for bad in ["?$top=1000", "?$top=0", "?$select=id,manager"] {
        let response = get(&client, &users_url(&sim, ApiVersion::V1, bad), &token).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(json(response).await["error"]["code"], "BadRequest");
    }
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.pages_served), (1, 16));
    assert_eq!(stats.rows_served, 2 * 64 + 64 + 64);
}

#[tokio::test]
async fn a_delta_round_ends_with_a_delta_link_that_serves_what_changed_since() {
    let sim = start(month()).await;
    let client = client();
    let token = token(&client, &sim).await;
    let changes = sim.tenant().directory_changes();
    // The tenant's month has users who move department mid-month.
    assert!(
        changes
            .iter()
            .any(|c| matches!(c.change, DirectoryChangeKind::Moved { .. })
                && c.day > day(1)
                && c.day <= day(14))
    );

    // Day 1: a full round.
    sim.set_directory_day(day(1));
    let url = users_url(&sim, ApiVersion::Beta, &format!("/delta?$select={SELECT}"));
    let (pages, delta_link) = delta_round(&client, &url, &token, 25).await;
    assert_eq!(pages.len(), 3);
    for page in &pages[..2] {
        let next = page["@odata.nextLink"].as_str().unwrap();
        let prefix = format!("{}/beta/users/delta?$skiptoken=", sim.graph_url());
        assert!(next.starts_with(&prefix), "{next}");
    }
    let prefix = format!("{}/beta/users/delta?$deltatoken=", sim.graph_url());
    assert!(delta_link.starts_with(&prefix), "{delta_link}");
    assert_eq!(
        pages[0]["@odata.context"],
        format!("{}/beta/$metadata#users({SELECT})", sim.graph_url()).as_str()
    );
    let want: Vec<Value> = sim
        .tenant()
        .directory(day(1))
        .iter()
        .map(as_graph)
        .collect();
    assert_eq!(rows(&pages), want);

    // Day 15: the delta link serves exactly the users changed on days 2 to 15, as on day 15.
    sim.set_directory_day(day(15));
    let (pages, delta_link) = delta_round(&client, &delta_link, &token, 100).await;
    let served = rows(&pages);
    let want = changed(&sim, day(1), day(15));
    assert!(!want.is_empty());
    let got: Vec<&str> = served.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, want);
    let directory = sim.tenant().directory(day(15));
    for row in &served {
        let user = directory.iter().find(|u| u.id == row["id"]).unwrap();
        assert_eq!(*row, as_graph(user));
    }

    // The rest of the month, a page at a time.
    sim.set_directory_day(day(29));
    let (pages, delta_link) = delta_round(&client, &delta_link, &token, 1).await;
    let want = changed(&sim, day(15), day(29));
    assert_eq!(pages.len(), want.len().max(1));
    let served = rows(&pages);
    let got: Vec<&str> = served.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, want);

    // Nothing changed since: an empty page with a delta link.
    let (pages, _) = delta_round(&client, &delta_link, &token, 100).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["value"], Value::Array(vec![]));
}

#[tokio::test]
async fn old_or_unknown_delta_tokens_are_410_sync_state_not_found() {
    let sim = start(month().with_delta_token_max_age_days(10)).await;
    let client = client();
    let token = token(&client, &sim).await;
    sim.set_directory_day(day(0));
    let url = users_url(&sim, ApiVersion::V1, "/delta?$select=id,department");
    let (_, delta_link) = delta_round(&client, &url, &token, 999).await;

    // 10 days of directory time is still fine; 11 is not.
    sim.set_directory_day(day(10));
    assert_eq!(get(&client, &delta_link, &token).await.status(), 200);
    sim.set_directory_day(day(11));
    let unknown = users_url(
        &sim,
        ApiVersion::V1,
        "/delta?$deltatoken=c2ltLWRpZC1ub3QtaXNzdWU",
    );
    let skip = users_url(&sim, ApiVersion::V1, "/delta?$skiptoken=AAAA");
    for url in [&delta_link, &unknown, &skip] {
        let response = get(&client, url, &token).await;
        assert_eq!(response.status(), 410, "{url}");
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "SyncStateNotFound");
        assert_eq!(
            body["error"]["message"],
            "The sync state generation is not found. Please restart the sync."
        );
    }
    assert_eq!(sim.stats().sync_resets, 3);

    // A full round restarts the sync.
    let (pages, _) = delta_round(&client, &url, &token, 999).await;
    assert_eq!(rows(&pages).len(), sim.tenant().directory(day(11)).len());
}

#[tokio::test]
async fn without_user_read_all_the_directory_alone_is_403() {
    let sim = start(month().with_missing_user_read_all()).await;
    let client = client();
    let token = token(&client, &sim).await;
    for rest in ["", "?$select=id", "/delta", "/delta?$deltatoken=x"] {
        for version in [ApiVersion::V1, ApiVersion::Beta] {
            let response = get(&client, &users_url(&sim, version, rest), &token).await;
            assert_eq!(response.status(), 403, "{rest}");
            let body = json(response).await;
            assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
            assert_eq!(
                body["error"]["message"],
                "Insufficient privileges to complete the operation."
            );
        }
    }
    let calls = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));
    let pages = follow(&client, &calls, &token).await;
    assert_eq!(ids(&pages).len(), 10 + 1);
    assert_eq!(sim.stats().forbidden, 8);

    // A call function's missing permission leaves the directory alone.
    let sim = start(month().with_missing_permission(Function::Pstn)).await;
    let token = crate::token(&client, &sim).await;
    let users = users_url(&sim, ApiVersion::V1, "");
    assert_eq!(get(&client, &users, &token).await.status(), 200);
    let calls = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));
    assert_eq!(get(&client, &calls, &token).await.status(), 403);
}
