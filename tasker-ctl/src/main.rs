//! `tasker-ctl`: operator tools for Tasker (`tasker-ctl auth --help`).
//!
//! Exit codes: 0 on success; 1 when a command fails (bad input, unreadable file, a refused
//! token); 2 for a command line clap cannot parse (unknown flag, bad number, value out of range).

mod cli;
mod commands;
mod validate;
mod verify;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AuthCommand, Cli, Command};

/// A failed command: the message goes to stderr after `error: `, and the process exits 1.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Auth(AuthCommand::GenerateKeys(args)) => commands::generate_keys(&args),
        Command::Auth(AuthCommand::GenerateToken(args)) => commands::generate_token(&args),
        Command::Auth(AuthCommand::ValidateToken(args)) => validate::validate_token(&args),
        Command::Auth(AuthCommand::GenerateApiKey(args)) => commands::generate_api_key(&args),
        Command::Auth(AuthCommand::ShowPermissions) => commands::show_permissions(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}
