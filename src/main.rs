use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Documents between commits (what a crash can lose and a rerun redoes).
    #[arg(long, default_value_t = import::DEFAULT_COMMIT_EVERY)]
    commit_every: usize,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// Address to listen on.
    #[arg(long, env = "GONGWEN_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Directory imported on first start, when there is no index yet.
    #[arg(long, env = "GONGWEN_CORPUS", default_value = "corpus")]
    corpus: PathBuf,
    /// Token that write requests must present; without one the server is read-only. A flag
    /// is visible to every user of the machine (`ps`): prefer the environment variable or
    /// `--admin-token-file`.
    #[arg(long, env = "GONGWEN_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File holding the admin token (its first line).
    #[arg(long, env = "GONGWEN_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    admin_token_file: Option<PathBuf>,
    /// Connections open at once (default: half the descriptor limit, at most 1024).
    #[arg(long, env = "GONGWEN_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Origin allowed to call the API from a browser (repeat or comma-separate); CORS is off
    /// without one.
    #[arg(
        long = "cors-origin",
        env = "GONGWEN_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Largest upload, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_upload_bytes: usize,
    /// Longest a read request may take, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
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
    /// Serve the JSON API and the web page; on first start, import the corpus.
    Serve(ServeArgs),
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
    let result = match cli.command {
        Command::Inspect {
            paths,
            max_file_bytes,
        } => inspect(&paths, Pipeline { max_file_bytes }),
        Command::Import(args) => run_import(args),
        Command::Serve(args) => serve(args),
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
            let sort: Sort = sort.parse().map_err(|e| anyhow::anyhow!("--sort: {e}"))?;
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
            out(&serde_json::to_string_pretty(&response)?)?;
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
            let previous = data.live_index_dir()?;
            let (report, _) = import::reindex(&data, &options)?;
            // A running server may still be answering from the previous generation: it removes
            // it itself once it has switched.
            data.remove_unused_generations(&previous.into_iter().collect::<Vec<_>>())?;
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

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let cors = gongwen::http::Cors::from_origins(&args.cors_origins)
        .map_err(|e| anyhow::anyhow!("--cors-origin: {e}"))?;
    let admin_token = match &args.admin_token_file {
        Some(path) => {
            let token = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--admin-token-file {}: {e}", path.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            if token.is_empty() {
                anyhow::bail!(
                    "--admin-token-file {}: the file holds no token",
                    path.display()
                );
            }
            Some(token)
        }
        None => args.admin_token,
    };
    let mut limits = gongwen::http::Limits::default();
    if let Some(max) = args.max_connections {
        limits.max_connections = max;
    }
    let config = gongwen::http::ServerConfig {
        admin_token: admin_token.filter(|t| !t.is_empty()),
        cors,
        limits,
        max_upload_bytes: args.max_upload_bytes,
        request_timeout: std::time::Duration::from_secs(args.timeout_secs),
        ..Default::default()
    };
    let read_only = config.admin_token.is_none();
    let data = DataDir::new(&args.data.data);
    let index = gongwen::http::open_or_import(&data, &args.corpus)?;
    let state = gongwen::http::AppState::new(data, index, config);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr).await?;
        tracing::info!(
            addr = %listener.local_addr()?,
            documents = state.index().num_docs(),
            read_only,
            "gongwen is serving"
        );
        gongwen::http::serve(listener, state, shutdown_signal()).await
    })?;
    // Work past its request's deadline (a search, a reindex) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn run_import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        pipeline: Pipeline {
            max_file_bytes: args.max_file_bytes,
        },
        heap_bytes: args.memory_mb * 1024 * 1024,
        threads: args.threads,
        commit_every: args.commit_every,
        ..ImportOptions::default()
    };
    let report = import::import(&DataDir::new(args.data.data), &args.paths, &options)?;
    print_report(&report, args.json)
}

fn print_report(report: &import::ImportReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        out(&serde_json::to_string(report)?)?;
    } else {
        out(&format!(
            "{} files seen, {} documents indexed, {} duplicates, {} skipped, {} with warnings, {} failed, {:.1} s",
            report.files_seen,
            report.documents_indexed,
            report.duplicates,
            report.skipped,
            report.warnings,
            report.failed.len(),
            report.seconds
        ))?;
        for failure in &report.failed {
            out(&format!("failed: {}: {}", failure.path, failure.error))?;
        }
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints `text` and a newline on standard output. A reader that went away (`gongwen search …
/// | head`) is not an error: there is nobody left to tell.
fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
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
    out(&serde_json::to_string_pretty(&documents)?)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
