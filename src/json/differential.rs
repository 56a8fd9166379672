//! Randomised differential test (test builds only): both scanners against a
//! serde_json reference on generated and mutated chat bodies.
