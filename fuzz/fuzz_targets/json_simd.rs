//! Every SIMD path of `json::scan_request_for` against the scalar one on arbitrary bodies.
//!
//! Input: the body as it is (JSON fixtures are seeds). The wanted keys are fixed. Each
//! path available on the CPU must reach the scalar path's verdict, and on success the
//! same values and spans; `scan_request` itself must equal the scalar result exactly,
//! error offsets included (it rescans an invalid body with the scalar path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::json::alt::{scan_request_with, Path};
use sluice::json::{scan_request, scan_request_for, JsonError};

fuzz_target!(|body: &[u8]| {
    let wanted = ["max_tokens".to_string(), "metadata".into(), "x".into()];
    let scalar = scan_request_with(body, &wanted, Path::Scalar);
    for path in Path::available() {
        let got = scan_request_with(body, &wanted, path);
        match (&got, &scalar) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{path:?}"),
            (Err(a), Err(b)) => assert_eq!(
                std::mem::discriminant(a),
                std::mem::discriminant(b),
                "{path:?}: {a:?} vs {b:?}"
            ),
            _ => panic!("{path:?} says {got:?}, scalar says {scalar:?}"),
        }
    }
    assert_eq!(scan_request_for(body, &wanted), scalar);
    let plain = scan_request_with(body, &[], Path::Scalar);
    assert_eq!(scan_request(body), plain);
    if let Err(JsonError::Invalid { offset }) = plain {
        assert!(offset <= body.len());
    }
});
