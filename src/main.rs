use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use gongwen::import::{self, ImportOptions};
use gongwen::index::store::DataDir;
use gongwen::ingest::Pipeline;
use gongwen::search::{self, Filters, SearchRequest, Sort};

/// gongwen (公文): full-text archive and search for Chinese government policy documents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DataArg {
    /// Data directory: the archive of originals and the index.
    #[arg(long, env = "GONGWEN_DATA", default_value = "data")]
    data: PathBuf,
}

#[derive(Args)]
struct ImportArgs {
    #[command(flatten)]
    data: DataArg,
    /// Files and directories to import (directories recursively, .zip members included).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Largest file accepted, in bytes.
    #[arg(long, default_value_t = gongwen::ingest::DEFAULT_MAX_FILE_BYTES)]
    max_file_bytes: u64,
    /// Memory budget of the index writer, in MB.
    #[arg(long, default_value_t = 256)]
    memory_mb: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
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
    /// Import files into the archive and the index.
    #[command(alias = "index")]
    Import(ImportArgs),
    /// Search the index and print the result as JSON.
    Search {
        #[command(flatten)]
        data: DataArg,
        /// The query (see the README for its language); may be empty with filters.
        #[arg(default_value = "")]
        query: String,
        #[arg(long, default_value_t = search::DEFAULT_LIMIT)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Only documents by this issuer (any printed form).
        #[arg(long)]
        issuer: Option<String>,
        /// Only documents filed under this year.
        #[arg(long)]
        year: Option<i32>,
        /// Only documents of this type (通知, 意见 …).
        #[arg(long = "type")]
        doc_type: Option<String>,
        /// Only documents with this subject word.
        #[arg(long)]
        subject: Option<String>,
        /// Only the document with this number.
        #[arg(long)]
        number: Option<String>,
        /// Earliest date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Latest date (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// relevance, date_desc or date_asc.
        #[arg(long, default_value = "relevance")]
        sort: String,
    },
    /// Rebuild the index from the archive, then switch to it atomically.
    Reindex {
        #[command(flatten)]
        data: DataArg,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Memory budget of the index writer, in MB.
        #[arg(long, default_value_t = 256)]
        memory_mb: usize,
        /// Worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            paths,
            max_file_bytes,
        } => inspect(&paths, Pipeline { max_file_bytes }),
        Command::Import(args) => run_import(args),
        Command::Search {
            data,
            query,
            limit,
            offset,
            issuer,
            year,
            doc_type,
            subject,
            number,
            from,
            to,
            sort,
        } => (|| {
            let parse_date = |name: &str, value: Option<String>| -> anyhow::Result<_> {
                value
                    .map(|v| v.parse().map_err(|e| anyhow::anyhow!("--{name}: {e}")))
                    .transpose()
            };
            let sort = match sort.as_str() {
                "relevance" => Sort::Relevance,
                "date_desc" => Sort::DateDesc,
                "date_asc" => Sort::DateAsc,
                other => anyhow::bail!("--sort: `{other}` is not relevance, date_desc or date_asc"),
            };
            let request = SearchRequest {
                q: query,
                filters: Filters {
                    issuer,
                    doc_type,
                    year,
                    date_from: parse_date("from", from)?,
                    date_to: parse_date("to", to)?,
                    doc_number: number
                        .map(|n| n.parse().map_err(|e| anyhow::anyhow!("--number: {e}")))
                        .transpose()?,
                    subject,
                },
                sort,
                offset,
                limit,
            };
            let index = DataDir::new(data.data).open_live()?;
            let response = search::search(&index, &request)?;
            println!("{}", serde_json::to_string_pretty(&response)?);
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Reindex {
            data,
            json,
            memory_mb,
            threads,
        } => (|| {
            let options = ImportOptions {
                heap_bytes: memory_mb * 1024 * 1024,
                threads,
                ..ImportOptions::default()
            };
            let data = DataDir::new(data.data);
            let (report, _) = import::reindex(&data, &options)?;
            data.remove_unused_generations(&[])?;
            print_report(&report, json)
        })(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        pipeline: Pipeline {
            max_file_bytes: args.max_file_bytes,
        },
        heap_bytes: args.memory_mb * 1024 * 1024,
        threads: args.threads,
        ..ImportOptions::default()
    };
    let report = import::import(&DataDir::new(args.data.data), &args.paths, &options)?;
    print_report(&report, args.json)
}

fn print_report(report: &import::ImportReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        println!(
            "{} files seen, {} documents indexed, {} duplicates, {} skipped, {} with warnings, {} failed, {:.1} s",
            report.files_seen,
            report.documents_indexed,
            report.duplicates,
            report.skipped,
            report.warnings,
            report.failed.len(),
            report.seconds
        );
        for failure in &report.failed {
            println!("failed: {}: {}", failure.path, failure.error);
        }
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn inspect(paths: &[PathBuf], pipeline: Pipeline) -> anyhow::Result<ExitCode> {
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
    println!("{}", serde_json::to_string_pretty(&documents)?);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
