use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use gongwen::ingest::Pipeline;

/// gongwen (公文): full-text archive and search for Chinese government policy documents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the ingestion pipeline on files and print the documents as JSON, without indexing.
    Inspect {
        /// Files to read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Largest file accepted, in bytes.
        #[arg(long, default_value_t = gongwen::ingest::DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect {
            paths,
            max_file_bytes,
        } => inspect(&paths, Pipeline { max_file_bytes }),
    }
}

fn inspect(paths: &[PathBuf], pipeline: Pipeline) -> ExitCode {
    let mut documents = Vec::new();
    let mut failed = false;
    for path in paths {
        match pipeline.ingest_path(path) {
            Ok(docs) => documents.extend(docs),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    match serde_json::to_string_pretty(&documents) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
