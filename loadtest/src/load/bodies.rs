//! The requests of one load, taken in turn: one, or one per line of `--bodies FILE`, each
//! `__NONCE__` made the request's own number and `__CYCLE__` the pass over the list.

use std::rc::Rc;

/// Replaced in a body by the request's number, zero-padded to the same nine bytes.
pub const NONCE: &[u8] = b"__NONCE__";
/// Replaced by the number of the pass over the list (so passes share no content, while
/// one pass's requests share what they repeat), zero-padded to nine bytes.
pub const CYCLE: &[u8] = b"__CYCLE__";

/// One rendered request and where its placeholders are.
struct Rendered {
    bytes: Rc<Vec<u8>>,
    nonces: Vec<usize>,
    cycles: Vec<usize>,
}

/// A worker's requests (built on its own thread: the bytes are shared with `Rc`).
pub struct Requests {
    rendered: Vec<Rendered>,
}

impl Requests {
    /// `requests`: complete requests (head and body), at least one.
    pub fn new(requests: &[Vec<u8>]) -> Requests {
        let rendered = requests
            .iter()
            .map(|bytes| Rendered {
                nonces: memchr::memmem::find_iter(bytes, NONCE).collect(),
                cycles: memchr::memmem::find_iter(bytes, CYCLE).collect(),
                bytes: Rc::new(bytes.clone()),
            })
            .collect();
        Requests { rendered }
    }

    /// The `n`th request (cycling through the list); its nonces, if any, say `n`.
    pub fn get(&self, n: u64) -> Rc<Vec<u8>> {
        let len = self.rendered.len().max(1) as u64;
        let Some(request) = self.rendered.get((n % len) as usize) else {
            return Rc::new(Vec::new());
        };
        if request.nonces.is_empty() && request.cycles.is_empty() {
            return request.bytes.clone();
        }
        let mut bytes = (*request.bytes).clone();
        for (positions, number) in [(&request.nonces, n), (&request.cycles, n / len)] {
            let digits = format!("{:09}", number % 1_000_000_000);
            for &at in positions {
                bytes[at..at + NONCE.len()].copy_from_slice(digits.as_bytes());
            }
        }
        Rc::new(bytes)
    }
}

/// The bodies of a `--bodies` file: one per non-empty line.
pub fn bodies_of(file: &[u8]) -> Vec<Vec<u8>> {
    file.split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cycle_and_nonces_number_them() {
        let requests = Requests::new(&[b"a __NONCE__ b __CYCLE__".to_vec(), b"plain".to_vec()]);
        assert_eq!(&**requests.get(0), b"a 000000000 b 000000000");
        assert_eq!(&**requests.get(1), b"plain");
        assert_eq!(&**requests.get(2), b"a 000000002 b 000000001");
        assert_eq!(&**requests.get(5), b"plain");
        assert_eq!(
            bodies_of(b"{\"a\":1}\n\n {\"b\":2}\n"),
            [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
    }
}
