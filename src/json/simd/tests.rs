//! Tests of the SIMD scan: stage 1's bit tricks against byte-at-a-time references,
//! and every path against serde_json and the scalar path on block-boundary edge cases.

use super::stage1::{escaped_bytes, prefix_xor, Classes, Classify, Portable, BLOCK};
use crate::json::differential::{check_every_path, reference, Verdict};

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

type ClassifyFn = unsafe fn(&[u8; BLOCK]) -> Classes;

/// Each path's classifier this CPU can run, with its name.
fn classifiers() -> Vec<(&'static str, ClassifyFn)> {
    #[allow(unused_mut)]
    let mut all: Vec<(&'static str, ClassifyFn)> = vec![("portable", Portable::classify)];
    #[cfg(target_arch = "x86_64")]
    {
        all.push(("sse2", super::x86::Sse2::classify));
        if super::Path::Avx2.is_available() {
            all.push(("avx2", super::x86::Avx2::classify));
        }
    }
    #[cfg(target_arch = "aarch64")]
    all.push(("neon", super::neon::Neon::classify));
    all
}

#[test]
fn classifiers_agree_with_the_portable_one_on_every_byte_value() {
    let mut rng = Rng(0x0C1A_5517_F1E5_0001);
    let mut blocks: Vec<[u8; BLOCK]> = (0..=255u8)
        .collect::<Vec<_>>()
        .chunks(BLOCK)
        .map(|c| c.try_into().unwrap())
        .collect();
    for _ in 0..200 {
        let mut block = [0u8; BLOCK];
        for b in &mut block {
            let pool = b" \t\r\n\"\\{}[]:,x\x00\x1f\x7f\x80\xff\x0c";
            *b = pool[rng.next() as usize % pool.len()];
        }
        blocks.push(block);
    }
    for block in &blocks {
        // SAFETY: `classifiers` lists only what this CPU runs.
        let want = unsafe { Portable::classify(block) };
        for (name, classify) in classifiers() {
            // SAFETY: as above.
            assert_eq!(unsafe { classify(block) }, want, "{name} on {block:?}");
        }
    }
}

#[test]
fn escape_scanner_matches_a_byte_walk_across_blocks() {
    let mut rng = Rng(0xE5CA_9E00_0000_0001);
    for _ in 0..2000 {
        // Runs of backslashes of random lengths, over four blocks.
        let bytes: Vec<bool> = (0..4 * BLOCK).map(|_| rng.next() % 3 != 0).collect();
        let mut want_escaped = vec![false; bytes.len()];
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] {
                if i + 1 < bytes.len() {
                    want_escaped[i + 1] = true;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        let mut carry = 0;
        for (block, chunk) in bytes.chunks(BLOCK).enumerate() {
            let backslash = chunk
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &b)| m | u64::from(b) << i);
            let escaped = escaped_bytes(backslash, &mut carry);
            for bit in 0..BLOCK {
                let at = block * BLOCK + bit;
                assert_eq!(escaped >> bit & 1 == 1, want_escaped[at], "escaped {at}");
            }
        }
    }
}

#[test]
fn prefix_xor_is_the_running_parity() {
    let mut rng = Rng(0x9A41_7700_0000_0001);
    for _ in 0..1000 {
        let x = rng.next() & rng.next();
        let got = prefix_xor(x);
        for bit in 0..64 {
            let parity = (x & (u64::MAX >> (63 - bit))).count_ones() % 2;
            assert_eq!(u32::from(got >> bit & 1 == 1), parity, "{x:#x} bit {bit}");
        }
    }
}

/// Checks `body` on every path and returns whether serde_json accepts it.
fn check(body: &[u8]) -> bool {
    let want = reference(body);
    check_every_path(body, &[], &want).is_ok()
}

/// Puts `piece` at every offset around the first two block boundaries, inside a
/// string value, a key and outside strings.
fn check_at_every_offset(piece: &str) {
    for pad in 0..140 {
        let x = "x".repeat(pad);
        let sp = " ".repeat(pad);
        for body in [
            format!(r#"{{"k":"{x}{piece}","model":"m","stream":true}}"#),
            format!(r#"{{"{x}{piece}":1,"model":"m"}}"#),
            format!(r#"{{"k":[{sp}{piece}{sp}],"model":"m"}}"#),
            format!(r#"{{{sp}"model"{sp}:{sp}"{x}{piece}"{sp}}}"#),
        ] {
            check(body.as_bytes());
        }
    }
}

#[test]
fn quotes_escapes_and_tokens_at_block_boundaries() {
    for piece in [
        r#"\""#,
        r"\\",
        r#"\\\""#,
        r"\\\\",
        r"\/",
        r"\n",
        r"\u00e9",
        r"\ud83d\ude00",
        "é",
        "日本",
        "😀",
        "\"",
        r"\x",
        r"\u12",
        r"\ud800",
        r"\ud800\u0041",
        r"\udc00",
        "\t",
        "\u{1}",
        "\u{7f}",
        "1",
        "-0.5e+3",
        "01",
        "1.",
        "true",
        "tru",
        "nul",
        "false",
        "1,2",
        "{}",
        "[]",
        r#"{"a":[]}"#,
        ",",
        ":",
        "\\",
        "é\"",
        "\0",
    ] {
        check_at_every_offset(piece);
    }
}

#[test]
fn backslash_runs_of_every_length() {
    for n in 0..300 {
        let run = "\\".repeat(n);
        let valid = n % 2 == 0;
        let body = format!(r#"{{"a":"{run}","model":"m"}}"#);
        assert_eq!(check(body.as_bytes()), valid, "{n} backslashes");
        let body = format!(r#"{{"a":"x{run}\"","model":"m"}}"#);
        // The run and one more backslash before the first quote: escaped iff `n` is even.
        assert_eq!(check(body.as_bytes()), valid, "{n} then an escaped quote");
    }
}

#[test]
fn short_bodies_and_truncations() {
    let body = r#"{"messages":[{"role":"user","content":"h\u00e9 \"x\" \ud83d\ude00"}],"model":"a\/b","stream":true}"#;
    for end in 0..=body.len() {
        check(&body.as_bytes()[..end]);
    }
    for body in [
        "{}",
        " {} ",
        "{\"model\":\"\"}",
        "[]",
        "\"x\"",
        "",
        " ",
        "{",
        "}",
    ] {
        check(body.as_bytes());
    }
}

#[test]
fn strings_spanning_many_blocks() {
    let long = "lorem ipsum \\\"dolor\\\" sit amet é 😀 \\u00e9 ".repeat(300);
    for body in [
        format!(r#"{{"messages":[{{"content":"{long}"}}],"model":"m{long}"}}"#),
        format!(r#"{{"{long}":"{long}","model":"m"}}"#),
        format!(r#"{{"a":"{long}"#),
        format!(r#"{{"a":"{long}\u0001","model":"m"}}"#),
    ] {
        check(body.as_bytes());
    }
}

#[test]
fn control_bytes_in_and_out_of_strings() {
    for byte in 0u8..0x20 {
        for pad in [0, 30, 31, 32, 62, 63, 64, 65, 127] {
            let c = char::from(byte);
            let x = "x".repeat(pad);
            for body in [
                format!(r#"{{"a":"{x}{c}","model":"m"}}"#),
                format!(r#"{{"a":1{c},"model":"m"}}"#),
                format!(r#"{{"a":{x:?}{c}}}"#),
            ] {
                check(body.as_bytes());
            }
        }
    }
}

#[test]
fn invalid_utf8_around_block_boundaries() {
    let bad: [&[u8]; 9] = [
        b"\x80",
        b"\xc3",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xf5",
        b"\xe6\x97",
        b"\xf0\x9f\x98",
        b"\xff",
    ];
    for pad in 55..72 {
        for piece in bad.iter().chain(["é".as_bytes(), "😀".as_bytes()].iter()) {
            let mut body = format!(r#"{{"a":"{}"#, "x".repeat(pad)).into_bytes();
            body.extend_from_slice(piece);
            body.extend_from_slice(br#"","model":"m"}"#);
            check(&body);
            // Outside a string, where only ASCII is allowed.
            let mut body = format!(r#"{{"a":{}1"#, " ".repeat(pad)).into_bytes();
            body.extend_from_slice(piece);
            body.extend_from_slice(b"}");
            assert!(!check(&body));
        }
    }
}

#[test]
fn deep_nesting_on_every_path() {
    let depth = 100_000;
    let (open, close) = ("[".repeat(depth), "]".repeat(depth));
    let body = format!(r#"{{"a":{open}{close},"model":"m"}}"#);
    let ok = Verdict::Ok {
        model: Some("m".into()),
        stream: false,
    };
    assert!(check_every_path(body.as_bytes(), &[], &ok).is_ok());
    // serde_json stops at depth 128, so these are judged by hand.
    let body = format!(r#"{{"a":{open}{}}}"#, "]".repeat(depth - 1));
    let result = check_every_path(body.as_bytes(), &[], &Verdict::Invalid);
    assert!(result.is_err());
    let body = format!(
        r#"{{"a":{}1{}}}"#,
        r#"{"b":"#.repeat(1000),
        "}".repeat(1000)
    );
    let ok = Verdict::Ok {
        model: None,
        stream: false,
    };
    assert!(check_every_path(body.as_bytes(), &[], &ok).is_ok());
}

#[test]
fn wanted_keys_agree_on_every_path() {
    let body = br#"{"messages":[{"content":"{\"max_tokens\":1}"}],"model":"m","max_tokens": 16 ,"metadata":{"tier":"gold"},"max_tokens":32,"x":"\u006d"}"#;
    let wanted = ["max_tokens".to_string(), "metadata".into(), "absent".into()];
    let want = reference(body);
    let scalar = check_every_path(body, &wanted, &want).unwrap();
    assert_eq!(scalar.fields[0].clone().map(|r| &body[r]), Some(&b"32"[..]));
}

#[test]
fn long_generated_bodies_and_their_mutations() {
    use crate::json::differential::{generate, mutate, Rng};
    let mut rng = Rng(0x1046_B0D1_E500_0001);
    let mut valid = 0;
    for _ in 0..600 {
        let parts: Vec<String> = (0..2 + rng.next() % 12)
            .map(|_| generate(&mut rng))
            .collect();
        let body = format!(r#"{{"history":[{}],"model":"m"}}"#, parts.join(","));
        valid += usize::from(check(body.as_bytes()));
        check(&mutate(&mut rng, body.as_bytes()));
    }
    assert!(valid > 500, "only {valid} valid");
}
