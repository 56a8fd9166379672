//! A raw HTTP/1.1 server for `sluice-load`'s tests: records every request it gets (method, path,
//! headers, body, connection) before answering with what the test's `answer` says.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which accepted connection it came on (0, 1, ...).
    pub connection: usize,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to send back for the `index`-th request (counted over all connections); `None` closes
/// the connection without an answer.
pub type Answer = dyn Fn(usize, &Recorded) -> Option<(u16, String)> + Send + Sync;

/// A running server; its threads end with the test process.
pub struct Raw {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<Mutex<usize>>,
}

impl Raw {
    pub fn start(
        answer: impl Fn(usize, &Recorded) -> Option<(u16, String)> + Send + Sync + 'static,
    ) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let answer: Arc<Answer> = Arc::new(answer);
        let (seen2, connections2) = (seen.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let connection = {
                    let mut count = connections2.lock().unwrap();
                    *count += 1;
                    *count - 1
                };
                let (seen, answer) = (seen2.clone(), answer.clone());
                thread::spawn(move || serve(stream, connection, &seen, &*answer));
            }
        });
        Raw {
            addr,
            seen,
            connections,
        }
    }

    /// A server answering every request with `status` and `body`.
    pub fn answering(status: u16, body: &str) -> Raw {
        let body = body.to_owned();
        Raw::start(move |_, _| Some((status, body.clone())))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// Serves one keep-alive connection until the client closes it.
fn serve(mut stream: TcpStream, connection: usize, seen: &Mutex<Vec<Recorded>>, answer: &Answer) {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer, connection) else {
            return;
        };
        let index = {
            let mut seen = seen.lock().unwrap();
            seen.push(request.clone());
            seen.len() - 1
        };
        let Some((status, body)) = answer(index, &request) else {
            return;
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads one request (Content-Length bodies only); `None` at EOF or on garbage.
fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    connection: usize,
) -> Option<Recorded> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = parsed.parse(buffer) {
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let mut request = Recorded {
                method: parsed.method?.to_owned(),
                path: parsed.path?.to_owned(),
                headers,
                body: Vec::new(),
                connection,
            };
            let length: usize = request
                .header("content-length")
                .map_or(Some(0), |v| v.parse().ok())?;
            while buffer.len() < len + length {
                fill(stream, buffer)?;
            }
            request.body = buffer[len..len + length].to_vec();
            buffer.drain(..len + length);
            return Some(request);
        }
        fill(stream, buffer)?;
    }
}

fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}
