//! `pstn-lake.toml`: what `pstn-lake run` does, read with the `toml` crate. Every key is
//! documented in the file `pstn-lake init` writes ([`TEMPLATE`]) and in the README. Credentials
//! never live in the file: it names the environment variables that hold them. Unknown keys, wrong
//! types and values that cannot work are errors naming the key and its line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Result;
use pstn_lake_fetch::{ApiVersion, Cloud, Table};
use pstn_lake_sink::TableFormat;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// The commented configuration `pstn-lake init` prints.
pub const TEMPLATE: &str = include_str!("pstn-lake.toml");

/// A configuration file that cannot be used: the file, the line, the key and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}, line {line}: {key}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    /// The key as a path (`retention.keep_days`, `report[2].send_to`).
    pub key: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub lake: LakeSection,
    #[serde(default)]
    pub graph: GraphSection,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub output: OutputSection,
    #[serde(default, rename = "report")]
    pub reports: Vec<ReportEntry>,
    #[serde(default, rename = "delivery")]
    pub deliveries: BTreeMap<String, DeliveryEntry>,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<AlertEntry>,
    #[serde(default)]
    pub retention: RetentionSection,
    pub privacy: Option<PrivacySection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeSection {
    /// A folder (relative to the config file's folder) or an object store URL.
    pub path: Spanned<String>,
    pub table_format: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphSection {
    pub cloud: Spanned<String>,
    pub graph_url: Option<Spanned<String>>,
    pub login_url: Option<Spanned<String>>,
    pub api: Option<Spanned<String>>,
    pub tenant_id_env: Spanned<String>,
    pub client_id_env: Spanned<String>,
    pub client_secret_env: Spanned<String>,
    pub client_certificate_path_env: Spanned<String>,
}

impl Default for GraphSection {
    fn default() -> Self {
        let s = |v: &str| Spanned::new(0..0, v.to_owned());
        GraphSection {
            cloud: s("global"),
            graph_url: None,
            login_url: None,
            api: None,
            tenant_id_env: s("AZURE_TENANT_ID"),
            client_id_env: s("AZURE_CLIENT_ID"),
            client_secret_env: s("AZURE_CLIENT_SECRET"),
            client_certificate_path_env: s("AZURE_CLIENT_CERTIFICATE_PATH"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    pub enabled: bool,
    pub tables: Vec<Spanned<String>>,
    pub lookback: u32,
    pub concurrency: u16,
    pub strict: bool,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            enabled: true,
            tables: Vec::new(),
            lookback: pstn_lake_pipeline::SyncOptions::DEFAULT_LOOKBACK,
            concurrency: 4,
            strict: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Where each period's HTML and CSV files are kept (relative to the config file's folder).
    pub dir: Option<String>,
    /// The base URL those files are published under, for the links in webhook cards.
    pub link: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportEntry {
    pub name: Spanned<String>,
    #[serde(default = "month")]
    pub every: Spanned<String>,
    /// `every = "week"`: the weekday the week ends before (monday by default).
    pub on: Option<Spanned<String>>,
    #[serde(default)]
    pub send_to: Vec<Spanned<String>>,
    pub currency: Option<String>,
    pub country: Option<String>,
    pub user: Option<String>,
    pub limit: Option<u64>,
    pub by: Option<String>,
    pub mapping: Option<String>,
}

fn month() -> Spanned<String> {
    Spanned::new(0..0, "month".to_owned())
}

/// A `[delivery.NAME]` section as written: `kind` says which keys it takes (checked into a
/// [`Delivery`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEntry {
    pub kind: Spanned<String>,
    pub mailbox: Option<Spanned<String>>,
    pub to: Option<Spanned<Vec<String>>>,
    pub cc: Option<Spanned<Vec<String>>>,
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<u16>>,
    pub from: Option<Spanned<String>>,
    pub username_env: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub url_env: Option<Spanned<String>>,
}

/// A delivery, checked.
#[derive(Debug)]
pub enum Delivery {
    GraphMail {
        mailbox: String,
        to: Vec<String>,
        cc: Vec<String>,
    },
    Smtp {
        host: String,
        port: u16,
        from: String,
        to: Vec<String>,
        cc: Vec<String>,
        username_env: Option<String>,
        password_env: Option<String>,
        ca_file: Option<String>,
    },
    Webhook {
        url_env: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEntry {
    pub rule: Spanned<String>,
    /// A name for messages and the run log (default: the rule).
    pub name: Option<String>,
    #[serde(default)]
    pub send_to: Vec<Spanned<String>>,
    /// daily-spend: the most a day may cost, per currency (decimal strings: `EUR = "500.00"`).
    pub threshold: Option<BTreeMap<String, Spanned<String>>>,
    /// international-minutes: the most international outbound minutes a day.
    /// minute-pool: the pool's size in minutes.
    pub minutes: Option<u64>,
    /// monthly-spike: this month above the last three months' mean times this factor.
    pub factor: Option<Spanned<toml::Value>>,
    /// minute-pool: the pool's country (usage country, ISO 3166 alpha-2).
    pub country: Option<String>,
    /// minute-pool: `domestic` or `international` calls draw on it.
    pub destination: Option<Spanned<String>>,
    /// minute-pool: alert when this share of the pool (1-100) is used this month.
    pub percent: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    pub keep_days: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    pub pseudonymise: Spanned<Vec<String>>,
    pub key_env: Spanned<String>,
}

/// A configuration read and checked: everything `run` needs, resolved.
#[derive(Debug)]
pub struct Loaded {
    pub file: PathBuf,
    pub config: Config,
    /// `lake.path`, a folder resolved against the config file's folder.
    pub lake: String,
    pub table_format: Option<TableFormat>,
    pub cloud: Cloud,
    pub graph_url: Option<Url>,
    pub login_url: Option<Url>,
    pub api: Option<ApiVersion>,
    pub tables: Vec<Table>,
    pub reports: Vec<Scheduled>,
    pub alerts: Vec<super::alerts::Rule>,
    pub output_dir: PathBuf,
    pub link: Option<Url>,
    pub deliveries: BTreeMap<String, Delivery>,
}

/// A report entry checked: the catalog's report, its options and when it is due.
#[derive(Debug)]
pub struct Scheduled {
    pub report: pstn_lake_query::Report,
    pub params: pstn_lake_query::ReportParams,
    pub every: super::period::Every,
    pub send_to: Vec<String>,
    pub mapping: Option<Vec<(String, String)>>,
}

/// Reads and checks `path`: the TOML, then every value `run` will use, each error naming its key
/// and line.
pub fn load(path: &Path) -> Result<Loaded> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the config file `{}`: {e}", path.display()))?;
    let file = path.display().to_string();
    let source = Source {
        file: &file,
        text: &text,
    };
    let config: Config = toml::from_str(&text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        source.error(span, e.message().trim_end())
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check(config, &source, base, path)
}

/// The text of a config file, to turn a span into a line and a key path.
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at `span`: its line, and the key written there (with its `[section]`, and the
    /// index of a `[[report]]`/`[[alert]]` entry).
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> anyhow::Error {
        let at = span.start.min(self.text.len());
        let line = self.text[..at].matches('\n').count() + 1;
        let mut section = String::new();
        let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
        for l in self.text[..at].lines() {
            let l = l.trim();
            if let Some(name) = l.strip_prefix("[[").and_then(|s| s.split_once("]]")) {
                let name = name.0.trim().to_owned();
                let n = arrays.entry(name.clone()).or_insert(0);
                *n += 1;
                section = format!("{name}[{n}]");
            } else if let Some(name) = l.strip_prefix('[').and_then(|s| s.split_once(']')) {
                section = name.0.trim().to_owned();
            }
        }
        let this_line = self.text[..at].rsplit('\n').next().unwrap_or("").to_owned()
            + self.text[at..].split('\n').next().unwrap_or("");
        let key = this_line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_owned())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        // An error at a `[section]` header names the section.
        let header = this_line.trim();
        if let Some(name) = header.strip_prefix("[[").and_then(|s| s.split_once("]]")) {
            let name = name.0.trim().to_owned();
            section = format!("{name}[{}]", arrays.get(&name).copied().unwrap_or(0) + 1);
        } else if let Some(name) = header.strip_prefix('[').and_then(|s| s.split_once(']')) {
            section = name.0.trim().to_owned();
        }
        let key = match (key, section.is_empty()) {
            (Some(k), true) => k,
            (Some(k), false) => format!("{section}.{k}"),
            (None, false) => section,
            (None, true) => "(top level)".into(),
        };
        ConfigError {
            file: self.file.to_owned(),
            line,
            key,
            message: message.into(),
        }
        .into()
    }

    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> anyhow::Error {
        self.error(value.span(), message)
    }
}

fn check(config: Config, source: &Source, base: &Path, path: &Path) -> Result<Loaded> {
    let lake = resolve_lake(config.lake.path.get_ref(), base);
    let table_format = match &config.lake.table_format {
        Some(f) => Some(
            f.get_ref()
                .parse::<TableFormat>()
                .map_err(|e| source.at(f, e.to_string()))?,
        ),
        None => None,
    };
    let g = &config.graph;
    let cloud = g
        .cloud
        .get_ref()
        .parse::<Cloud>()
        .map_err(|e| source.at(&g.cloud, e.to_string()))?;
    let url = |u: &Option<Spanned<String>>| -> Result<Option<Url>> {
        u.as_ref()
            .map(|s| Url::parse(s.get_ref()).map_err(|e| source.at(s, format!("not a URL: {e}"))))
            .transpose()
    };
    let graph_url = url(&g.graph_url)?;
    let login_url = url(&g.login_url)?;
    let api = match &g.api {
        Some(a) => Some(
            a.get_ref()
                .parse::<ApiVersion>()
                .map_err(|e| source.at(a, e.to_string()))?,
        ),
        None => None,
    };
    for var in [
        &g.tenant_id_env,
        &g.client_id_env,
        &g.client_secret_env,
        &g.client_certificate_path_env,
    ] {
        env_name(source, var)?;
    }
    let mut tables = Vec::new();
    for t in &config.sync.tables {
        tables.push(
            t.get_ref()
                .parse::<Table>()
                .map_err(|e| source.at(t, e.to_string()))?,
        );
    }
    if !(1..=64).contains(&config.sync.concurrency) {
        return Err(source.error(
            find(source.text, "concurrency"),
            "must be from 1 to 64 (days fetched at once)",
        ));
    }
    let mut deliveries = BTreeMap::new();
    for (name, d) in &config.deliveries {
        deliveries.insert(name.clone(), check_delivery(source, name, d, base)?);
    }

    let known = |targets: &[Spanned<String>]| -> Result<Vec<String>> {
        targets
            .iter()
            .map(|t| {
                if config.deliveries.contains_key(t.get_ref()) {
                    Ok(t.get_ref().clone())
                } else {
                    Err(source.at(
                        t,
                        format!(
                            "no [delivery.{}] section: the deliveries are {}",
                            t.get_ref(),
                            names(config.deliveries.keys())
                        ),
                    ))
                }
            })
            .collect()
    };
    let mut reports = Vec::new();
    for entry in &config.reports {
        let report = pstn_lake_query::report(entry.name.get_ref())
            .map_err(|e| source.at(&entry.name, e.to_string()))?;
        let params = pstn_lake_query::ReportParams {
            from: None,
            to: None,
            currency: entry.currency.clone(),
            country: entry.country.clone(),
            user: entry.user.clone(),
            limit: entry.limit,
            by: entry.by.clone(),
        };
        report
            .bind(&params)
            .map_err(|e| source.at(&entry.name, e.to_string()))?;
        let every = super::period::Every::parse(
            entry.every.get_ref(),
            entry.on.as_ref().map(|o| o.get_ref().as_str()),
        )
        .map_err(|e| match &entry.on {
            Some(on) if e.contains("weekday") => source.at(on, e),
            _ if entry.every.span().is_empty() => source.at(&entry.name, e),
            _ => source.at(&entry.every, e),
        })?;
        let mapping = match &entry.mapping {
            Some(file) => {
                if !report.sql.contains(pstn_lake_query::MAPPING_TABLE) {
                    return Err(source.at(
                        &entry.name,
                        format!(
                            "{} does not take a mapping (charges-by-department does)",
                            report.name
                        ),
                    ));
                }
                Some(pstn_lake_query::read_mapping(&base.join(file))?)
            }
            None => None,
        };
        reports.push(Scheduled {
            report,
            params,
            every,
            send_to: known(&entry.send_to)?,
            mapping,
        });
    }
    let mut alerts = Vec::new();
    for entry in &config.alerts {
        let send_to = known(&entry.send_to)?;
        if send_to.is_empty() {
            return Err(source.at(&entry.rule, "an alert needs send_to (a [delivery.NAME])"));
        }
        alerts.push(super::alerts::Rule::from_entry(entry, send_to, source)?);
    }
    super::alerts::check_unique(&alerts)?;
    if let Some(keep) = &config.retention.keep_days
        && *keep.get_ref() == 0
    {
        return Err(source.at(keep, "must be at least 1 (0 would delete today's calls)"));
    }
    if let Some(p) = &config.privacy {
        env_name(source, &p.key_env)?;
        pstn_lake_pipeline::Privacy::new(p.pseudonymise.get_ref().clone(), p.key_env.get_ref())
            .map_err(|e| source.at(&p.pseudonymise, e.to_string()))?;
    }
    let output_dir = base.join(config.output.dir.as_deref().unwrap_or("reports"));
    let link = match &config.output.link {
        Some(l) => {
            Some(Url::parse(l.get_ref()).map_err(|e| source.at(l, format!("not a URL: {e}")))?)
        }
        None => None,
    };
    Ok(Loaded {
        file: path.to_owned(),
        lake,
        table_format,
        cloud,
        graph_url,
        login_url,
        api,
        tables,
        reports,
        alerts,
        output_dir,
        link,
        deliveries,
        config,
    })
}

fn check_delivery(source: &Source, name: &str, d: &DeliveryEntry, base: &Path) -> Result<Delivery> {
    let kind = d.kind.get_ref().as_str();
    let takes: &[&str] = match kind {
        "graph-mail" => &["mailbox", "to", "cc"],
        "smtp" => &[
            "host",
            "port",
            "from",
            "to",
            "cc",
            "username_env",
            "password_env",
            "ca_file",
        ],
        "webhook" => &["url_env"],
        other => {
            return Err(source.at(
                &d.kind,
                format!("`{other}` is not a kind of delivery: graph-mail, smtp or webhook"),
            ));
        }
    };
    let spans: [(&str, Option<Range<usize>>); 10] = [
        ("mailbox", d.mailbox.as_ref().map(Spanned::span)),
        ("to", d.to.as_ref().map(Spanned::span)),
        ("cc", d.cc.as_ref().map(Spanned::span)),
        ("host", d.host.as_ref().map(Spanned::span)),
        ("port", d.port.as_ref().map(Spanned::span)),
        ("from", d.from.as_ref().map(Spanned::span)),
        ("username_env", d.username_env.as_ref().map(Spanned::span)),
        ("password_env", d.password_env.as_ref().map(Spanned::span)),
        ("ca_file", d.ca_file.as_ref().map(Spanned::span)),
        ("url_env", d.url_env.as_ref().map(Spanned::span)),
    ];
    for (key, span) in &spans {
        if let Some(span) = span
            && !takes.contains(key)
        {
            return Err(source.error(
                span.clone(),
                format!(
                    "a {kind} delivery does not take `{key}` (it takes {})",
                    takes.join(", ")
                ),
            ));
        }
    }
    let required = |key: &str| -> anyhow::Error {
        source.at(&d.kind, format!("a {kind} delivery needs `{key}`"))
    };
    let address = |value: &Spanned<String>| -> Result<String> {
        let a = value.get_ref();
        if !a.contains('@') || a.contains(char::is_whitespace) {
            return Err(source.at(value, format!("`{a}` is not an e-mail address")));
        }
        Ok(a.clone())
    };
    let addresses =
        |list: &Option<Spanned<Vec<String>>>, needed: bool, key: &str| -> Result<Vec<String>> {
            let Some(list) = list else {
                return if needed {
                    Err(required(key))
                } else {
                    Ok(Vec::new())
                };
            };
            if needed && list.get_ref().is_empty() {
                return Err(source.at(list, "at least one recipient"));
            }
            for a in list.get_ref() {
                if !a.contains('@') || a.contains(char::is_whitespace) {
                    return Err(source.at(list, format!("`{a}` is not an e-mail address")));
                }
            }
            Ok(list.get_ref().clone())
        };
    let _ = name;
    Ok(match kind {
        "graph-mail" => Delivery::GraphMail {
            mailbox: address(d.mailbox.as_ref().ok_or_else(|| required("mailbox"))?)?,
            to: addresses(&d.to, true, "to")?,
            cc: addresses(&d.cc, false, "cc")?,
        },
        "smtp" => {
            for v in [&d.username_env, &d.password_env].into_iter().flatten() {
                env_name(source, v)?;
            }
            if d.username_env.is_some() != d.password_env.is_some() {
                return Err(source.at(
                    &d.kind,
                    "username_env and password_env go together (AUTH needs both)",
                ));
            }
            if let Some(ca) = &d.ca_file
                && !base.join(ca.get_ref()).is_file()
            {
                return Err(source.at(ca, format!("`{}` is not a file", ca.get_ref())));
            }
            let host = d.host.as_ref().ok_or_else(|| required("host"))?;
            if host.get_ref().trim().is_empty() {
                return Err(source.at(host, "an empty host"));
            }
            Delivery::Smtp {
                host: host.get_ref().clone(),
                port: d
                    .port
                    .as_ref()
                    .map_or(crate::deliver::SMTP_PORT, |p| *p.get_ref()),
                from: address(d.from.as_ref().ok_or_else(|| required("from"))?)?,
                to: addresses(&d.to, true, "to")?,
                cc: addresses(&d.cc, false, "cc")?,
                username_env: d.username_env.as_ref().map(|v| v.get_ref().clone()),
                password_env: d.password_env.as_ref().map(|v| v.get_ref().clone()),
                ca_file: d.ca_file.as_ref().map(|v| v.get_ref().clone()),
            }
        }
        _ => {
            let url_env = d.url_env.as_ref().ok_or_else(|| required("url_env"))?;
            env_name(source, url_env)?;
            Delivery::Webhook {
                url_env: url_env.get_ref().clone(),
            }
        }
    })
}

/// An environment variable's name (never its value, which is the secret).
fn env_name(source: &Source, var: &Spanned<String>) -> Result<()> {
    let name = var.get_ref();
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(source.at(
            var,
            format!(
                "`{name}` is not an environment variable's name: the file names the variable \
                 that holds a secret, never the secret itself"
            ),
        ));
    }
    Ok(())
}

/// The span of the first `needle` in `text` (for keys checked after parsing).
fn find(text: &str, needle: &str) -> Range<usize> {
    text.find(needle).map_or(0..0, |at| at..at + needle.len())
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = keys.map(String::as_str).collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

/// `lake.path`: an object store URL as written, a folder against the config file's folder.
fn resolve_lake(path: &str, base: &Path) -> String {
    if path.contains("://") || Path::new(path).is_absolute() {
        path.to_owned()
    } else {
        base.join(path).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `text` as a config file in a fresh folder.
    fn load_text(text: &str) -> Result<Loaded> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pstn-lake.toml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    /// The template with `from` replaced by `to` (which must occur).
    fn edited(from: &str, to: &str) -> String {
        assert!(TEMPLATE.contains(from), "the template has `{from}`");
        TEMPLATE.replacen(from, to, 1)
    }

    #[test]
    fn the_file_init_writes_is_a_working_config() {
        let loaded = load_text(TEMPLATE).unwrap();
        assert_eq!(loaded.reports.len(), 3);
        assert_eq!(loaded.alerts.len(), 5);
        assert_eq!(loaded.config.deliveries.len(), 2);
        assert!(
            loaded.lake.ends_with("/./lake") || loaded.lake.ends_with("/lake"),
            "{}",
            loaded.lake
        );
        assert!(loaded.output_dir.ends_with("reports"));
    }

    #[test]
    fn each_kind_of_mistake_names_its_key_and_line() {
        // A needle starting with a newline names a line that starts with the rest.
        let line_of = |text: &str, needle: &str| {
            let at = text.find(needle).unwrap() + usize::from(needle.starts_with('\n'));
            text[..at].matches('\n').count() + 1
        };
        let cases: Vec<(String, &str, &str, &str)> = vec![
            // (config, key named, text of the line it is on, words of the message)
            (
                format!("colour = 1\n{TEMPLATE}"),
                "colour",
                "colour = 1",
                "unknown field",
            ),
            (
                edited("# keep_days = 400", "keep_dayz = 400"),
                "retention.keep_dayz",
                "keep_dayz",
                "unknown field",
            ),
            (
                edited("lookback = 3", "lookback = \"three\""),
                "sync.lookback",
                "lookback = \"three\"",
                "invalid type",
            ),
            (
                edited("lookback = 3", "lookback = -3"),
                "sync.lookback",
                "lookback = -3",
                "invalid value",
            ),
            (
                edited("name = \"monthly-cost\"", "name = \"monthly-costs\""),
                "report[1].name",
                "name = \"monthly-costs\"",
                "monthly-costs",
            ),
            (
                edited("every = \"month\"", "every = \"fortnight\""),
                "report[1].every",
                "every = \"fortnight\"",
                "not a period",
            ),
            (
                edited("on = \"monday\"", "on = \"someday\""),
                "report[3].on",
                "on = \"someday\"",
                "not a weekday",
            ),
            (
                edited("by = \"cost-center\"", "by = \"team\""),
                "report[2].name",
                "name = \"charges-by-department\"",
                "team",
            ),
            (
                edited("send_to = [\"finance\"]", "send_to = [\"finanse\"]"),
                "report[1].send_to",
                "send_to = [\"finanse\"]",
                "no [delivery.finanse] section",
            ),
            (
                edited("kind = \"graph-mail\"\nmailbox", "kind = \"fax\"\nmailbox"),
                "delivery.finance.kind",
                "kind = \"fax\"",
                "not a kind of delivery",
            ),
            (
                edited(
                    "url_env = \"PSTN_LAKE_TEAMS_WEBHOOK\"",
                    "url_env = \"X\"\nhost = \"smtp.example.org\"",
                ),
                "delivery.telecom-team.host",
                "host = \"smtp.example.org\"",
                "does not take `host`",
            ),
            (
                edited(
                    "url_env = \"PSTN_LAKE_TEAMS_WEBHOOK\"",
                    "url_env = \"https://example.org/hook?sig=1\"",
                ),
                "delivery.telecom-team.url_env",
                "url_env",
                "not an environment variable's name",
            ),
            (
                edited("to = [\"finance@contoso.com\"]", "to = [\"finance\"]"),
                "delivery.finance.to",
                "\nto = [\"finance\"]",
                "not an e-mail address",
            ),
            (
                edited("rule = \"toll-fraud\"", "rule = \"toll-fraud-signals\""),
                "alert[1].rule",
                "rule = \"toll-fraud-signals\"",
                "not a rule",
            ),
            (
                edited("threshold = { EUR = \"500.00\", USD = \"600.00\" }\n", ""),
                "alert[2].rule",
                "rule = \"daily-spend\"",
                "needs `threshold`",
            ),
            (
                edited("EUR = \"500.00\"", "EUR = \"500.0.0\""),
                "alert[2].threshold",
                "threshold = ",
                "not an amount",
            ),
            (
                edited("EUR = \"500.00\"", "EUR = 500.5"),
                "alert[2].threshold",
                "threshold = ",
                "invalid type",
            ),
            (
                edited("factor = 1.5", "factor = 0.5"),
                "alert[4].factor",
                "factor = 0.5",
                "not a factor above 1",
            ),
            (
                edited("percent = 80", "percent = 180"),
                "alert[5].rule",
                "rule = \"minute-pool\"",
                "percent",
            ),
            (
                edited("# keep_days = 400", "keep_days = 0"),
                "retention.keep_days",
                "keep_days = 0",
                "at least 1",
            ),
            (
                edited("cloud = \"global\"", "cloud = \"mars\""),
                "graph.cloud",
                "cloud = \"mars\"",
                "mars",
            ),
            (
                edited(
                    "tables = [\"pstn_calls\", \"direct_routing_calls\"]",
                    "tables = [\"pstn_call\"]",
                ),
                "sync.tables",
                "tables = [\"pstn_call\"]",
                "pstn_call",
            ),
            (
                edited("concurrency = 4", "concurrency = 0"),
                "sync.concurrency",
                "concurrency = 0",
                "from 1 to 64",
            ),
            (
                edited("path = \"./lake\"\n", ""),
                "lake",
                "[lake]",
                "missing field `path`",
            ),
            (
                edited(
                    "# pseudonymise = [\"caller_number\"",
                    "[privacy]\nkey_env = \"K\"\npseudonymise = [\"caller_numbr\"",
                ),
                "privacy.pseudonymise",
                "pseudonymise = [\"caller_numbr\"",
                "caller_numbr",
            ),
        ];
        for (text, key, line_text, words) in cases {
            let e = load_text(&text)
                .err()
                .unwrap_or_else(|| panic!("{key}: accepted"));
            let e = e
                .downcast::<ConfigError>()
                .unwrap_or_else(|e| panic!("{key}: {e:#}"));
            assert_eq!(e.key, key, "{e}");
            assert_eq!(e.line, line_of(&text, line_text), "{key}: {e}");
            assert!(e.message.contains(words), "{key}: `{words}` not in {e}");
            assert!(e.to_string().contains("pstn-lake.toml, line "), "{e}");
        }
    }
}
