//! The `spcti` command line.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use spcti_protocol::{MAX_DATAGRAM, TextEncoding};

use crate::config::Config;

/// spcti: call-center middleware between the switch, agents and monitors.
#[derive(Debug, Parser)]
#[command(name = "spcti", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (built-in defaults when no --config is given).
    Serve(ConfigArg),
    /// Run pending database migrations and exit.
    Migrate(ConfigArg),
    /// Read a password on standard input and print its argon2id hash for
    /// `[[agent]] password_hash`.
    HashPassword,
    /// Operator tools for the XML wire protocol.
    Xml {
        #[command(subcommand)]
        command: XmlCommand,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file (TOML, see config/spcti.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum XmlCommand {
    /// Read one datagram on standard input and print it as one JSON object.
    Decode(EncodingArg),
    /// Read one JSON object on standard input and write the datagram.
    Encode(EncodingArg),
    /// Send the datagram on standard input to ADDR and print every datagram
    /// that comes back (replies and events) as a JSON line.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Where to send, e.g. 127.0.0.1:5800.
    pub addr: std::net::SocketAddr,
    /// How long to keep printing what comes back, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub listen_ms: u64,
    #[command(flatten)]
    pub encoding: EncodingArg,
}

#[derive(Debug, Args)]
pub struct EncodingArg {
    /// The datagram's text encoding.
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: EncodingName,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingName {
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "gbk")]
    Gbk,
}

impl From<EncodingName> for TextEncoding {
    fn from(e: EncodingName) -> Self {
        match e {
            EncodingName::Utf8 => TextEncoding::Utf8,
            EncodingName::Gbk => TextEncoding::Gbk,
        }
    }
}

/// Reads at most one byte past the datagram limit, so a huge input is
/// refused as too large without being held in memory.
fn read_stdin(limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(limit as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// `spcti xml decode`: exit 0 with JSON on stdout, or 1 with the reason on stderr.
pub fn xml_decode(encoding: TextEncoding) -> Result<(), String> {
    let bytes = read_stdin(MAX_DATAGRAM).map_err(|e| format!("cannot read standard input: {e}"))?;
    let env = spcti_protocol::decode(&bytes, encoding)
        .and_then(|e| e.known())
        .map_err(|e| e.to_string())?;
    println!("{}", spcti_protocol::to_json(&env));
    Ok(())
}

/// `spcti xml encode`: exit 0 with the datagram on stdout, or 1 with the reason.
pub fn xml_encode(encoding: TextEncoding) -> Result<(), String> {
    let bytes = read_stdin(1 << 20).map_err(|e| format!("cannot read standard input: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let env = spcti_protocol::from_json(&value)
        .and_then(|e| e.known())
        .map_err(|e| e.to_string())?;
    let out = spcti_protocol::encode(&env.message, env.seq.as_deref(), encoding);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|_| stdout.flush())
        .map_err(|e| format!("cannot write standard output: {e}"))
}

/// `spcti xml send`: a datagram out, whatever comes back printed as JSON.
pub fn xml_send(args: &SendArgs) -> Result<(), String> {
    let encoding: TextEncoding = args.encoding.encoding.into();
    let bytes = read_stdin(MAX_DATAGRAM).map_err(|e| format!("cannot read standard input: {e}"))?;
    // Check it first: a typo is reported here rather than as a 9000.
    spcti_protocol::decode(&bytes, encoding).map_err(|e| e.to_string())?;
    let bind = if args.addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket =
        std::net::UdpSocket::bind(bind).map_err(|e| format!("cannot open a socket: {e}"))?;
    socket
        .send_to(&bytes, args.addr)
        .map_err(|e| format!("cannot send to {}: {e}", args.addr))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(args.listen_ms);
    let mut buf = vec![0u8; 65_536];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => match spcti_protocol::decode(&buf[..n], encoding) {
                Ok(env) => println!("{}", spcti_protocol::to_json(&env)),
                Err(e) => println!("{}", serde_json::json!({ "undecodable": e.to_string() })),
            },
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(format!("receive failed: {e}")),
        }
    }
}

/// `spcti hash-password`: the first line of standard input (the password,
/// so it never shows in the process list or the shell's history).
pub fn hash_password() -> Result<(), String> {
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    println!("{}", crate::password::hash(password)?);
    Ok(())
}

/// `spcti migrate`.
pub fn migrate(config: &Config) -> Result<(), String> {
    let applied = crate::storage::db::migrate(&config.database.url).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in applied {
            println!("applied {name}");
        }
    }
    Ok(())
}
