//! `pstn-lake init` and `pstn-lake run --config FILE`: the unattended run. In order: sync as
//! configured, run each report due for its latest finished period and deliver it, check the alert
//! rules and send those that hold, then retention. What was delivered is recorded in the lake
//! ([`pstn_lake_sink::RunLog`]) once its destination accepted it, so a repeated run sends nothing
//! twice; the run lock refuses a second run on the lake while one is going. The exit code names
//! the first step that failed ([`StepFailed`]); later steps still run where they can.

pub mod alerts;
pub mod config;
pub mod period;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{Days, NaiveDate, Utc};
use pstn_lake_fetch::{CredentialVars, Credentials, GraphClient, GraphConfig};
use pstn_lake_pipeline::{Lake, SyncOptions};
use pstn_lake_query::LakeSession;
use pstn_lake_sink::{LakeLock, RunLog};
use url::Url;

use crate::common::{Ui, ctrl_c, parse_date};
use crate::deliver::{self, Deliverer, Message, Target};
use config::{Delivery, Loaded};
use period::Period;

#[derive(Debug, clap::Args)]
#[command(after_help = RUN_HELP)]
pub struct Args {
    /// The configuration file (`pstn-lake init > pstn-lake.toml` writes a commented one).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Say what the run would fetch, send and delete, and do none of it (reads the lake only).
    #[arg(long)]
    pub dry_run: bool,

    /// Run as on this UTC day (YYYY-MM-DD) instead of today: its periods, its alerts, its
    /// retention (to send a period again, or to test a config on an old lake).
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub today: Option<NaiveDate>,
}

const RUN_HELP: &str = "\
Exit codes (the first step that failed; the later steps still run where they can):
  0   done
  1   the config file, the lake or the credentials cannot be used (nothing was done)
  3   done, but rows that could not be landed are in <lake>/_pstn_lake/quarantine/
  4   done, but Graph refused a table (the summary names it and the permission)
  10  the sync failed: reports and alerts were not run (their data may be incomplete); retention ran
  11  a report failed
  12  a delivery failed (the others were sent; the next run sends the failed ones)
  13  an alert rule could not be checked
  14  retention failed
  16  another `pstn-lake run` is running on this lake
  130 Ctrl-C; 143 SIGTERM";

/// `pstn-lake init`: prints a commented configuration to standard output.
#[derive(Debug, clap::Args)]
pub struct InitArgs {}

pub fn init(_args: InitArgs) -> Result<()> {
    crate::common::to_stdout(|out| Ok(std::io::Write::write_all(out, config::TEMPLATE.as_bytes())?))
}

/// A step of the run that failed, with the exit code that names it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StepFailed {
    pub code: u8,
    pub message: String,
}

/// The steps, by exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Quarantined = 3,
    Partial = 4,
    Sync = 10,
    Report = 11,
    Delivery = 12,
    Alert = 13,
    Retention = 14,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let loaded = config::load(&args.config)?;
    let today = args.today.unwrap_or_else(|| Utc::now().date_naive());
    let secrets = Secrets::read(&loaded)?;
    let lake = Lake::open(&loaded.lake)?;
    if args.dry_run {
        return dry_run(&loaded, &lake, today, ui).await;
    }
    let lock = match LakeLock::acquire_run(&lake).await {
        Ok(lock) => lock,
        Err(e @ pstn_lake_sink::Error::Locked(_)) => {
            return Err(StepFailed {
                code: 16,
                message: e.to_string(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = steps(&loaded, &secrets, &lake, today, ui).await;
    let released = lock.release().await;
    let failures = outcome?;
    released?;
    if let Some((step, _)) = failures.iter().min_by_key(|(s, _)| *s) {
        let lines: Vec<String> = failures.iter().map(|(_, m)| m.clone()).collect();
        return Err(StepFailed {
            code: *step as u8,
            message: lines.join("\n       "),
        }
        .into());
    }
    Ok(())
}

/// The secrets the config names, read from the environment before anything is done (a missing
/// one stops the run at once, naming the variable, never its value).
struct Secrets {
    /// The variables holding the app's credentials, checked readable (read again where used:
    /// the sync and the Graph mailer each take their own).
    credentials: Option<CredentialVars>,
    /// Per delivery name: its target with the secrets filled in.
    targets: BTreeMap<String, Target>,
    privacy: Option<pstn_lake_pipeline::Privacy>,
}

impl Secrets {
    fn read(loaded: &Loaded) -> Result<Secrets> {
        let c = &loaded.config;
        let needs_graph = c.sync.enabled
            || loaded
                .deliveries
                .values()
                .any(|d| matches!(d, Delivery::GraphMail { .. }));
        let credentials = if needs_graph {
            let g = &c.graph;
            let names = CredentialVars {
                tenant_id: g.tenant_id_env.get_ref().clone().into(),
                client_id: g.client_id_env.get_ref().clone().into(),
                client_secret: g.client_secret_env.get_ref().clone().into(),
                client_certificate_path: g.client_certificate_path_env.get_ref().clone().into(),
            };
            Credentials::from_env_names(&names).with_context(|| {
                format!("{}: [graph]: the app's credentials", loaded.file.display())
            })?;
            Some(names)
        } else {
            None
        };
        let var = |name: &str, key: &str| -> Result<String> {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .with_context(|| {
                    format!(
                        "{}: {key}: the environment variable {name} is not set",
                        loaded.file.display()
                    )
                })
        };
        let base = loaded.file.parent().unwrap_or(Path::new("."));
        let mut targets = BTreeMap::new();
        for (name, d) in &loaded.deliveries {
            let target = match d {
                Delivery::GraphMail { mailbox, to, cc } => Target::GraphMail {
                    mailbox: mailbox.clone(),
                    to: to.clone(),
                    cc: cc.clone(),
                },
                Delivery::Smtp {
                    host,
                    port,
                    from,
                    to,
                    cc,
                    username_env,
                    password_env,
                    ca_file,
                } => Target::Smtp(deliver::Smtp {
                    host: host.clone(),
                    port: *port,
                    from: from.clone(),
                    to: to.clone(),
                    cc: cc.clone(),
                    username: username_env
                        .as_ref()
                        .map(|v| var(v, &format!("delivery.{name}.username_env")))
                        .transpose()?,
                    password: password_env
                        .as_ref()
                        .map(|v| var(v, &format!("delivery.{name}.password_env")))
                        .transpose()?,
                    ca_file: ca_file.as_ref().map(|f| base.join(f)),
                }),
                Delivery::Webhook { url_env } => {
                    let key = format!("delivery.{name}.url_env");
                    let text = var(url_env, &key)?;
                    // The error never repeats the URL: it is the secret.
                    let url = deliver::WebhookUrl::parse(&text).with_context(|| {
                        format!(
                            "{}: {key}: the environment variable {}",
                            loaded.file.display(),
                            url_env
                        )
                    })?;
                    Target::Webhook { url }
                }
            };
            targets.insert(name.clone(), target);
        }
        let privacy = match &c.privacy {
            Some(p) => {
                // Read again by the sync, which checks it against the lake's.
                var(p.key_env.get_ref(), "privacy.key_env")?;
                Some(pstn_lake_pipeline::Privacy::new(
                    p.pseudonymise.get_ref().clone(),
                    p.key_env.get_ref().clone(),
                )?)
            }
            None => None,
        };
        Ok(Secrets {
            credentials,
            targets,
            privacy,
        })
    }
}

impl Loaded {
    fn graph_config(&self) -> GraphConfig {
        let graph = self
            .graph_url
            .clone()
            .unwrap_or_else(|| Url::parse(self.cloud.graph_url()).expect("valid"));
        let login = self.login_url.clone().unwrap_or_else(|| {
            std::env::var("AZURE_AUTHORITY_HOST")
                .ok()
                .and_then(|h| Url::parse(&h).ok())
                .unwrap_or_else(|| Url::parse(self.cloud.login_url()).expect("valid"))
        });
        GraphConfig::new(graph, login)
    }

    fn sync_options(
        &self,
        today: NaiveDate,
        privacy: Option<pstn_lake_pipeline::Privacy>,
    ) -> SyncOptions {
        let s = &self.config.sync;
        SyncOptions::default()
            .with_days(pstn_lake_pipeline::Days::default().with_tables(self.tables.iter().copied()))
            .with_today(today)
            .with_lookback(s.lookback)
            .with_concurrency(usize::from(s.concurrency))
            .with_api(self.api)
            .with_table_format(self.table_format)
            .with_strict(s.strict)
            .with_privacy(privacy)
    }
}

async fn steps(
    loaded: &Loaded,
    secrets: &Secrets,
    lake: &Lake,
    today: NaiveDate,
    ui: &Ui,
) -> Result<Vec<(Step, String)>> {
    let mut failures: Vec<(Step, String)> = Vec::new();
    let mut data_ok = true;
    if loaded.config.sync.enabled {
        let names = secrets.credentials.as_ref().expect("read when sync is on");
        let options = loaded.sync_options(today, secrets.privacy.clone());
        let outcome = pstn_lake_pipeline::sync(
            lake,
            loaded.graph_config(),
            Credentials::from_env_names(names)?,
            &options,
            ui,
            ctrl_c(),
        )
        .await;
        match crate::common::synced(outcome, ui) {
            Ok(report) => {
                ui.summary(&report);
                if !report.quarantined.is_empty() {
                    failures.push((
                        Step::Quarantined,
                        format!(
                            "sync: {} rows could not be landed and are in the quarantine",
                            report.quarantined.len()
                        ),
                    ));
                }
                if let Err(e) = crate::common::TablesSkipped::check(&report) {
                    failures.push((Step::Partial, format!("sync: {e}")));
                }
            }
            Err(e) if e.downcast_ref::<crate::common::Interrupted>().is_some() => return Err(e),
            Err(e) => {
                data_ok = false;
                failures.push((
                    Step::Sync,
                    format!(
                        "sync failed: {}; reports and alerts were not run, the next run catches up",
                        crate::common::message(&e)
                    ),
                ));
            }
        }
    }
    if data_ok && (!loaded.reports.is_empty() || !loaded.alerts.is_empty()) {
        match lake_session(lake).await {
            Ok(Some(session)) => {
                let mut log = RunLog::load(lake).await?;
                let deliverer = Deliverer::new(graph_client(loaded, secrets)?)?;
                let mut ctx = Ctx {
                    loaded,
                    secrets,
                    lake,
                    session: &session,
                    log: &mut log,
                    deliverer: &deliverer,
                    failures: &mut failures,
                    ui,
                };
                for scheduled in &loaded.reports {
                    ctx.report(scheduled, today).await?;
                }
                for rule in &loaded.alerts {
                    ctx.alert(rule, today).await?;
                }
            }
            Ok(None) => ui.summary("the lake holds no table yet: no report and no alert to check"),
            Err(e) => failures.push((Step::Report, format!("cannot read the lake: {e:#}"))),
        }
    }
    if let Some(keep) = &loaded.config.retention.keep_days
        && let Err(e) = retention(lake, today, *keep.get_ref(), false, ui).await
    {
        failures.push((Step::Retention, format!("retention failed: {e:#}")));
    }
    Ok(failures)
}

/// A query session over the lake, or `None` when the lake holds no table yet.
async fn lake_session(lake: &Lake) -> Result<Option<LakeSession>> {
    if lake.tables().await?.is_empty() {
        return Ok(None);
    }
    lake.check().await?;
    Ok(Some(
        LakeSession::open_as_of(lake, &crate::common::known_tables(), None)
            .await
            .context("cannot open the lake for queries")?,
    ))
}

fn graph_client(loaded: &Loaded, secrets: &Secrets) -> Result<Option<GraphClient>> {
    let mails = secrets
        .targets
        .values()
        .any(|t| matches!(t, Target::GraphMail { .. }));
    if !mails {
        return Ok(None);
    }
    let names = secrets.credentials.as_ref().expect("read for graph-mail");
    let credentials = Credentials::from_env_names(names)?;
    Ok(Some(GraphClient::new(loaded.graph_config(), credentials)?))
}

/// What the report and alert steps share.
struct Ctx<'a> {
    loaded: &'a Loaded,
    secrets: &'a Secrets,
    lake: &'a Lake,
    session: &'a LakeSession,
    log: &'a mut RunLog,
    deliverer: &'a Deliverer,
    failures: &'a mut Vec<(Step, String)>,
    ui: &'a Ui,
}

impl Ctx<'_> {
    /// Runs `scheduled` for its latest period unless every destination has it, keeps its files
    /// in the output folder, and sends it to the destinations that do not have it yet.
    async fn report(&mut self, scheduled: &config::Scheduled, today: NaiveDate) -> Result<()> {
        let name = scheduled.report.name;
        let p = scheduled.every.latest(today);
        let files = ReportFiles::new(&self.loaded.output_dir, &p, name);
        let pending = self.pending("report", name, &p, &scheduled.send_to);
        if pending.is_empty() && files.html.exists() {
            return Ok(());
        }
        let params = pstn_lake_query::ReportParams {
            from: Some(p.from),
            to: Some(p.to),
            ..scheduled.params.clone()
        };
        // Each report its own mapping: none leaves the session's empty one.
        self.session
            .set_mapping(scheduled.mapping.as_deref().unwrap_or_default())?;
        let result = self.session.run_report(&scheduled.report, &params).await;
        let (schema, batches) = match result {
            Ok(r) => r,
            Err(e) => {
                self.failures.push((
                    Step::Report,
                    format!("report {name} for {} failed: {e}", p.key),
                ));
                return Ok(());
            }
        };
        let message = match self.report_message(scheduled, &params, &p, &files, &schema, &batches) {
            Ok(m) => m,
            Err(e) => {
                self.failures
                    .push((Step::Report, format!("report {name} for {}: {e:#}", p.key)));
                return Ok(());
            }
        };
        self.ui.summary(format!(
            "report {name} for {}: {} rows, written to {}",
            p.key,
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            files.html.display()
        ));
        self.send("report", name, &p, &pending, &message).await
    }

    fn report_message(
        &self,
        scheduled: &config::Scheduled,
        params: &pstn_lake_query::ReportParams,
        p: &Period,
        files: &ReportFiles,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<Message> {
        let report = &scheduled.report;
        let mut page = pstn_lake_query::HtmlPage::new(self.lake.url().to_string(), params);
        page.push(report, Ok((schema.clone(), batches.to_vec())));
        let html = page.render();
        let mut csv = Vec::new();
        pstn_lake_query::write(&mut csv, pstn_lake_query::Format::Csv, schema, batches)?;
        files.write(&html, &csv)?;
        let title = report
            .description
            .split_once(": ")
            .map_or(report.description.as_str(), |(t, _)| t);
        let rows = alerts::Rows::new(batches)?;
        let mut facts = vec![("Period".to_owned(), period_text(p))];
        facts.extend(headline(&rows));
        facts.push(("Rows".to_owned(), rows.len().to_string()));
        let link = self.loaded.link.as_ref().map(|base| {
            format!(
                "{}/{}/{}.html",
                base.as_str().trim_end_matches('/'),
                p.key,
                report.name
            )
        });
        Ok(Message {
            subject: format!("{title}, {}", period_text(p)),
            html,
            attachments: vec![pstn_lake_fetch::Attachment {
                name: format!("{}-{}.csv", report.name, p.key.replace("..", "_")),
                content_type: "text/csv".into(),
                bytes: csv,
            }],
            card: deliver::Card {
                title: format!("{title}, {}", period_text(p)),
                text: match &link {
                    Some(_) => format!("`pstn-lake report {}`", report.name),
                    None => format!("the report is in {}", files.html.display()),
                },
                facts,
                link,
            },
        })
    }

    /// Checks `rule` for its period unless every destination already has that period's alert,
    /// and sends it where it is missing when it holds.
    async fn alert(&mut self, rule: &alerts::Rule, today: NaiveDate) -> Result<()> {
        let p = rule.period(today);
        let pending = self.pending("alert", &rule.name, &p, &rule.send_to);
        if pending.is_empty() {
            return Ok(());
        }
        let fired = match rule.evaluate(self.session, &p).await {
            Ok(f) => f,
            Err(e) => {
                self.failures.push((Step::Alert, format!("{e:#}")));
                return Ok(());
            }
        };
        let Some(fired) = fired else {
            return Ok(());
        };
        self.ui
            .summary(format!("alert {}: {}", rule.name, fired.title));
        let message = alert_message(&fired);
        self.send("alert", &rule.name, &p, &pending, &message).await
    }

    /// The destinations of `targets` that the run log does not record for (what, name, period).
    fn pending(&self, what: &str, name: &str, p: &Period, targets: &[String]) -> Vec<String> {
        targets
            .iter()
            .filter(|t| self.log.sent(&log_key(what, name, p, t)).is_none())
            .cloned()
            .collect()
    }

    /// Sends `message` to each of `pending`, recording each one accepted.
    async fn send(
        &mut self,
        what: &str,
        name: &str,
        p: &Period,
        pending: &[String],
        message: &Message,
    ) -> Result<()> {
        for t in pending {
            let target = &self.secrets.targets[t];
            match self.deliverer.send(target, message).await {
                Ok(()) => {
                    self.log
                        .record(self.lake, &log_key(what, name, p, t))
                        .await?;
                    self.ui
                        .summary(format!("sent {what} {name} for {} to {t}", p.key));
                }
                Err(e) => self.failures.push((
                    Step::Delivery,
                    format!("{what} {name} for {} to {t}: {e:#}", p.key),
                )),
            }
        }
        Ok(())
    }
}

fn log_key(what: &str, name: &str, p: &Period, target: &str) -> String {
    format!("{what}/{name}/{}/{target}", p.key)
}

fn period_text(p: &Period) -> String {
    if p.from == p.to {
        p.from.to_string()
    } else {
        format!("{} to {}", p.from, p.to)
    }
}

/// A report's headline: the sum of its first money column per currency (exact decimals).
fn headline(rows: &alerts::Rows) -> Vec<(String, String)> {
    let Some(column) = ["total_charge", "charge", "call_charge", "total_call_charge"]
        .into_iter()
        .find(|c| (0..rows.len()).any(|i| rows.micros(c, i).is_some()))
    else {
        return Vec::new();
    };
    let mut totals: BTreeMap<String, i128> = BTreeMap::new();
    for i in 0..rows.len() {
        if let Some(m) = rows.micros(column, i) {
            *totals.entry(rows.text("currency", i)).or_default() += m;
        }
    }
    totals
        .into_iter()
        .map(|(currency, m)| {
            let label = if currency.is_empty() {
                column.to_owned()
            } else {
                format!("{column} {currency}")
            };
            (label, alerts::decimal(m))
        })
        .collect()
}

fn alert_message(fired: &alerts::Fired) -> Message {
    let esc = pstn_lake_query::html_escape;
    let mut html = format!(
        "<!doctype html><html><body><h2>{}</h2><p>{}</p><table>",
        esc(&fired.title),
        esc(&fired.text)
    );
    for (k, v) in &fired.facts {
        let _ = write!(
            html,
            "<tr><th align=left>{}</th><td>{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    html.push_str("</table></body></html>");
    Message {
        subject: format!("pstn-lake alert: {}", fired.title),
        html,
        attachments: Vec::new(),
        card: deliver::Card {
            title: fired.title.clone(),
            text: fired.text.clone(),
            facts: fired.facts.clone(),
            link: None,
        },
    }
}

/// Where a report's files for a period go: `<dir>/<period>/<report>.html` and `.csv`.
struct ReportFiles {
    html: PathBuf,
    csv: PathBuf,
}

impl ReportFiles {
    fn new(dir: &Path, p: &Period, name: &str) -> ReportFiles {
        let folder = dir.join(&p.key);
        ReportFiles {
            html: folder.join(format!("{name}.html")),
            csv: folder.join(format!("{name}.csv")),
        }
    }

    fn write(&self, html: &str, csv: &[u8]) -> Result<()> {
        for (path, bytes) in [(&self.html, html.as_bytes()), (&self.csv, csv)] {
            let folder = path.parent().expect("in a folder");
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            // Written whole, then renamed: a reader never sees half a file.
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, bytes)
                .and_then(|()| std::fs::rename(&tmp, path))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// Deletes days older than `keep` days before `today` (purge), and on a Delta lake vacuums the
/// files older than the table's retention.
async fn retention(lake: &Lake, today: NaiveDate, keep: u32, dry_run: bool, ui: &Ui) -> Result<()> {
    if lake.tables().await?.is_empty() {
        return Ok(());
    }
    let before = today - Days::new(u64::from(keep));
    let options = pstn_lake_pipeline::PurgeOptions {
        before,
        tables: Vec::new(),
        dry_run,
    };
    let report = pstn_lake_pipeline::purge(lake, &options).await?;
    ui.summary(format!("retention (keep_days {keep}): {report}"));
    #[cfg(feature = "delta")]
    if !dry_run && lake.table_format().await? == pstn_lake_sink::TableFormat::Delta {
        let vacuum = pstn_lake_sink::Vacuum {
            retain: chrono::Duration::hours(168),
            dry_run: false,
            force: false,
        };
        for (table, done) in pstn_lake_pipeline::maintain::vacuum(lake, &vacuum).await? {
            ui.summary(format!(
                "retention: {table}: vacuum deleted {} files replaced more than 168 hours ago",
                done.files.len()
            ));
        }
    }
    Ok(())
}

/// `--dry-run`: what the run would fetch, send and delete; reads the lake, changes nothing.
async fn dry_run(loaded: &Loaded, lake: &Lake, today: NaiveDate, ui: &Ui) -> Result<()> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pstn-lake run on {today} (dry run: nothing is fetched, sent or deleted)"
    );
    if loaded.config.sync.enabled {
        let state = pstn_lake_sink::SyncState::load(lake).await?;
        let options = loaded.sync_options(today, None);
        let plan = pstn_lake_pipeline::plan(&options, &state, today);
        let mut days: BTreeMap<&str, (NaiveDate, NaiveDate, usize)> = BTreeMap::new();
        for (table, day) in &plan.jobs {
            let e = days.entry(table.name()).or_insert((*day, *day, 0));
            e.0 = e.0.min(*day);
            e.1 = e.1.max(*day);
            e.2 += 1;
        }
        if days.is_empty() && plan.snapshots.is_empty() {
            let _ = writeln!(out, "sync: nothing to fetch");
        }
        for (table, (from, to, n)) in days {
            let _ = writeln!(out, "sync: would fetch {table} {from} to {to} ({n} days)");
        }
        for table in &plan.snapshots {
            let _ = writeln!(out, "sync: would read the {table} directory for {today}");
        }
    } else {
        let _ = writeln!(out, "sync: off ([sync] enabled = false)");
    }
    let log = RunLog::load(lake).await?;
    for s in &loaded.reports {
        let p = s.every.latest(today);
        let pending: Vec<&String> = s
            .send_to
            .iter()
            .filter(|t| log.sent(&log_key("report", s.report.name, &p, t)).is_none())
            .collect();
        let _ = writeln!(
            out,
            "report {} for {}: {}",
            s.report.name,
            p.key,
            if pending.is_empty() {
                "already sent".to_owned()
            } else {
                format!("would send to {}", join(&pending))
            }
        );
    }
    let session = lake_session(lake).await?;
    for rule in &loaded.alerts {
        let p = rule.period(today);
        let holds = match &session {
            Some(s) => match rule.evaluate(s, &p).await? {
                Some(f) => format!("holds now ({})", f.title),
                None => "does not hold now".into(),
            },
            None => "no data yet".into(),
        };
        let pending: Vec<&String> = rule
            .send_to
            .iter()
            .filter(|t| log.sent(&log_key("alert", &rule.name, &p, t)).is_none())
            .collect();
        let _ = writeln!(
            out,
            "alert {} for {}: {holds}; {}",
            rule.name,
            p.key,
            if pending.is_empty() {
                "already sent".to_owned()
            } else {
                format!(
                    "would send to {} if it holds after the sync",
                    join(&pending)
                )
            }
        );
    }
    match &loaded.config.retention.keep_days {
        Some(keep) => {
            let keep = *keep.get_ref();
            if lake.tables().await?.is_empty() {
                let _ = writeln!(out, "retention: the lake holds no table yet");
            } else {
                let before = today - Days::new(u64::from(keep));
                let report = pstn_lake_pipeline::purge(
                    lake,
                    &pstn_lake_pipeline::PurgeOptions {
                        before,
                        tables: Vec::new(),
                        dry_run: true,
                    },
                )
                .await?;
                let _ = writeln!(out, "retention (keep_days {keep}): {report}");
            }
        }
        None => {
            let _ = writeln!(out, "retention: off (no [retention] keep_days)");
        }
    }
    let _ = ui;
    crate::common::to_stdout(|o| Ok(std::io::Write::write_all(o, out.as_bytes())?))
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
