//! Test harness for the gateway: an in-process sluice on loopback port 0, a scriptable
//! upstream on real sockets (plain or TLS), and a raw HTTP/1.1 client that sees the wire.
#![allow(dead_code)]

pub mod binary;
pub mod tls;

use sluice::config::Settings;
use sluice::proxy::{Clock, ControlState};
use sluice::server::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Long enough for a slow CI machine, short enough that a hang fails the test.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running gateway; shut down and joined on drop.
pub struct Gateway {
    pub addr: SocketAddr,
    server: Option<Server>,
}

impl Gateway {
    /// Starts sluice with this config (listen address and workers are set here).
    pub fn start(toml: &str) -> Gateway {
        Gateway::start_with(toml, |_| None)
    }

    /// Starts sluice with controls of the test's making (a manual clock, a one-shard cache);
    /// `None` from `controls` keeps the ones `Server::start` builds.
    pub fn start_with(
        toml: &str,
        controls: impl FnOnce(&Settings) -> Option<ControlState>,
    ) -> Gateway {
        let mut settings = Settings::from_toml_str(toml, "test config").unwrap();
        settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
        if settings.server.workers == 0 {
            settings.server.workers = 2;
        }
        let server = match controls(&settings) {
            Some(state) => Server::start_with(Arc::new(settings), Arc::new(state)),
            None => Server::start(Arc::new(settings)),
        }
        .unwrap();
        Gateway {
            addr: server.local_addrs()[0],
            server: Some(server),
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("gateway running")
    }

    /// One request on a fresh connection.
    pub fn send(&self, raw: &[u8]) -> Response {
        let mut c = self.connect();
        c.write(raw);
        c.response()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
            server.join();
        }
    }
}

/// A request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which accepted connection (0-based) carried it.
    pub conn: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `model` of the JSON body the gateway sent upstream.
    pub fn model(&self) -> String {
        let body: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        body["model"].as_str().unwrap().to_string()
    }
}

/// What the handler does with the connection after answering.
pub enum After {
    KeepAlive,
    Close,
}

type Handler = dyn Fn(&Seen, &mut dyn Write) -> After + Send + Sync;

/// A blocking upstream on its own threads; every request is recorded.
pub struct Upstream {
    pub addr: SocketAddr,
    pub accepts: Arc<AtomicUsize>,
    seen: Mutex<mpsc::Receiver<Seen>>,
    /// One message each time a connection ended (the gateway closed it, or the handler did).
    closed: Mutex<mpsc::Receiver<usize>>,
}

impl Upstream {
    pub fn start(handler: impl Fn(&Seen, &mut dyn Write) -> After + Send + Sync + 'static) -> Self {
        Self::start_with(None, Arc::new(handler))
    }

    pub fn start_tls(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Seen, &mut dyn Write) -> After + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(Some(config), Arc::new(handler))
    }

    /// Answers every request with this status, content type and body.
    pub fn fixed(status: u16, content_type: &str, body: &'static [u8]) -> Self {
        let ct = content_type.to_string();
        Self::start(move |_, w| {
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            w.write_all(head.as_bytes()).unwrap();
            w.write_all(body).unwrap();
            After::KeepAlive
        })
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let (seen_tx, seen_rx) = mpsc::channel();
        let (closed_tx, closed_rx) = mpsc::channel();
        let counter = accepts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let conn = counter.fetch_add(1, Ordering::SeqCst);
                let (handler, seen_tx, closed_tx, tls) = (
                    handler.clone(),
                    seen_tx.clone(),
                    closed_tx.clone(),
                    tls.clone(),
                );
                std::thread::spawn(move || {
                    stream.set_nodelay(true).unwrap();
                    match tls {
                        None => serve_conn(stream, conn, &*handler, &seen_tx),
                        Some(cfg) => {
                            let session = rustls::ServerConnection::new(cfg).unwrap();
                            let tls_stream = rustls::StreamOwned::new(session, stream);
                            serve_conn(tls_stream, conn, &*handler, &seen_tx)
                        }
                    }
                    let _ = closed_tx.send(conn);
                });
            }
        });
        Upstream {
            addr,
            accepts,
            seen: Mutex::new(seen_rx),
            closed: Mutex::new(closed_rx),
        }
    }

    /// The next request the upstream received (fails the test after `WAIT`).
    pub fn next_request(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .recv_timeout(WAIT)
            .expect("upstream saw no request")
    }

    /// Every request received so far and not yet taken.
    pub fn drain_seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().try_iter().collect()
    }

    /// No request arrived (checked after the gateway already answered).
    pub fn saw_nothing(&self) -> bool {
        self.seen.lock().unwrap().try_recv().is_err()
    }

    /// Every request received and not yet taken (each is recorded before it is answered).
    pub fn received(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().try_iter().collect()
    }

    /// Waits until a connection to the upstream has ended; returns its number.
    pub fn next_closed(&self) -> usize {
        self.closed
            .lock()
            .unwrap()
            .recv_timeout(WAIT)
            .expect("no upstream connection closed")
    }

    pub fn accept_count(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

fn serve_conn<S: Read + Write>(
    stream: S,
    conn: usize,
    handler: &Handler,
    seen: &mpsc::Sender<Seen>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(req) = read_request(&mut reader, conn) else {
            return;
        };
        let _ = seen.send(req.clone());
        let after = handler(&req, reader.get_mut());
        let _ = reader.get_mut().flush();
        if let After::Close = after {
            return;
        }
    }
}

/// Reads one request (Content-Length bodies only: the gateway always sends one).
fn read_request<R: BufRead>(r: &mut R, conn: usize) -> Option<Seen> {
    let (first, headers) = read_head(r)?;
    let mut parts = first.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
        conn,
    })
}

/// The first line and headers of a message; `None` on EOF.
fn read_head<R: BufRead>(r: &mut R) -> Option<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    Some((first.trim_end().to_string(), headers))
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Chunked responses: whether the terminating chunk arrived.
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text, for messages and assertion output.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The gateway's error code (`error.code`).
    pub fn code(&self) -> i64 {
        self.json()["error"]["code"].as_i64().unwrap()
    }
}

/// A raw HTTP/1.1 client connection.
pub struct Client {
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn write(&mut self, raw: &[u8]) {
        self.reader.get_mut().write_all(raw).unwrap();
    }

    /// Reads one whole response (Content-Length, chunked, or until close).
    pub fn response(&mut self) -> Response {
        let head = self.response_head();
        self.finish(head)
    }

    /// Reads a response head only (for streaming tests).
    pub fn response_head(&mut self) -> Response {
        let (first, headers) =
            read_head(&mut self.reader).expect("connection closed before a response");
        let status = first.split(' ').nth(1).unwrap().parse().unwrap();
        Response {
            status,
            headers,
            body: Vec::new(),
            complete: false,
        }
    }

    /// Reads the body of a response whose head was read.
    pub fn finish(&mut self, mut resp: Response) -> Response {
        if resp.status == 100 {
            return resp;
        }
        if let Some(len) = resp.header("content-length") {
            let mut body = vec![0; len.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            resp.body = body;
            resp.complete = true;
        } else if resp.header("transfer-encoding") == Some("chunked") {
            while let Some(chunk) = self.chunk() {
                if chunk.is_empty() {
                    resp.complete = true;
                    break;
                }
                resp.body.extend_from_slice(&chunk);
            }
        } else {
            let _ = self.reader.read_to_end(&mut resp.body);
            resp.complete = true;
        }
        resp
    }

    /// One chunk of a chunked body: `Some(empty)` for the last chunk, `None` if cut.
    pub fn chunk(&mut self) -> Option<Vec<u8>> {
        let mut size = String::new();
        if self.reader.read_line(&mut size).ok()? == 0 {
            return None;
        }
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).ok()?;
        data.truncate(size);
        if size == 0 {
            // The trailer section is only the final CRLF here (already read above).
            return Some(Vec::new());
        }
        Some(data)
    }

    /// True when the server closed the connection (EOF) with nothing more to read.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0))
    }
}

/// The data-plane address in `sluice serve`'s startup line ("... listening on ADDR ...").
pub fn listening_addr(startup: &str) -> SocketAddr {
    startup
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in the startup line: {startup}"))
}

/// A config whose provider `mock` points at this upstream.
pub fn config_for(upstream: &Upstream, extra: &str) -> String {
    format!(
        "[provider.mock]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n{extra}",
        upstream.addr
    )
}

/// `POST path` with a JSON body and these extra header lines.
pub fn post(path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A JSON completion response upstream.
pub fn write_json(w: &mut dyn Write, status: u16, body: &str) {
    write!(
        w,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
}

/// A clock that moves only when the test says so.
pub struct ManualClock {
    start: Instant,
    wall_start: SystemTime,
    offset_ns: AtomicU64,
}

impl ManualClock {
    /// Starts at `wall_start` (wall-clock) and now (monotonic).
    pub fn at(wall_start: SystemTime) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            start: Instant::now(),
            wall_start,
            offset_ns: AtomicU64::new(0),
        })
    }

    pub fn advance(&self, by: Duration) {
        self.offset_ns
            .fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.offset()
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.offset()
    }
}
