//! `tasker-ctl`: operator tools for Tasker (`tasker-ctl auth --help`).
//!
//! Exit codes: 0 on success; 1 when a command fails (bad input, unreadable file, a refused
//! token); 2 for a command line clap cannot parse (unknown flag, bad number, value out of range).

/// `println!` that returns a [`Failure`] instead of panicking when stdout is closed (e.g. piped
/// into `head`).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: a closed stderr loses the message, nothing more.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::write_stderr(format_args!($($arg)*))
    };
}

mod cli;
mod commands;
mod escape;
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

pub(crate) fn write_stdout(args: fmt::Arguments<'_>) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(stdout_failure)
}

/// The failure for an error writing to stdout. A reader that stopped reading (`| head -1`)
/// is not an error: the process exits 0 at once, silently, as it would have been killed by
/// SIGPIPE had Rust not ignored that signal; any other error (a full disk) is reported.
pub(crate) fn stdout_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Failure::new(format!("cannot write to stdout: {e}"))
}

pub(crate) fn write_stderr(args: fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
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
            errln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}
