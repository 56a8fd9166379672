//! `sluice-load --help`: every flag, its oha-style short form where oha has one, defaults,
//! and what the exit status means.

/// Usage text for `--help`.
pub const USAGE: &str = "\
sluice-load: an HTTP/1.1 keep-alive load generator for sluice (and any HTTP server)

usage: sluice-load [OPTIONS] URL        (or --url URL; http:// or https://)

Load shape (closed loop by default):
  -c, --concurrency C      connections sending back to back (default 10)
  -q, --rate R             open loop: R requests/s in total, latency from each scheduled send
      --connections N      open loop: connection pool size (default R/10, 16..1024)
  -n, --requests N         stop after N requests
  -z, --duration D         stop after D: 10s, 500ms, 2m, 1h, 1m30s, or plain seconds (default 10s)
      --workers N          worker threads, one runtime each (default 1)
  -t, --timeout D          limit per request, and for requests in flight at the end (default 30s)
      --timeout-ms MS      the same in milliseconds

Request (POST of a small chat completion by default):
  -m, --method M           method (default POST; GET and HEAD send no default body)
  -d, --data BODY          request body as given
  -D, --body FILE          request body from FILE
      --bodies FILE        one JSON body per line, sent in turn (each __NONCE__ in a body
                           becomes the request's number, so no two requests repeat)
      --model NAME         model of the default body (default openai/mock-gpt), or set into a
                           JSON body given with -d/-D; sluice wants provider/model names
  -H, --header 'N: v'      extra header, repeatable (Host replaces the URL's)
      --stream             ask for and time SSE streams (TTFT, inter-chunk gaps)
      --expect-chunks N    with --stream: each stream must carry sluice-mock's N tokens in order

TLS (https:// URLs; web PKI roots by default):
      --cacert FILE        also trust the PEM certificates in FILE (a test or private CA)
      --insecure           accept any certificate (handshake signatures are still checked)

Output and outcome:
      --json FILE          write the full report (with a per-second timeline) as JSON
      --quiet              no live progress line (it is only drawn when stderr is a terminal)
      --max-error-rate R   fraction of failed requests (0..1) still counted a success (default 0)
  -h, --help               this text
  -V, --version            the version

Exit status: 0 when every request succeeded (or the failures stayed within --max-error-rate);
1 when more failed, or when nothing answered at all (the report is still printed); 2 for a
bad command line or setup (unreadable file, bad URL, TLS setup).";
