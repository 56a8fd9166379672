//! STUB (replaced by the jsonsse branch).
#![allow(unused, clippy::unimplemented)]
use std::ops::Range;
#[derive(Debug, thiserror::Error)]
pub enum JsonError { #[error("invalid")] Invalid, #[error("not object")] NotObject, #[error("dup")] DuplicateModel, #[error("not string")] ModelNotString }
pub struct ModelField { pub value: String, pub span: Range<usize> }
pub struct RequestScan { pub model: Option<ModelField>, pub stream: bool }
pub fn scan_request(body: &[u8]) -> Result<RequestScan, JsonError> { unimplemented!() }
pub struct RewrittenBody { pub parts: [bytes::Bytes; 3], pub len: usize }
pub fn rewrite_model(body: &bytes::Bytes, span: Range<usize>, new_value: &str) -> RewrittenBody { unimplemented!() }
