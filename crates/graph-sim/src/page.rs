//! One page of a Graph collection response, rendered straight to bytes.

use std::sync::Arc;

use crate::clock::Segment;
use crate::dialout::{self, Total};
use crate::json;
use crate::tenant::{ApiVersion, Function, Tenant};

/// The rows a query selects, in page order.
#[derive(Clone, Debug)]
pub(crate) enum Selection {
    /// Rows of days, by index (every function but the dial-out report).
    Days(Vec<Segment>),
    /// The dial-out report's totals over the query's window.
    Totals(Arc<[Total]>),
}

impl Selection {
    /// How many rows it holds.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Days(segments) => segments.iter().map(|s| u64::from(s.end - s.start)).sum(),
            Self::Totals(totals) => totals.len() as u64,
        }
    }
}

/// The most a page reserves up front (bigger pages grow as needed).
pub(crate) const MAX_RESERVE: usize = 64 << 20;

/// What page to render and how to link onwards.
#[derive(Debug)]
pub(crate) struct PageRequest<'a> {
    pub function: Function,
    pub version: ApiVersion,
    /// Base URL for `@odata.context`.
    pub context_base: &'a str,
    /// Base URL for `@odata.nextLink`.
    pub next_base: &'a str,
    /// The date-time literals as the client sent them, echoed into the next link.
    pub from_literal: &'a str,
    pub to_literal: &'a str,
    /// Rows of the selection before this page.
    pub skip: u64,
    pub page_size: usize,
    /// Link every page to itself instead of the next page.
    pub repeat_next_link: bool,
}

/// A rendered page.
#[derive(Debug)]
pub(crate) struct Page {
    pub body: Vec<u8>,
    pub rows: usize,
    /// `$skip` of the next page, when there is one.
    pub next_skip: Option<u64>,
}

/// Renders the page at `request.skip` of the rows in `selection`.
///
/// Odd pages (1st, 3rd, …) put `@odata.nextLink` before `value`, even pages after it: Graph's key
/// order varies and clients must not depend on it.
pub(crate) fn render(tenant: &Tenant, selection: &Selection, request: &PageRequest<'_>) -> Page {
    let page_size = request.page_size.max(1);
    let total = selection.len();
    let rows = total.saturating_sub(request.skip).min(page_size as u64) as usize;
    let next_skip = (request.skip + (rows as u64) < total).then_some(request.skip + rows as u64);
    let link_skip = if request.repeat_next_link {
        Some(request.skip)
    } else {
        next_skip
    };
    let page_number = request.skip / page_size as u64 + 1;

    let mut body = Vec::with_capacity((rows * 1100 + 512).min(MAX_RESERVE));
    body.extend_from_slice(b"{\"@odata.context\":");
    let mut context = String::with_capacity(128);
    context.push_str(request.context_base);
    context.push('/');
    context.push_str(request.version.path_segment());
    context.push_str("/$metadata#Collection(microsoft.graph.callRecords.");
    context.push_str(request.function.row_type());
    context.push(')');
    json::push_str(&mut body, &context);
    body.extend_from_slice(b",\"@odata.count\":");
    json::push_u64(&mut body, rows as u64);
    let link = link_skip.map(|skip| next_link(request, skip));
    let link_first = page_number % 2 == 1;
    if let (Some(link), true) = (&link, link_first) {
        body.extend_from_slice(b",\"@odata.nextLink\":");
        json::push_str(&mut body, link);
    }
    body.extend_from_slice(b",\"value\":[");
    match selection {
        Selection::Days(segments) => write_rows(tenant, segments, request, rows, &mut body),
        Selection::Totals(totals) => {
            let first = request.skip.min(totals.len() as u64) as usize;
            for (k, total) in totals[first..first + rows].iter().enumerate() {
                if k > 0 {
                    body.push(b',');
                }
                dialout::write_total(tenant, total, &mut body);
            }
        }
    }
    body.push(b']');
    if let (Some(link), false) = (&link, link_first) {
        body.extend_from_slice(b",\"@odata.nextLink\":");
        json::push_str(&mut body, link);
    }
    body.push(b'}');
    Page {
        body,
        rows,
        next_skip,
    }
}

/// Microsoft's documented next-link form: `…/getPstnCalls(from=…,to=…)?$skip=N`.
fn next_link(request: &PageRequest<'_>, skip: u64) -> String {
    format!(
        "{}/{}/communications/callRecords/{}(from={},to={})?$skip={skip}",
        request.next_base,
        request.version.path_segment(),
        request.function.graph_name(),
        request.from_literal,
        request.to_literal,
    )
}

fn write_rows(
    tenant: &Tenant,
    selection: &[Segment],
    request: &PageRequest<'_>,
    rows: usize,
    out: &mut Vec<u8>,
) {
    let mut to_skip = request.skip;
    let mut left = rows;
    for segment in selection {
        if left == 0 {
            break;
        }
        let len = u64::from(segment.end - segment.start);
        if to_skip >= len {
            to_skip -= len;
            continue;
        }
        let first = segment.start + to_skip as u32;
        to_skip = 0;
        let last = (u64::from(first) + left as u64).min(u64::from(segment.end)) as u32;
        for index in first..last {
            if left < rows {
                out.push(b',');
            }
            tenant.write_row(
                request.function,
                request.version,
                segment.day_num,
                index,
                out,
            );
            left -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::Value;

    use super::*;
    use crate::tenant::TenantConfig;

    #[test]
    fn pages_split_rows_and_alternate_key_order() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let t = Tenant::new(TenantConfig::new(1, day, 2, 25));
        let mut pages = Vec::new();
        t.write_pages(Function::DirectRouting, ApiVersion::V1, day, day, 10, |p| {
            pages.push(p)
        });
        assert_eq!(pages.len(), 3);
        let text: Vec<String> = pages
            .iter()
            .map(|p| String::from_utf8(p.clone()).unwrap())
            .collect();
        assert!(text[0].find("nextLink").unwrap() < text[0].find("\"value\"").unwrap());
        assert!(text[1].find("nextLink").unwrap() > text[1].find("\"value\"").unwrap());
        assert!(!text[2].contains("nextLink"));
        let parsed: Vec<Value> = pages
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap())
            .collect();
        let counts: Vec<_> = parsed
            .iter()
            .map(|p| p["@odata.count"].as_u64().unwrap())
            .collect();
        assert_eq!(counts, [10, 10, 5]);
        assert_eq!(
            parsed[0]["@odata.nextLink"],
            "https://graph.microsoft.com/v1.0/communications/callRecords/getDirectRoutingCalls(\
             from=2026-01-01T00:00:00Z,to=2026-01-02T00:00:00Z)?$skip=10"
        );
        let ids: Vec<String> = parsed
            .iter()
            .flat_map(|p| {
                p["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned())
            })
            .collect();
        let want: Vec<String> = t
            .expected(Function::DirectRouting, day, day)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn an_empty_range_is_one_empty_page() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let t = Tenant::new(TenantConfig::new(1, day, 1, 25));
        let mut pages = Vec::new();
        let later = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        t.write_pages(Function::Pstn, ApiVersion::Beta, later, later, 10, |p| {
            pages.push(p)
        });
        assert_eq!(pages.len(), 1);
        let page: Value = serde_json::from_slice(&pages[0]).unwrap();
        assert_eq!(page["@odata.count"], 0);
        assert_eq!(page["value"], Value::Array(vec![]));
        assert_eq!(
            page["@odata.context"],
            "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)"
        );
    }
}
