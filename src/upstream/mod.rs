//! STUB (replaced by the upstream branch): the API the proxy codes against.
#![allow(unused, clippy::unimplemented)]
use std::path::PathBuf;
use std::sync::Arc;
use crate::config::UpstreamConfig;
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerKey { pub tls: bool, pub host: String, pub port: u16, pub ca_file: Option<PathBuf> }
pub struct UpstreamShared {}
impl UpstreamShared { pub fn new(cfg: &UpstreamConfig, hosts: &[(String, u16)], ca: &[PathBuf]) -> Result<Self, UpstreamError> { unimplemented!() } }
pub enum Conn { Plain(monoio::net::TcpStream) }
impl monoio::io::AsyncReadRent for Conn {
    async fn read<T: monoio::buf::IoBufMut>(&mut self, buf: T) -> monoio::BufResult<usize, T> { unimplemented!() }
    async fn readv<T: monoio::buf::IoVecBufMut>(&mut self, buf: T) -> monoio::BufResult<usize, T> { unimplemented!() }
}
impl monoio::io::AsyncWriteRent for Conn {
    async fn write<T: monoio::buf::IoBuf>(&mut self, buf: T) -> monoio::BufResult<usize, T> { unimplemented!() }
    async fn writev<T: monoio::buf::IoVecBuf>(&mut self, buf: T) -> monoio::BufResult<usize, T> { unimplemented!() }
    async fn flush(&mut self) -> std::io::Result<()> { unimplemented!() }
    async fn shutdown(&mut self) -> std::io::Result<()> { unimplemented!() }
}
pub struct Upstream {}
pub struct Checkout { pub conn: Conn, pub reused: bool }
#[derive(Debug)]
pub struct PoolStats { pub idle: usize, pub in_use: usize, pub connects: u64, pub reuses: u64 }
impl Upstream {
    pub fn new(shared: Arc<UpstreamShared>, cfg: &UpstreamConfig) -> Self { unimplemented!() }
    pub async fn checkout(&self, peer: &PeerKey) -> Result<Checkout, UpstreamError> { unimplemented!() }
    pub async fn connect(&self, peer: &PeerKey) -> Result<Checkout, UpstreamError> { unimplemented!() }
    pub fn checkin(&self, peer: &PeerKey, conn: Conn) { unimplemented!() }
    pub fn stats(&self) -> PoolStats { unimplemented!() }
}
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("dns {host}")] Dns { host: String },
    #[error("connect {0}")] Connect(std::io::Error),
    #[error("connect timeout")] ConnectTimeout,
    #[error("tls {0}")] Tls(std::io::Error),
}
