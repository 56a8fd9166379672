//! Typed errors of the load tools: command line, wire-format, TLS setup and IO failures.
//! One enum per concern keeps `?` cheap and the messages precise.

use std::io;

/// A malformed HTTP/1.1 message or chunked body, seen by either tool.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The head is not valid HTTP/1.1.
    #[error("malformed HTTP head: {0}")]
    BadHead(&'static str),
    /// The head is larger than the tool accepts.
    #[error("HTTP head larger than {0} bytes")]
    HeadTooLarge(usize),
    /// The body is larger than the tool accepts.
    #[error("HTTP body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// A `Content-Length` that is not a number, or two that disagree.
    #[error("invalid content-length")]
    BadContentLength,
    /// A chunked-encoding frame that does not follow RFC 9112.
    #[error("malformed chunked encoding: {0}")]
    BadChunk(&'static str),
}

/// Errors that stop a tool before or while it starts.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A command-line argument is missing, unknown or invalid.
    #[error("{0}")]
    Usage(String),
    /// A command-line argument could not be parsed.
    #[error(transparent)]
    Args(#[from] lexopt::Error),
    /// The URL given to `sluice-load` is not one it can use.
    #[error("invalid url {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A file named on the command line could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The path as given.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// A socket, thread or runtime could not be set up.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// A histogram could not be created.
    #[error("histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    /// A worker thread died or never reported back.
    #[error("worker {0} failed to start or stopped unexpectedly")]
    Worker(usize),
}

impl ToolError {
    /// Wraps an IO error with what was being done.
    pub fn io(context: &'static str) -> impl FnOnce(io::Error) -> ToolError {
        move |source| ToolError::Io { context, source }
    }
}
