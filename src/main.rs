//! The `spcti` binary.

use std::process::ExitCode;

use clap::Parser;
use spcti::cli::{self, Cli, Command, XmlCommand};
use spcti::config::Config;

fn load(path: Option<&std::path::Path>) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Xml {
            command: XmlCommand::Decode(a),
        } => cli::xml_decode(a.encoding.into()),
        Command::Xml {
            command: XmlCommand::Encode(a),
        } => cli::xml_encode(a.encoding.into()),
        Command::Xml {
            command: XmlCommand::Send(a),
        } => cli::xml_send(&a),
        Command::HashPassword => cli::hash_password(),
        Command::Migrate(a) => cli::migrate(&load(a.config.as_deref())?),
        Command::Serve(a) => {
            let config = load(a.config.as_deref())?;
            spcti::serve::run(config).map_err(|e| e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("spcti: {why}");
            ExitCode::FAILURE
        }
    }
}
