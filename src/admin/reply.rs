//! What an admin handler answers: status, content type and body, with the
//! OpenAI-shaped JSON error every failure takes, and its HTTP/1.1 encoding.

use serde_json::{json, Value};

use crate::error::ErrorCode;
use crate::http::{HeadWriter, HttpError};

/// One admin response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The whole body (sent with `Content-Length`).
    pub body: Vec<u8>,
    /// Extra headers (`WWW-Authenticate` on a 401).
    pub headers: Vec<(&'static str, String)>,
}

/// The kind of an admin error, which names its `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400, `invalid_request_error`.
    BadRequest,
    /// 401, `authentication_error`.
    Unauthorized,
    /// 403, `permission_error`.
    Forbidden,
    /// 404, `not_found_error`.
    NotFound,
    /// 405, `invalid_request_error`.
    MethodNotAllowed,
    /// 413, `invalid_request_error`.
    PayloadTooLarge,
    /// 500, `server_error`.
    Internal,
}

impl ErrorKind {
    fn status_and_type(self) -> (u16, &'static str) {
        match self {
            ErrorKind::BadRequest => (400, "invalid_request_error"),
            ErrorKind::Unauthorized => (401, "authentication_error"),
            ErrorKind::Forbidden => (403, "permission_error"),
            ErrorKind::NotFound => (404, "not_found_error"),
            ErrorKind::MethodNotAllowed => (405, "invalid_request_error"),
            ErrorKind::PayloadTooLarge => (413, "invalid_request_error"),
            ErrorKind::Internal => (500, "server_error"),
        }
    }
}

impl Reply {
    /// `value` as a JSON body with this status.
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// `{"success": true, "result": ...}` with 200, as the hosted service's API.
    pub fn ok(result: Value) -> Reply {
        Reply::json(200, &json!({ "success": true, "result": result }))
    }

    /// The hosted service's v4 envelope: `success`, `errors`, `messages`, `result`.
    pub fn v4(status: u16, result: Value) -> Reply {
        let body = json!({ "success": true, "errors": [], "messages": [], "result": result });
        Reply::json(status, &body)
    }

    /// A v4 list: `result` and `result_info` with the page asked for and the total.
    pub fn v4_page(items: Vec<Value>, page: usize, per_page: usize, total: usize) -> Reply {
        let body = json!({
            "success": true, "errors": [], "messages": [], "result": items,
            "result_info": {
                "page": page, "per_page": per_page, "count": items.len(), "total_count": total,
            },
        });
        Reply::json(200, &body)
    }

    /// A v4 error: `success: false` and one `{code, message}`.
    pub fn v4_error(status: u16, code: u32, message: impl Into<String>) -> Reply {
        let body = json!({
            "success": false, "errors": [{ "code": code, "message": message.into() }],
            "messages": [], "result": null,
        });
        let mut reply = Reply::json(status, &body);
        if status == 401 {
            reply
                .headers
                .push(("WWW-Authenticate", "Bearer realm=\"sluice admin\"".into()));
        }
        reply
    }

    /// A 200 with this body and content type.
    pub fn bytes(content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    /// `{"error": {"message", "type", "code", "param"}}`, as OpenAI SDKs parse it.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Reply {
        Reply::error_on(kind, message, None)
    }

    /// An error about one query parameter or body field, named in `param`.
    pub fn error_on(kind: ErrorKind, message: impl Into<String>, param: Option<&str>) -> Reply {
        Reply::error_coded(kind, message, param, None)
    }

    /// 404 with code 2001, as the data plane answers a gateway id it does not know.
    pub fn gateway_not_found(id: &str) -> Reply {
        let message = format!("gateway {id:?} not found");
        let code = ErrorCode::GatewayNotFound as u16;
        Reply::error_coded(ErrorKind::NotFound, message, None, Some(code))
    }

    fn error_coded(
        kind: ErrorKind,
        message: impl Into<String>,
        param: Option<&str>,
        code: Option<u16>,
    ) -> Reply {
        let (status, kind_name) = kind.status_and_type();
        let mut reply = Reply::json(
            status,
            &json!({ "error": {
                "message": message.into(),
                "type": kind_name,
                "code": code,
                "param": param,
            }}),
        );
        if kind == ErrorKind::Unauthorized {
            reply
                .headers
                .push(("WWW-Authenticate", "Bearer realm=\"sluice admin\"".into()));
        }
        reply
    }

    /// Head and body on the wire; `close` adds `Connection: close`.
    pub fn encode(&self, close: bool) -> Result<Vec<u8>, HttpError> {
        let mut head = HeadWriter::new();
        head.status_line(self.status)
            .header("Content-Type", self.content_type.as_bytes())
            .header("Cache-Control", b"no-store")
            .content_length(self.body.len() as u64);
        for (name, value) in &self.headers {
            head.header(name, value.as_bytes());
        }
        if close {
            head.header("Connection", b"close");
        }
        let mut bytes = head.finish()?;
        bytes.extend_from_slice(&self.body);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_openai_shaped() {
        let reply = Reply::error_on(ErrorKind::BadRequest, "bad page", Some("page"));
        assert_eq!(reply.status, 400);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            json!({"error": {"message": "bad page", "type": "invalid_request_error",
                             "code": null, "param": "page"}})
        );
        let unknown = Reply::gateway_not_found("nope");
        assert_eq!(unknown.status, 404);
        let body: Value = serde_json::from_slice(&unknown.body).unwrap();
        assert_eq!(body["error"]["code"], 2001);
        assert_eq!(body["error"]["message"], "gateway \"nope\" not found");
        let unauthorized = Reply::error(ErrorKind::Unauthorized, "no");
        assert_eq!(unauthorized.status, 401);
        assert_eq!(unauthorized.headers[0].0, "WWW-Authenticate");
    }

    #[test]
    fn encodes_head_and_body() {
        let wire = Reply::bytes("text/plain", b"hi".to_vec())
            .encode(true)
            .unwrap();
        let text = String::from_utf8(wire).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nhi"));
    }
}
