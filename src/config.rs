//! Configuration: every key of the shipped config/spcti.toml, exactly.
//!
//! The built-in defaults are `config/spcti.toml`, compiled in. A file given
//! with `--config` is laid over them (tables merge key by key; `[[group]]`
//! and `[[agent]]` lists, when the file has them, replace the defaults'),
//! then `SPCTI_<SECTION>__<KEY>` variables override single keys. Unknown keys
//! are refused naming key and file; bad values naming key, value and what is
//! allowed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use spcti_actors::access::Networks;
use spcti_actors::strategy::Strategy;
use spcti_protocol::{GroupNo, TelNum, TextEncoding, WorkNo};
use toml::{Table, Value};

/// The shipped defaults (`config/spcti.toml`).
pub const DEFAULTS: &str = include_str!("../config/spcti.toml");

/// Why a configuration was refused. Each names where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("config {file}: not valid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error("config {file}: unknown key `{key}`")]
    UnknownKey { file: String, key: String },
    #[error("config {file}: bad value for `{key}`: {value} ({allowed})")]
    BadValue {
        file: String,
        key: String,
        value: String,
        allowed: String,
    },
    #[error("environment {var}: {message}")]
    Env { var: String, message: String },
}

fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|why: String| serde::de::Error::custom(format!("\"{text}\": {why}")))
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    #[serde(deserialize_with = "from_str")]
    pub clock: ClockMode,
    /// How long a graceful stop waits for calls to end (`serve::drain`).
    pub drain_s: u32,
}

/// A list of networks: CIDRs or bare addresses.
fn networks<'de, D>(d: D) -> Result<Networks, D::Error>
where
    D: Deserializer<'de>,
{
    let entries = Vec::<String>::deserialize(d)?;
    entries
        .iter()
        .map(|e| Networks::parse_entry(e))
        .collect::<Result<Vec<_>, _>>()
        .map(Networks)
        .map_err(|why| serde::de::Error::custom(format!("\"{}\": {why}", entries.join(","))))
}

/// `[agent_udp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentUdpConfig {
    pub bind: SocketAddr,
    /// Where clients may send from; datagrams from elsewhere are dropped.
    #[serde(deserialize_with = "networks")]
    pub allow: Networks,
    #[serde(deserialize_with = "from_str")]
    pub encoding: TextEncoding,
    pub heartbeat_s: u32,
}

/// `[phone]`: 1031 desk-phone control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneConfig {
    /// The phones' networks: 1031 sends nowhere else.
    #[serde(deserialize_with = "networks")]
    pub allow: Networks,
}

/// A section that only has a bind address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindConfig {
    pub bind: SocketAddr,
}

/// `[admin]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub bind: SocketAddr,
    pub token: String,
    pub fault_injection: bool,
}

/// The database backends, chosen by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

/// `[database] url`, with its backend recognised from the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    pub url: String,
}

impl DatabaseUrl {
    /// For SQLite: the file path (relative paths are relative to the working directory).
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then(|| &self.url["sqlite://".len()..])
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url.split_once("://").ok_or(
            "expected sqlite://PATH, postgres://user:pass@host/db or mysql://user:pass@host/db",
        )?;
        let backend = match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            _ => {
                return Err(format!(
                    "unknown scheme {scheme}://; expected sqlite, postgres or mysql"
                ));
            }
        };
        if rest.is_empty() {
            return Err("the URL names no database".into());
        }
        Ok(DatabaseUrl {
            backend,
            url: url.to_owned(),
        })
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(deserialize_with = "from_str")]
    pub url: DatabaseUrl,
    pub pool_size: u32,
    #[serde(deserialize_with = "from_str")]
    pub timezone: TimeZone,
}

/// `[database] timezone`: the zone of the timestamps written to the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    Utc,
    /// The server's local zone (the `TZ` environment variable, else
    /// `/etc/localtime`), for sites whose reports read the tables as local
    /// time, as the original wrote them.
    Local,
}

impl FromStr for TimeZone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "utc" => Ok(TimeZone::Utc),
            "local" => Ok(TimeZone::Local),
            _ => Err("expected \"utc\" or \"local\"".into()),
        }
    }
}

impl TimeZone {
    /// A UTC time as this zone writes it.
    pub fn from_utc(self, t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
        match self {
            TimeZone::Utc => t,
            TimeZone::Local => {
                use chrono::TimeZone as _;
                chrono::Local.from_utc_datetime(&t).naive_local()
            }
        }
    }
}

/// `[switch] driver`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Sim,
    Sip,
}

impl FromStr for Driver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sim" => Ok(Driver::Sim),
            "sip" => Ok(Driver::Sip),
            _ => Err("expected \"sim\" or \"sip\"".into()),
        }
    }
}

/// `[switch]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchConfig {
    #[serde(deserialize_with = "from_str")]
    pub driver: Driver,
}

/// Seat extensions from "8001-8010,8020": ranges and commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions(pub Vec<TelNum>);

impl FromStr for Extensions {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const MAX: usize = 100_000;
        const ALLOWED: &str =
            "expected numbers and ranges separated by commas, like \"8001-8010,8020\"";
        let mut out: Vec<TelNum> = Vec::new();
        let mut seen = HashSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let (l, h): (u64, u64) = match (lo.parse(), hi.parse()) {
                (Ok(l), Ok(h)) if l <= h => (l, h),
                _ => return Err(ALLOWED.into()),
            };
            // Keep leading zeros and width as written ("0801-0810").
            let width = lo.len();
            for n in l..=h {
                if out.len() >= MAX {
                    return Err(format!("at most {MAX} extensions"));
                }
                let ext = format!("{n:0width$}");
                if !seen.insert(ext.clone()) {
                    return Err(format!("extension {ext} is listed twice"));
                }
                out.push(TelNum::new(ext)?);
            }
        }
        Ok(Extensions(out))
    }
}

/// `[sim]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub trunks: u32,
    #[serde(deserialize_with = "from_str")]
    pub extensions: Extensions,
    pub answer_delay_ms: u64,
    pub prompt_dir: PathBuf,
}

/// `[server] clock`: the whole server's time (the actors' timers, prompts,
/// recordings), whatever the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    Real,
    Manual,
}

impl FromStr for ClockMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(ClockMode::Real),
            "manual" => Ok(ClockMode::Manual),
            _ => Err("expected \"real\" or \"manual\"".into()),
        }
    }
}

/// `[sys]` (spcallentertask.ini [sys])
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysConfig {
    pub ring_timeout_s: u32,
    pub noanswerleave: bool,
    pub pickup_min_ring_s: u32,
    pub transtoout: bool,
    pub allow_phone_logout: bool,
    pub allow_unknown_agents: bool,
    pub caller_no: String,
    pub whitelist_only: bool,
    /// WorkNos that may supervise; empty: every agent (the original).
    pub supervisors: Vec<String>,
}

/// `[flow]` (spcallentertask.ini [flow])
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// Flow files, `<name>.json` (flows.md).
    pub dir: PathBuf,
    /// The flow of inbound calls no `[[route]]` matches.
    pub inbound: String,
    /// (startflow) the sub-flow the far party of an outbound call enters
    /// when the agent hangs up first; empty: hang up.
    pub startflow: String,
}

/// One `[[route]]`: calls to `callee` run `flow` (first match wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Exact, or a prefix ending in `*`.
    pub callee: String,
    pub flow: String,
}

/// One `[[group]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub no: u32,
    pub name: String,
    #[serde(deserialize_with = "from_str")]
    pub strategy: Strategy,
    #[serde(default)]
    pub wrap_up_s: u32,
    #[serde(default = "default_service_level_s")]
    pub service_level_s: u32,
}

fn default_service_level_s() -> u32 {
    20
}

/// An agent's membership of a group.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub no: u32,
    /// Lower is offered first.
    #[serde(default = "default_priority")]
    pub priority: u32,
}

fn default_priority() -> u32 {
    1
}

/// One `[[agent]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub work_no: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub groups: Vec<Membership>,
    /// An argon2 PHC string (`spcti hash-password`): 1001 then needs `Password`.
    #[serde(default)]
    pub password_hash: Option<String>,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub agent_udp: AgentUdpConfig,
    pub ip_seat: BindConfig,
    pub monitor: BindConfig,
    pub admin: AdminConfig,
    pub database: DatabaseConfig,
    pub switch: SwitchConfig,
    pub sim: SimConfig,
    pub sys: SysConfig,
    pub phone: PhoneConfig,
    pub flow: FlowConfig,
    pub sip: crate::sip_config::SipConfig,
    #[serde(rename = "route", default)]
    pub routes: Vec<RouteConfig>,
    #[serde(rename = "group")]
    pub groups: Vec<GroupConfig>,
    #[serde(rename = "agent")]
    pub agents: Vec<AgentConfig>,
}

/// Lays `over` onto `base`: tables merge, everything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

fn parse_table(text: &str, file: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Syntax {
        file: file.to_owned(),
        message: e.to_string().trim().replace('\n', " "),
    })
}

/// Applies `SPCTI_<SECTION>__<KEY>` overrides. A value is read as the type
/// the default has (so `SPCTI_SYS__CALLER_NO=4008001234` stays a string).
fn apply_env(
    table: &mut Table,
    defaults: &Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, raw) in vars {
        let Some(rest) = var.strip_prefix("SPCTI_") else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue; // SPCTI_TEST_PG_URL and the like are not config overrides.
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let env_err = |message: String| ConfigError::Env {
            var: var.clone(),
            message,
        };
        // `[[group]]`, `[[agent]]`, `[[route]]`: a list of tables has no
        // single key to override.
        if matches!(section.as_str(), "group" | "agent" | "route")
            || matches!(defaults.get(&section), Some(Value::Array(_)))
        {
            return Err(env_err(format!(
                "`[[{section}]]` is a list; its entries are set in the config file"
            )));
        }
        let default = defaults
            .get(&section)
            .and_then(Value::as_table)
            .and_then(|t| t.get(&key))
            .ok_or_else(|| env_err(format!("no key `{section}.{key}` to override")))?;
        let value = match default {
            Value::String(_) => Value::String(raw.clone()),
            Value::Integer(_) => raw.trim().parse::<i64>().map(Value::Integer).map_err(|_| {
                env_err(format!(
                    "`{section}.{key}` = {raw:?}: expected a whole number"
                ))
            })?,
            // Lists (allow lists, supervisors): comma-separated.
            Value::Array(_) => Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            ),
            Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Value::Boolean(true),
                "false" | "0" | "no" | "off" => Value::Boolean(false),
                _ => {
                    return Err(env_err(format!(
                        "`{section}.{key}` = {raw:?}: expected true or false"
                    )));
                }
            },
            _ => {
                return Err(env_err(format!(
                    "`{section}.{key}` cannot be set from the environment"
                )));
            }
        };
        if let Some(Value::Table(t)) = table.get_mut(&section) {
            t.insert(key, value);
        }
    }
    Ok(())
}

fn bad(
    file: &str,
    key: impl Into<String>,
    value: impl std::fmt::Display,
    allowed: &str,
) -> ConfigError {
    ConfigError::BadValue {
        file: file.to_owned(),
        key: key.into(),
        value: value.to_string(),
        allowed: allowed.to_owned(),
    }
}

impl Config {
    /// The built-in defaults.
    pub fn defaults() -> Config {
        Config::from_parts(None, std::iter::empty()).expect("the shipped defaults are valid")
    }

    /// Loads `file` (or only the defaults) with the process environment's overrides.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => Some((
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    file: path.display().to_string(),
                    source,
                })?,
                path.display().to_string(),
            )),
            None => None,
        };
        Config::from_parts(
            text.as_ref().map(|(t, f)| (t.as_str(), f.as_str())),
            std::env::vars(),
        )
    }

    /// Loads from text (`(contents, file name)`) and explicit variables.
    pub fn from_parts(
        file: Option<(&str, &str)>,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let defaults = parse_table(DEFAULTS, "built-in defaults")?;
        let mut table = defaults.clone();
        let name = file.map_or("built-in defaults", |(_, f)| f).to_owned();
        if let Some((text, file)) = file {
            merge(&mut table, parse_table(text, file)?);
        }
        apply_env(&mut table, &defaults, vars)?;

        let config: Config =
            serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
                let path = e.path().to_string();
                type_error(&name, &path, &e.into_inner().to_string())
            })?;
        config.validate(&name)?;
        Ok(config)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        if let Err(b) = self.sip.validate() {
            return Err(bad(file, b.key, b.value, &b.allowed));
        }
        if self.server.data_dir.as_os_str().is_empty() {
            return Err(bad(file, "server.data_dir", "\"\"", "a directory path"));
        }
        if self.agent_udp.heartbeat_s == 0 {
            return Err(bad(file, "agent_udp.heartbeat_s", 0, "at least 1 second"));
        }
        if !(1..=1000).contains(&self.database.pool_size) {
            return Err(bad(
                file,
                "database.pool_size",
                self.database.pool_size,
                "1 to 1000",
            ));
        }
        if self.sim.trunks > 10_000 {
            return Err(bad(file, "sim.trunks", self.sim.trunks, "0 to 10000"));
        }
        if self.sys.ring_timeout_s == 0 {
            return Err(bad(file, "sys.ring_timeout_s", 0, "at least 1 second"));
        }
        let flow_name = "a flow name: letters, digits, `_` or `-`";
        if !spcti_actors::flow::load::is_flow_name(&self.flow.inbound) {
            return Err(bad(
                file,
                "flow.inbound",
                format!("{:?}", self.flow.inbound),
                flow_name,
            ));
        }
        if !self.flow.startflow.is_empty()
            && !spcti_actors::flow::load::is_flow_name(&self.flow.startflow)
        {
            let v = format!("{:?}", self.flow.startflow);
            return Err(bad(file, "flow.startflow", v, "empty, or a flow name"));
        }
        for (i, r) in self.routes.iter().enumerate() {
            let pattern = r.callee.strip_suffix('*').unwrap_or(&r.callee);
            if r.callee.is_empty() || pattern.contains('*') {
                let v = format!("{:?}", r.callee);
                let allowed = "a dialed number, or a prefix ending in *";
                return Err(bad(file, format!("route[{i}].callee"), v, allowed));
            }
            if !spcti_actors::flow::load::is_flow_name(&r.flow) {
                return Err(bad(
                    file,
                    format!("route[{i}].flow"),
                    format!("{:?}", r.flow),
                    flow_name,
                ));
            }
        }
        let mut groups = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            if g.no == 0 {
                return Err(bad(
                    file,
                    format!("group[{i}].no"),
                    0,
                    "a group number from 1",
                ));
            }
            if !groups.insert(g.no) {
                return Err(bad(
                    file,
                    format!("group[{i}].no"),
                    g.no,
                    "each group number once",
                ));
            }
            if self
                .sim
                .extensions
                .0
                .iter()
                .any(|e| e.as_str() == g.no.to_string())
            {
                return Err(bad(
                    file,
                    format!("group[{i}].no"),
                    g.no,
                    "a number that is not also a seat extension (feature codes could not tell them apart)",
                ));
            }
        }
        for (i, w) in self.sys.supervisors.iter().enumerate() {
            if let Err(why) = WorkNo::new(w.clone()) {
                return Err(bad(
                    file,
                    format!("sys.supervisors[{i}]"),
                    format!("{w:?}"),
                    &why,
                ));
            }
        }
        let mut work_nos = HashSet::new();
        for (i, a) in self.agents.iter().enumerate() {
            if let Some(hash) = &a.password_hash {
                if let Err(why) = crate::password::check_hash(hash) {
                    // The value itself is a secret's hash: not echoed.
                    return Err(bad(
                        file,
                        format!("agent[{i}].password_hash"),
                        "(not shown)",
                        &why,
                    ));
                }
            }
            if let Err(why) = WorkNo::new(a.work_no.clone()) {
                return Err(bad(
                    file,
                    format!("agent[{i}].work_no"),
                    format!("{:?}", a.work_no),
                    &why,
                ));
            }
            if !work_nos.insert(a.work_no.as_str()) {
                return Err(bad(
                    file,
                    format!("agent[{i}].work_no"),
                    &a.work_no,
                    "each job number once",
                ));
            }
            for (j, m) in a.groups.iter().enumerate() {
                if !groups.contains(&m.no) {
                    return Err(bad(
                        file,
                        format!("agent[{i}].groups[{j}].no"),
                        m.no,
                        "a group defined by a [[group]] section",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The group with number `no`.
    pub fn group(&self, no: GroupNo) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.no == no.0)
    }
}

/// Turns serde's complaint at `path` into one of ours naming the key.
fn type_error(file: &str, path: &str, inner: &str) -> ConfigError {
    // toml appends "\nin `key`" itself; we name the key our way.
    let inner = inner.lines().next().unwrap_or_default().trim();
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        // The path may already end with the unknown field.
        let key = if path == "." || path.is_empty() {
            field.to_owned()
        } else if path.rsplit('.').next() == Some(field) {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ConfigError::UnknownKey {
            file: file.to_owned(),
            key,
        };
    }
    // serde says "invalid type: string \"x\", expected u32"; our parsers
    // say "\"x\": expected ...". Either way: value, then what is allowed.
    let (value, allowed) = match inner.split_once(": ") {
        Some((v, a)) if v.starts_with('"') => (v.to_owned(), a.to_owned()),
        _ => ("-".to_owned(), inner.to_owned()),
    };
    ConfigError::BadValue {
        file: file.to_owned(),
        key: path.to_owned(),
        value,
        allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_parts(Some((text, "test.toml")), std::iter::empty())
    }

    fn env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_parts(
            None,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_config_md() {
        let c = Config::defaults();
        assert_eq!(c.agent_udp.bind.to_string(), "0.0.0.0:5800");
        assert_eq!(c.monitor.bind.to_string(), "127.0.0.1:5804");
        assert_eq!(c.admin.bind.to_string(), "127.0.0.1:5806");
        assert_eq!(c.ip_seat.bind.to_string(), "127.0.0.1:5805");
        assert_eq!(c.database.url.sqlite_path(), Some("./data/spcti.db"));
        assert_eq!(c.sim.extensions.0.len(), 30);
        assert_eq!(c.sys.ring_timeout_s, 45);
        assert_eq!(c.groups[0].strategy, Strategy::LongestIdle);
        assert_eq!(c.agents[0].groups[0].priority, 1);
    }

    #[test]
    fn unknown_keys_name_key_and_file() {
        let e = load("[agent_udp]\nbnd = \"1.2.3.4:5\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config test.toml: unknown key `agent_udp.bnd`"
        );
        let e = load("[sytem]\nx = 1\n").unwrap_err();
        assert_eq!(e.to_string(), "config test.toml: unknown key `sytem`");
        let e = load("[[group]]\nno = 1\nname = \"a\"\nstrategy = \"random\"\ncolour = 3\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "config test.toml: unknown key `group[0].colour`"
        );
    }

    #[test]
    fn bad_values_name_key_value_and_allowed() {
        let e = load("[sys]\nring_timeout_s = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config test.toml: bad value for `sys.ring_timeout_s`"),
            "{e}"
        );
        assert!(e.contains("soon"), "{e}");
        let e = load("[agent_udp]\nencoding = \"latin1\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config test.toml: bad value for `agent_udp.encoding`: \"latin1\" (expected utf-8 or gbk)"
        );
        let e = load("[[group]]\nno = 1\nname = \"a\"\nstrategy = \"fastest\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`group[0].strategy`: \"fastest\" (expected one of longest-idle, ring-all"),
            "{e}"
        );
        let e = load("[database]\nurl = \"oracle://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`database.url`: \"oracle://x\" (unknown scheme oracle://"),
            "{e}"
        );
        let e = load("[sim]\nextensions = \"8001-\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sim.extensions`"), "{e}");
        let e = load("[[agent]]\nwork_no = \"7\"\ngroups = [{ no = 9 }]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config test.toml: bad value for `agent[0].groups[0].no`: 9 (a group defined by a [[group]] section)"
        );
        let e = load("[sys]\nring_timeout_s = 0\n").unwrap_err().to_string();
        assert!(
            e.contains("`sys.ring_timeout_s`: 0 (at least 1 second)"),
            "{e}"
        );
        let e = load("[admin]\nbind = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`admin.bind`"), "{e}");
        let e = load("[sys\n").unwrap_err().to_string();
        assert!(e.starts_with("config test.toml: not valid TOML"), "{e}");
    }

    #[test]
    fn a_file_overrides_only_what_it_names() {
        let c =
            load("[sys]\nring_timeout_s = 10\n[sim]\nextensions = \"0801-0803, 8020\"\n").unwrap();
        assert_eq!(c.sys.ring_timeout_s, 10);
        assert_eq!(c.sys.pickup_min_ring_s, 5);
        let exts: Vec<&str> = c.sim.extensions.0.iter().map(|e| e.as_str()).collect();
        assert_eq!(exts, ["0801", "0802", "0803", "8020"]);
        assert_eq!(c.groups.len(), 1);
    }

    #[test]
    fn environment_overrides_single_keys() {
        let c = env(&[
            ("SPCTI_ADMIN__BIND", "127.0.0.1:0"),
            ("SPCTI_SYS__CALLER_NO", "4008001234"),
            ("SPCTI_SYS__NOANSWERLEAVE", "true"),
            ("SPCTI_SIM__TRUNKS", "4"),
            ("SPCTI_TEST_PG_URL", "postgres://ignored"),
        ])
        .unwrap();
        assert_eq!(c.admin.bind.port(), 0);
        assert_eq!(c.sys.caller_no, "4008001234");
        assert!(c.sys.noanswerleave);
        assert_eq!(c.sim.trunks, 4);
        let e = env(&[("SPCTI_SYS__RING_TIMEOUT", "3")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "environment SPCTI_SYS__RING_TIMEOUT: no key `sys.ring_timeout` to override"
        );
        let e = env(&[("SPCTI_GROUP__NAME", "Sales")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "environment SPCTI_GROUP__NAME: `[[group]]` is a list; its entries are set in the config file"
        );
        let e = env(&[("SPCTI_SIM__TRUNKS", "many")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a whole number"), "{e}");
    }
}
