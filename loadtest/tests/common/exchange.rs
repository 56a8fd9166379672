//! One request on a kept-alive connection to the mock, read back as a client sees it (status,
//! content type, each chunk apart), and SSE bodies split into (event name, JSON data).
#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

pub struct Response {
    pub status: u16,
    pub content_type: String,
    /// The body; for a chunked response, every chunk separately (one per write).
    pub chunks: Vec<Vec<u8>>,
}

impl Response {
    pub fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body()).unwrap()
    }
}

fn line(conn: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    line.trim_end_matches("\r\n").to_owned()
}

/// Sends one request on the kept-alive `conn` and reads its response.
pub fn exchange(
    conn: &mut BufReader<TcpStream>,
    path: &str,
    headers: &[&str],
    body: &str,
) -> Response {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    conn.get_mut().write_all(request.as_bytes()).unwrap();

    let status = line(conn).split(' ').nth(1).unwrap().parse().unwrap();
    let (mut content_type, mut length, mut chunked) = (String::new(), 0, false);
    loop {
        let header = line(conn);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_owned(),
            "content-length" => length = value.trim().parse().unwrap(),
            "transfer-encoding" => chunked = value.trim() == "chunked",
            _ => {}
        }
    }
    let mut chunks = Vec::new();
    if chunked {
        loop {
            let size = usize::from_str_radix(&line(conn), 16).unwrap();
            if size == 0 {
                assert_eq!(line(conn), "");
                break;
            }
            let mut chunk = vec![0; size];
            conn.read_exact(&mut chunk).unwrap();
            assert_eq!(line(conn), "");
            chunks.push(chunk);
        }
    } else {
        let mut body = vec![0; length];
        conn.read_exact(&mut body).unwrap();
        chunks.push(body);
    }
    Response {
        status,
        content_type,
        chunks,
    }
}

/// (event name, data) of every SSE event in `body`, whose events end with `separator`
/// (OpenAI's closing `[DONE]`, not JSON, is left out).
pub fn sse_events(body: &[u8], separator: &str) -> Vec<(Option<String>, serde_json::Value)> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.ends_with(separator), "{text:?}");
    text.split_terminator(separator)
        .filter(|event| *event != "data: [DONE]")
        .map(|event| {
            let mut name = None;
            let mut data = None;
            for field in event.lines() {
                if let Some(n) = field.strip_prefix("event: ") {
                    name = Some(n.to_owned());
                } else if let Some(d) = field.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(d).unwrap());
                }
            }
            (name, data.unwrap())
        })
        .collect()
}
