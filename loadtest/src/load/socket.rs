//! A load-generator socket, plain TCP or rustls over TCP, as one rent-style stream, and the
//! connect (with the TLS handshake) that makes one; failures say which step failed and why.

use std::io;
use std::net::SocketAddr;

use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;
use monoio::BufResult;
use monoio_rustls::{ClientTlsStream, TlsConnector, TlsError};
use rustls_pki_types::ServerName;

/// How `https://` connections are made.
#[derive(Clone)]
pub struct Tls {
    /// The shared client config.
    pub connector: TlsConnector,
    /// SNI and the name the certificate must carry.
    pub name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("name", &self.name).finish()
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TCP connect failed.
    #[error("connect: {}", describe(.0))]
    Tcp(io::Error),
    /// The TLS handshake failed.
    #[error("tls: {0}")]
    Tls(String),
}

/// An open socket.
pub enum Socket {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<ClientTlsStream<TcpStream>>),
}

impl Socket {
    /// Connects with TCP_NODELAY and, with `tls`, completes the handshake.
    pub async fn open(addr: SocketAddr, tls: Option<&Tls>) -> Result<Self, ConnectError> {
        let stream = TcpStream::connect_addr(addr)
            .await
            .map_err(ConnectError::Tcp)?;
        stream.set_nodelay(true).map_err(ConnectError::Tcp)?;
        let Some(tls) = tls else {
            return Ok(Socket::Plain(stream));
        };
        match tls.connector.connect(tls.name.clone(), stream).await {
            Ok(stream) => Ok(Socket::Tls(Box::new(stream))),
            Err(TlsError::Rustls(e)) => Err(ConnectError::Tls(e.to_string())),
            Err(TlsError::Io(e)) => Err(ConnectError::Tls(describe(&e))),
        }
    }
}

/// An IO error in a few stable words: the kind for OS errors ("connection refused"), the
/// message otherwise (a TLS alert, a bad certificate).
pub fn describe(error: &io::Error) -> String {
    match (error.raw_os_error(), error.get_ref()) {
        (None, Some(inner)) => inner.to_string(),
        _ => error.kind().to_string(),
    }
}

impl AsyncReadRent for Socket {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Socket::Plain(s) => s.read(buf).await,
            Socket::Tls(s) => s.read(buf).await,
        }
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Socket::Plain(s) => s.readv(buf).await,
            Socket::Tls(s) => s.readv(buf).await,
        }
    }
}

impl AsyncWriteRent for Socket {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Socket::Plain(s) => s.write(buf).await,
            Socket::Tls(s) => s.write(buf).await,
        }
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Socket::Plain(s) => s.writev(buf).await,
            Socket::Tls(s) => s.writev(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Plain(s) => s.flush().await,
            Socket::Tls(s) => s.flush().await,
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Socket::Plain(s) => s.shutdown().await,
            Socket::Tls(s) => s.shutdown().await,
        }
    }
}
