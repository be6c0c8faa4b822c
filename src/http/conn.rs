//! Connections: the accept loop and what guards each connection below the router.
//!
//! axum's own `serve` sets no timer, so hyper's header timeout never runs and a client that
//! sends one byte a second holds its connection (and a file descriptor) forever. Here:
//! - a connection must deliver each request head within `Limits::header_timeout` (idle
//!   keep-alive connections included), and a response the client stops reading fails after
//!   `Limits::write_stall` without progress;
//! - at most `Limits::max_connections` are open at once; past that the listener waits, so
//!   the process never runs out of descriptors for its index files;
//! - the responses hyper writes itself for requests it cannot parse (raw bytes that are not
//!   UTF-8 in the address, an address or headers over its limits) get the JSON error body every other
//!   error has;
//! - on shutdown, requests in flight finish (for at most `Limits::shutdown_grace`) and idle
//!   connections close.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use super::error::{ApiError, ErrorCode};
use crate::config::Limits;

/// Accepts connections on `listener` and serves `router` on each until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait
                    // a moment instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let io = TokioIo::new(Guarded::new(stream, limits.write_stall));
        let connection = builder.serve_connection(io, TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    // No new connections while the last requests finish.
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the shutdown grace period were cut off");
    }
    Ok(())
}

/// Bytes a waiting response must get through per `Limits::write_stall`: a client that
/// reads a byte now and then does not hold its connection.
const MIN_PROGRESS: usize = 16 * 1024;

/// A TCP stream with a stall limit on writes and JSON bodies for hyper's own error responses.
struct Guarded {
    stream: TcpStream,
    write_stall: Duration,
    /// Running while writes wait for the client, with the bytes written since it started.
    stalled: Option<(Pin<Box<Sleep>>, usize)>,
    /// Whether a read brought data since the last write: only the first write after a
    /// request arrived can be hyper's own error response.
    fresh_read: bool,
    /// A rewritten response still to be written, and how much of it has been.
    pending: Vec<u8>,
    written: usize,
}

impl Guarded {
    fn new(stream: TcpStream, write_stall: Duration) -> Guarded {
        Guarded {
            stream,
            write_stall,
            stalled: None,
            fresh_read: false,
            pending: Vec::new(),
            written: 0,
        }
    }

    /// Turns writes that got too little through into a time-out once they have waited on the
    /// client for `Limits::write_stall`.
    fn stall(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        match (&poll, &mut self.stalled) {
            (Poll::Ready(Ok(n)), Some((_, progress))) => {
                *progress += n;
                if *progress >= MIN_PROGRESS {
                    self.stalled = None;
                }
                poll
            }
            (Poll::Ready(_), _) => poll,
            (Poll::Pending, _) => {
                let write_stall = self.write_stall;
                let (timer, _) = self
                    .stalled
                    .get_or_insert_with(|| (Box::pin(tokio::time::sleep(write_stall)), 0));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading the response",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    /// Writes what is left of a rewritten response.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.written < self.pending.len() {
            let poll = Pin::new(&mut self.stream).poll_write(cx, &self.pending[self.written..]);
            let n = ready!(self.stall(cx, poll))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let filled = buf.filled().len();
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > filled {
            self.fresh_read = true;
        }
        poll
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        let first_since_read = std::mem::take(&mut this.fresh_read);
        if let Some(rewritten) = first_since_read.then(|| with_json_body(buf)).flatten() {
            this.pending = rewritten;
            this.written = 0;
            // What is not written now is written by the flush that follows.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.stall(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        let poll = Pin::new(&mut this.stream).poll_flush(cx);
        if poll.is_ready() {
            // Everything written is with the kernel: nothing waits on the client.
            this.stalled = None;
        }
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// If `head` is one of the bodiless responses hyper writes itself when it cannot parse a
/// request (400, 414, 431, `content-length: 0`), the same response with a JSON error body.
/// Every response of the router that is an error has a body, so nothing else matches.
fn with_json_body(head: &[u8]) -> Option<Vec<u8>> {
    // A bodiless head is short; anything else is passed on without a look at its bytes.
    if head.len() > 1024 || !head.starts_with(b"HTTP/1.") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let status: u16 = text.get(9..12)?.parse().ok()?;
    let message = match status {
        400 => {
            "the request could not be parsed: a malformed request line or header (in the address, bytes that are not UTF-8, quotes and control characters must be percent-encoded)"
        }
        414 => "the address is too long",
        431 => "the request's headers are too large",
        _ => return None,
    };
    if !text.ends_with("\r\n\r\n")
        || !text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let code = match status {
        400 => ErrorCode::InvalidRequest,
        414 => ErrorCode::UriTooLong,
        _ => ErrorCode::HeadersTooLarge,
    };
    let body = ApiError::new(code, message).to_json();
    let mut out = String::new();
    for line in text.trim_end().split("\r\n") {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "content-length" | "content-type" | "connection"
        ) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_own_error_responses_get_a_json_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n";
        let rewritten = String::from_utf8(with_json_body(head).unwrap()).unwrap();
        let (headers, body) = rewritten.split_once("\r\n\r\n").unwrap();
        assert!(headers.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(headers.contains(&format!("content-length: {}", body.len())));
        assert!(headers.contains("\r\ndate: Wed, 02 Dec 2026"), "{headers}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "headers_too_large");
    }

    #[test]
    fn responses_of_the_router_are_left_alone() {
        for head in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"error\":",
        ] {
            assert_eq!(with_json_body(head), None);
        }
    }
}
