//! Configuration: the command line and the environment, parsed raw (every flag has a
//! `GONGWEN_…` variable), then validated into the settings the commands run with. A value
//! that does not validate is an error that names the flag, never silently dropped.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Largest file accepted by default, in bytes.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// gongwen (公文): full-text archive and search for Chinese government policy documents.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ingestion pipeline on files and print the documents as JSON, without indexing.
    Inspect(InspectArgs),
    /// Import files into the archive and the index.
    #[command(alias = "index")]
    Import(ImportArgs),
    /// Search the index and print the result as JSON.
    Search(SearchArgs),
    /// Write every document a query matches as CSV or JSON Lines (the total on standard error).
    Export(ExportArgs),
    /// Serve the JSON API and the web page; on first start, import the corpus.
    Serve(ServeArgs),
    /// Rebuild the index from the archive, then switch to it atomically.
    Reindex(ReindexArgs),
}

#[derive(Debug, Args)]
pub struct DataArg {
    /// Data directory: the archive of originals and the index.
    #[arg(long, env = "GONGWEN_DATA", default_value = "data")]
    pub data: PathBuf,
}

/// How a bulk write uses the machine.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Memory budget of the index writer, in MB.
    #[arg(long, env = "GONGWEN_MEMORY_MB", default_value_t = 256)]
    pub memory_mb: usize,
    /// Worker threads (0: one per core).
    #[arg(long, env = "GONGWEN_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Documents between commits (what a crash can lose and a rerun redoes).
    #[arg(long, env = "GONGWEN_COMMIT_EVERY", default_value_t = 20_000)]
    pub commit_every: usize,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Files to read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Largest file accepted, in bytes.
    #[arg(long, env = "GONGWEN_MAX_FILE_BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Files and directories to import (directories recursively, .zip members included).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Largest file accepted, in bytes.
    #[arg(long, env = "GONGWEN_MAX_FILE_BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// relevance, date_desc, date_asc or cited_by.
    #[arg(long, default_value = "relevance")]
    pub sort: String,
    /// Only the newest matching version of each regulation.
    #[arg(long)]
    pub collapse_versions: bool,
}

/// The query and filters of a search or an export.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// The query (see the README for its language); may be empty with filters.
    #[arg(default_value = "")]
    pub query: String,
    /// Only documents by this issuer (any printed form of its entity); repeated: any of them.
    #[arg(long)]
    pub issuer: Vec<String>,
    /// With --issuer: also the entities it succeeded.
    #[arg(long)]
    pub include_predecessors: bool,
    /// Only documents filed under this year; repeated: any of them.
    #[arg(long)]
    pub year: Vec<i32>,
    /// Only documents of this type (通知, 意见 …); repeated: any of them.
    #[arg(long = "type")]
    pub doc_type: Vec<String>,
    /// Only documents with this subject word; repeated: any of them.
    #[arg(long)]
    pub subject: Vec<String>,
    /// Only the document with this number.
    #[arg(long)]
    pub number: Option<String>,
    /// Earliest date (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Latest date (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// in_force, superseded, repealed or expired; repeated: any of them.
    #[arg(long)]
    pub status: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// csv (UTF-8 with a byte-order mark) or jsonl.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Fields of each row, comma-separated (default: id, title, issuers, doc_number, date,
    /// doc_type, subject_words, status, cited_by_count).
    #[arg(long, default_value = "")]
    pub fields: String,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Address to listen on.
    #[arg(long, env = "GONGWEN_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Directory imported on first start, when there is no index yet.
    #[arg(long, env = "GONGWEN_CORPUS", default_value = "corpus")]
    pub corpus: PathBuf,
    /// Token that write requests must present; without one the server is read-only. A flag
    /// is visible to every user of the machine (`ps`): prefer the environment variable or
    /// `--admin-token-file`.
    #[arg(long, env = "GONGWEN_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the admin token (its first line).
    #[arg(long, env = "GONGWEN_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    pub admin_token_file: Option<PathBuf>,
    /// Origin allowed to call the API from a browser (repeat or comma-separate; `*` alone for
    /// any); CORS is off without one.
    #[arg(
        long = "cors-origin",
        env = "GONGWEN_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Largest upload, in bytes.
    #[arg(long, env = "GONGWEN_MAX_UPLOAD_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_upload_bytes: usize,
    /// Longest a read request may take, in seconds.
    #[arg(long, env = "GONGWEN_TIMEOUT_SECS", default_value_t = 30)]
    pub timeout_secs: u64,
    /// Connections open at once (default: half the descriptor limit, at most 1024).
    #[arg(long, env = "GONGWEN_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

/// A value that does not validate, and the flag it came from.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

fn invalid(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        flag,
        message: message.into(),
    }
}

/// Which browser origins may call the API (CORS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No cross-origin calls (no CORS headers).
    #[default]
    Off,
    /// Any origin (`*`). Browsers send no cookies to a wildcard; a write still needs the
    /// bearer token.
    Any,
    /// These origins, each `scheme://host[:port]`.
    Origins(Vec<String>),
}

impl Cors {
    /// From the origins an operator listed: none for off, `*` alone for any, else each a
    /// `scheme://host[:port]` origin.
    pub fn from_origins(origins: &[String]) -> Result<Cors, String> {
        let origins: Vec<&str> = origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .collect();
        match origins.as_slice() {
            [] => Ok(Cors::Off),
            ["*"] => Ok(Cors::Any),
            list if list.contains(&"*") => {
                Err("`*` allows every origin and cannot be combined with others".to_string())
            }
            list => list
                .iter()
                .map(|origin| {
                    let (scheme, host) = origin.split_once("://").ok_or_else(|| {
                        format!("`{origin}` is not an origin such as https://portal.example")
                    })?;
                    let printable = origin.bytes().all(|b| b.is_ascii_graphic());
                    if !matches!(scheme, "http" | "https")
                        || host.is_empty()
                        || host.contains('/')
                        || !printable
                    {
                        return Err(format!(
                            "`{origin}` is not an origin such as https://portal.example (scheme and host, no path)"
                        ));
                    }
                    Ok(origin.to_string())
                })
                .collect::<Result<_, _>>()
                .map(Cors::Origins),
        }
    }
}

/// Limits on the connections themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a client may take to send a request head, or to start one on an idle
    /// keep-alive connection.
    pub header_timeout: Duration,
    /// Longest a response may wait for the client to read it.
    pub write_stall: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Longest the requests in flight may run once shutdown is asked for.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            write_stall: Duration::from_secs(30),
            max_connections: default_max_connections(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Half the process's descriptor limit (the index needs the rest), at most 1024.
fn default_max_connections() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    (soft / 2).clamp(16, 1024)
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Token that write requests must present; `None` makes the server read-only.
    pub admin_token: Option<String>,
    /// Which browser origins may call the API.
    pub cors: Cors,
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest file the pipeline accepts, in bytes.
    pub max_file_bytes: u64,
    /// Longest a read request may take.
    pub request_timeout: Duration,
    /// Longest an upload's body may take to arrive, in all.
    pub body_timeout: Duration,
    pub limits: Limits,
    /// How often to look for changes other processes made (commits, a published reindex).
    pub index_poll: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            admin_token: None,
            cors: Cors::Off,
            max_upload_bytes: 64 * 1024 * 1024,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(120),
            limits: Limits::default(),
            index_poll: Duration::from_secs(1),
        }
    }
}

/// What `gongwen serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub addr: String,
    pub corpus: PathBuf,
    pub server: ServerConfig,
}

impl ServeArgs {
    /// The settings, validated; the token read from its file.
    pub fn validate(self) -> Result<ServeConfig, ConfigError> {
        let cors =
            Cors::from_origins(&self.cors_origins).map_err(|e| invalid("--cors-origin", e))?;
        let admin_token = match &self.admin_token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid("--admin-token-file", format!("{}: {e}", path.display()))
                })?;
                let token = text.lines().next().unwrap_or("").trim().to_string();
                if token.is_empty() {
                    return Err(invalid(
                        "--admin-token-file",
                        format!("{}: the file holds no token", path.display()),
                    ));
                }
                Some(token)
            }
            None => self.admin_token.filter(|t| !t.trim().is_empty()),
        };
        if self.timeout_secs == 0 {
            return Err(invalid("--timeout-secs", "must be at least 1"));
        }
        let mut limits = Limits::default();
        if let Some(max) = self.max_connections {
            if max == 0 {
                return Err(invalid("--max-connections", "must be at least 1"));
            }
            limits.max_connections = max;
        }
        Ok(ServeConfig {
            data: self.data.data,
            addr: self.addr,
            corpus: self.corpus,
            server: ServerConfig {
                admin_token,
                cors,
                max_upload_bytes: self.max_upload_bytes,
                request_timeout: Duration::from_secs(self.timeout_secs),
                limits,
                ..ServerConfig::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_validated_and_a_wildcard_is_supported() {
        let origins = |list: &[&str]| {
            Cors::from_origins(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(origins(&[]), Ok(Cors::Off));
        assert_eq!(origins(&["*"]), Ok(Cors::Any));
        assert_eq!(
            origins(&["https://portal.example"]),
            Ok(Cors::Origins(vec!["https://portal.example".to_string()]))
        );
        for bad in [
            &["*", "https://a.example"][..],
            &["portal.example"],
            &["https://a.example/path"],
            &["ftp://a.example"],
            &["https://a example"],
        ] {
            let e = origins(bad).expect_err("refused");
            assert!(e.contains('`'), "{e}");
        }
    }

    #[test]
    fn every_flag_has_an_environment_variable() {
        use clap::CommandFactory;
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let positional = arg.is_positional();
                let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
                let per_call = [
                    "json", "limit", "offset", "issuer", "year", "doc_type", "subject", "number",
                    "from", "to", "sort", "status", "format", "fields", "output",
                ]
                .contains(&arg.get_id().as_str());
                if !positional
                    && !switch
                    && !per_call
                    && !matches!(arg.get_id().as_str(), "help" | "version")
                {
                    assert!(
                        arg.get_env().is_some(),
                        "`{} --{}` has no environment variable",
                        command.get_name(),
                        arg.get_id()
                    );
                }
            }
        }
    }
}
