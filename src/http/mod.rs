//! STUB (replaced by the http branch): the API the proxy codes against.
#![allow(unused, clippy::unimplemented)]

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("headers too large")]
    HeadersTooLarge,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method { Get, Post, Put, Patch, Delete, Head, Options, Other(String) }
impl Method { pub fn as_str(&self) -> &str { unimplemented!() } }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming { None, Length(u64), Chunked }
#[derive(Debug, Clone)]
pub struct Header { pub name: String, pub value: Vec<u8> }
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method, pub target: String, pub minor_version: u8, pub headers: Vec<Header>,
    pub framing: BodyFraming, pub keep_alive: bool, pub expect_continue: bool,
    pub close_after_response: bool, pub connection_tokens: Vec<String>, pub head_len: usize,
}
impl RequestHead {
    pub fn header(&self, name: &str) -> Option<&[u8]> { unimplemented!() }
    pub fn path(&self) -> &str { unimplemented!() }
    pub fn query(&self) -> Option<&str> { unimplemented!() }
}
pub fn parse_request_head(buf: &[u8], max_header_bytes: usize) -> Result<Option<RequestHead>, HttpError> { unimplemented!() }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming { Empty, Length(u64), Chunked, Close }
#[derive(Debug, Clone)]
pub struct ResponseHead { pub status: u16, pub reason: String, pub minor_version: u8, pub headers: Vec<Header>, pub framing: ResponseFraming, pub keep_alive: bool, pub head_len: usize }
impl ResponseHead { pub fn is_informational(&self) -> bool { unimplemented!() } }
pub fn parse_response_head(buf: &[u8], request_was_head: bool) -> Result<Option<ResponseHead>, HttpError> { unimplemented!() }
pub struct ChunkedDecoder {}
pub struct ChunkProgress { pub consumed: usize, pub done: bool }
impl ChunkedDecoder { pub fn new() -> Self { unimplemented!() } pub fn feed(&mut self, input: &[u8], on_data: impl FnMut(&[u8])) -> Result<ChunkProgress, HttpError> { unimplemented!() } }
pub fn write_chunk_header(len: usize, out: &mut Vec<u8>) { unimplemented!() }
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
pub struct HeadWriter {}
impl HeadWriter {
    pub fn request_line(method: &str, target: &str) -> Self { unimplemented!() }
    pub fn status_line(status: u16) -> Self { unimplemented!() }
    pub fn header(&mut self, name: &str, value: &[u8]) { unimplemented!() }
    pub fn finish(self) -> Vec<u8> { unimplemented!() }
}
pub fn is_hop_by_hop(name: &str) -> bool { unimplemented!() }
