//! The web dashboard the admin listener serves at `/`: its HTML, CSS and JS, embedded in
//! the binary and answered under a same-origin-only content security policy.

use super::reply::Reply;

/// Nothing is loaded from another host, no inline script runs, and no page may frame it.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Path, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("index.html")),
    ("/index.html", HTML, include_str!("index.html")),
    ("/dashboard/style.css", CSS, include_str!("style.css")),
    ("/dashboard/app.js", JS, include_str!("app.js")),
    ("/dashboard/chart.js", JS, include_str!("chart.js")),
    ("/dashboard/overview.js", JS, include_str!("overview.js")),
    ("/dashboard/logs.js", JS, include_str!("logs.js")),
    ("/dashboard/detail.js", JS, include_str!("detail.js")),
    ("/dashboard/config.js", JS, include_str!("config.js")),
    ("/dashboard/routes.js", JS, include_str!("routes.js")),
];

/// The asset at `path`, if the dashboard has one. Assets are public (they hold no data):
/// what they show comes from the APIs, which check the admin token.
pub fn asset(path: &str) -> Option<Reply> {
    let (_, content_type, text) = ASSETS.iter().find(|(p, _, _)| *p == path)?;
    let mut reply = Reply::bytes(content_type, text.as_bytes().to_vec());
    reply.headers.extend([
        ("Content-Security-Policy", CSP.to_string()),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
    ]);
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_every_asset_with_its_type_and_policy() {
        let index = asset("/").unwrap();
        assert_eq!(index.content_type, HTML);
        let html = String::from_utf8(index.body).unwrap();
        for (path, _, _) in ASSETS.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            assert!(asset(path).is_some());
        }
        assert!(html.contains("/dashboard/app.js"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from another host"
        );
        assert!(index
            .headers
            .iter()
            .any(|(n, v)| *n == "Content-Security-Policy" && v.contains("default-src 'self'")));
        assert!(asset("/dashboard/nope.js").is_none());
    }
}
