//! `pstn-lake report`: run a report from the catalog in `crates/query/sql/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pstn_lake_query::{Chart, ChartFormat, LakeSession, Report, ReportParams};

use crate::common::{LakeArg, OutputArgs, Ui, to_stdout};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to run. Without a name (and without --html), the reports are listed.
    pub name: Option<String>,

    /// List the reports with what each answers and the options each takes.
    #[arg(long)]
    pub list: bool,

    /// Print the report's SQL (its header says what it answers and how) instead of running it.
    #[arg(long)]
    pub show_sql: bool,

    #[command(flatten)]
    pub range: crate::common::DayRange,

    /// Only calls charged in this currency (ISO 4217: EUR, USD, ...).
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,

    /// Only calls of users in this country (ISO 3166 alpha-2 usage country: DE, US, ...).
    #[arg(long, value_name = "CODE")]
    pub country: Option<String>,

    /// Only this user's calls: a user principal name (any case) or a user id.
    #[arg(long, value_name = "UPN")]
    pub user: Option<String>,

    /// At most N rows; in ranked reports (charges-by-user, top-destinations,
    /// international-outbound) the top N of each currency.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// charges-by-department: group the users by department (the default), cost-center,
    /// division, company, office, country (the directory's) or admin-unit (the administrative
    /// unit on the call rows).
    #[arg(long, value_name = "WHAT")]
    pub by: Option<String>,

    /// charges-by-department: a CSV file with the header `user,group`, one row per user (a user
    /// principal name, any case, or a user id) and the group to charge; it wins over the
    /// directory, for shops without departments or cost centers in Entra ID.
    #[arg(long, value_name = "FILE.csv")]
    pub mapping: Option<PathBuf>,

    /// Also draw the report as a bar or line chart (as the Chart line of its SQL header says)
    /// into FILE.svg or FILE.png; the report is still printed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["list", "show_sql"])]
    pub chart: Option<PathBuf>,

    /// Write every report (only NAME's when given) as a table and a chart to one self-contained
    /// HTML page, instead of printing; each takes the filters it accepts.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["list", "show_sql", "chart", "format", "output"])]
    pub html: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub lake: LakeArg,

    #[command(flatten)]
    pub as_of: crate::common::AsOfArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    if let Some(path) = &args.html {
        return write_html(&args, path, ui).await;
    }
    let Some(name) = args.name.as_deref().filter(|_| !args.list) else {
        if !args.list {
            ui.summary("No report named: the reports are below; run one with `pstn-lake report NAME --lake LAKE`.");
        }
        return to_stdout(|out| {
            for r in pstn_lake_query::reports() {
                writeln!(out, "{:<24} {}", r.name, r.description)?;
                let params: Vec<String> = r.params.iter().map(ToString::to_string).collect();
                writeln!(out, "{:<24} options: {}", "", params.join(" "))?;
            }
            Ok(())
        });
    };
    let report = pstn_lake_query::report(name)?;
    if args.show_sql {
        return to_stdout(|out| Ok(out.write_all(report.sql.as_bytes())?));
    }
    if let (Some(from), Some(to)) = (args.range.from, args.range.to)
        && from > to
    {
        bail!("--from {from} is after --to {to}");
    }
    let params = args.params();
    // Refuse options the report does not take, and malformed values, before touching the lake.
    report.bind(&params)?;
    if args.mapping.is_some() && !report.sql.contains(pstn_lake_query::MAPPING_TABLE) {
        bail!(
            "report {name} does not take --mapping (charges-by-department does): it groups no users"
        );
    }
    let mapping = args.mapping()?;
    args.output.resolve()?;
    let chart = match &args.chart {
        Some(path) => Some((
            path,
            ChartFormat::from_path(path)?,
            pstn_lake_query::chart_spec(&report)?,
        )),
        None => None,
    };
    let lake = args.lake.open_existing().await?;
    lake.check().await?;
    let session = args.as_of.session(&lake).await?;
    if let Some(rows) = &mapping {
        session.set_mapping(rows)?;
    }
    let (schema, batches) = session
        .run_report(&report, &params)
        .await
        .with_context(|| format!("report {name} failed"))?;
    // The chart first: printing may stop early at a closed pipe (`| head`).
    if let Some((path, format, spec)) = chart {
        let title = pstn_lake_query::chart_title(&report, &params);
        let bytes = Chart::new(spec, &title, &schema, &batches)
            .and_then(|chart| chart.encode(format))
            .with_context(|| format!("cannot draw the chart of {name}"))?;
        crate::common::write_file(path, "--chart", |file| {
            Ok(std::io::Write::write_all(file, &bytes)?)
        })?;
    }
    args.output.write(&schema, &batches)
}

impl Args {
    fn params(&self) -> ReportParams {
        ReportParams {
            from: self.range.from,
            to: self.range.to,
            currency: self.currency.clone(),
            country: self.country.clone(),
            user: self.user.clone(),
            limit: self.limit,
            by: self.by.clone(),
        }
    }

    /// The `--mapping` file's rows, read before the lake is touched.
    fn mapping(&self) -> Result<Option<Vec<(String, String)>>> {
        Ok(match &self.mapping {
            Some(path) => Some(pstn_lake_query::read_mapping(path)?),
            None => None,
        })
    }
}

/// `--html FILE`: every report (or NAME's) on one page, each with the filters it takes. A report
/// that fails shows its error in its section; the page is still written, and the command then
/// fails naming those reports.
async fn write_html(args: &Args, path: &Path, ui: &Ui) -> Result<()> {
    let reports = match &args.name {
        Some(name) => vec![pstn_lake_query::report(name)?],
        None => pstn_lake_query::reports(),
    };
    let params = args.params();
    // Malformed values (a 4-letter currency, --from after --to) before touching the lake.
    for report in &reports {
        report.bind(&pstn_lake_query::applicable_params(report, &params).0)?;
    }
    let mapping = args.mapping()?;
    let lake = args.lake.open_existing().await?;
    lake.check().await?;
    let session = args.as_of.session(&lake).await?;
    if let Some(rows) = &mapping {
        session.set_mapping(rows)?;
    }
    write_page(&session, &reports, &args.lake.lake, &params, path, ui).await
}

/// Writes `reports` over the lake `session` reads (named `lake` on the page) to one HTML page at
/// `path`. A report that fails shows its error in its section; the page is still written, and
/// the function then fails naming those reports.
pub async fn write_page(
    session: &LakeSession,
    reports: &[Report],
    lake: &str,
    params: &ReportParams,
    path: &Path,
    ui: &Ui,
) -> Result<()> {
    let page = session.html_page(reports, lake, params).await;
    let html = page.render();
    crate::common::write_file(path, "--html", |file| {
        Ok(std::io::Write::write_all(file, html.as_bytes())?)
    })?;
    let failed: Vec<String> = page
        .failures()
        .map(|(name, e)| format!("{name} ({e})"))
        .collect();
    ui.summary(format!(
        "wrote {} report{} to {}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        path.display()
    ));
    if !failed.is_empty() {
        bail!(
            "{} of {} reports failed; `{}` was written with the error in their place: {}",
            failed.len(),
            reports.len(),
            path.display(),
            failed.join("; ")
        );
    }
    Ok(())
}
