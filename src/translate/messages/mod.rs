//! placeholder
//!x
