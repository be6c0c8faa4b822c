//! The command line's commands: each takes its validated arguments, calls the library, and
//! prints its result. The progress bar of bulk writes is drawn here, not in the library.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::config::{
    Command, ExportArgs, FilterArgs, ImportArgs, InspectArgs, ReindexArgs, SearchArgs, ServeArgs,
    WriteArgs,
};
use crate::index::{LiveIndex, SearchIndex};
use crate::ingest::Pipeline;
use crate::search::{self, Filters, SearchRequest, Sort, export};
use crate::store::DataDir;
use crate::write::{ImportReport, Progress, WriteOptions, Writes};

/// How often progress is logged when there is no terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Runs `command`; an error is printed with its causes.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Inspect(args) => inspect(args),
        Command::Import(args) => import(args),
        Command::Search(args) => search(args),
        Command::Export(args) => export(args),
        Command::Serve(args) => serve(args),
        Command::Reindex(args) => reindex(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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

fn write_options(args: &WriteArgs, max_file_bytes: u64) -> WriteOptions {
    WriteOptions {
        pipeline: Pipeline { max_file_bytes },
        heap_bytes: args.memory_mb * 1024 * 1024,
        threads: args.threads,
        commit_every: args.commit_every,
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let pipeline = Pipeline {
        max_file_bytes: args.max_file_bytes,
    };
    let mut documents = Vec::new();
    let mut failed = false;
    for path in &args.paths {
        match pipeline.ingest_path(path) {
            Ok(docs) => documents.extend(docs),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    out(&serde_json::to_string_pretty(&documents)?)?;
    Ok(exit_code(!failed))
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let data = DataDir::new(args.data.data);
    let live = LiveIndex::open(&data)?;
    let writes = Writes::new(data, write_options(&args.write, args.max_file_bytes));
    let report = writes.import(&live, &args.paths, &Bar::new())?;
    print_report(&report, args.json)
}

fn reindex(args: ReindexArgs) -> anyhow::Result<ExitCode> {
    let writes = Writes::new(
        DataDir::new(args.data.data),
        write_options(&args.write, u64::MAX),
    );
    let (report, _) = writes.reindex(None, &Bar::new())?;
    print_report(&report, args.json)
}

/// The query and filters of the command line.
fn request_of(args: FilterArgs) -> anyhow::Result<SearchRequest> {
    let date = |flag: &str, value: Option<String>| -> anyhow::Result<_> {
        value
            .map(|v| v.parse().map_err(|e| anyhow::anyhow!("--{flag}: {e}")))
            .transpose()
    };
    Ok(SearchRequest {
        q: args.query,
        filters: Filters {
            issuer: args.issuer,
            doc_type: args.doc_type,
            year: args.year,
            date_from: date("from", args.from)?,
            date_to: date("to", args.to)?,
            doc_number: args
                .number
                .map(|n| n.parse().map_err(|e| anyhow::anyhow!("--number: {e}")))
                .transpose()?,
            subject: args.subject,
            status: args
                .status
                .iter()
                .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--status: {e}")))
                .collect::<anyhow::Result<_>>()?,
            include_predecessors: args.include_predecessors,
        },
        ..SearchRequest::default()
    })
}

fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let sort: Sort = args
        .sort
        .parse()
        .map_err(|e| anyhow::anyhow!("--sort: {e}"))?;
    let request = SearchRequest {
        sort,
        offset: args.offset,
        limit: args.limit,
        collapse_versions: args.collapse_versions,
        ..request_of(args.filters)?
    };
    let index = SearchIndex::open_live(&DataDir::new(args.data.data))?;
    let response = search::search(&index, &request)?;
    out(&serde_json::to_string_pretty(&response)?)?;
    Ok(ExitCode::SUCCESS)
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format: export::Format = args
        .format
        .parse()
        .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let fields =
        export::parse_fields(&args.fields).map_err(|e| anyhow::anyhow!("--fields: {e}"))?;
    let request = request_of(args.filters)?;
    let index = SearchIndex::open_live(&DataDir::new(args.data.data))?;
    let export = export::prepare(&index, &request, fields, format)?;
    eprintln!("{} documents", export.total);
    let written = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            export.write(&mut std::io::BufWriter::new(file), &|| false)?
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            match export.write(&mut stdout, &|| false) {
                // A reader that went away (`gongwen export … | head`) is not an error.
                Err(export::ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS);
                }
                result => result?,
            }
        }
    };
    eprintln!("{written} rows written");
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.validate()?;
    let read_only = config.server.admin_token.is_none();
    let data = DataDir::new(&config.data);
    let live = crate::http::open_or_import(&data, &config.corpus)?;
    let state = crate::http::AppState::new(live, config.server);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.addr).await?;
        tracing::info!(
            addr = %listener.local_addr()?,
            documents = state.index().num_docs(),
            read_only,
            "gongwen is serving"
        );
        crate::http::serve(listener, state, shutdown_signal()).await
    })?;
    // Work past its request's deadline (a search, a reindex) is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
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
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_report(report: &ImportReport, json: bool) -> anyhow::Result<ExitCode> {
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
    Ok(exit_code(report.failed.is_empty()))
}

/// A progress bar on a terminal, a log line every few seconds otherwise.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    state: std::sync::Mutex<(u64, u64, Instant)>,
}

impl Bar {
    fn new() -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} files  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Bar {
            bar,
            started: Instant::now(),
            state: std::sync::Mutex::new((0, 0, Instant::now())),
        }
    }

    fn summary(&self, report: &ImportReport) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "{} documents, {:.1} MB/s",
            report.documents_indexed,
            report.bytes as f64 / 1e6 / seconds
        )
    }
}

impl Progress for Bar {
    fn start(&self, files: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1 += files as u64;
        if let Some(bar) = &self.bar {
            bar.set_length(state.1);
        }
    }

    fn advance(&self, report: &ImportReport) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += 1;
        if let Some(bar) = &self.bar {
            bar.set_position(state.0);
            bar.set_message(self.summary(report));
        } else if state.2.elapsed() >= LOG_EVERY {
            state.2 = Instant::now();
            tracing::info!("{}/{} files, {}", state.0, state.1, self.summary(report));
        }
    }

    fn finish(&self, report: &ImportReport) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(self.summary(report));
        }
    }
}
