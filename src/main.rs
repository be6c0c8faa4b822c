//! The `gongwen` command: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use gongwen::config::Cli;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let token_on_command_line = matches
        .subcommand_matches("serve")
        .and_then(|serve| serve.value_source("admin_token"))
        == Some(clap::parser::ValueSource::CommandLine);
    if token_on_command_line {
        tracing::warn!(
            "--admin-token is visible to every user of this machine (ps); use GONGWEN_ADMIN_TOKEN or --admin-token-file"
        );
    }
    gongwen::cli::run(cli.command)
}
