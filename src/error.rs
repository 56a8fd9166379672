//! The one error type of requests the gateway refuses or cannot complete,
//! and its OpenAI-shaped JSON body (SPEC section 7).

use std::fmt;

/// Gateway error codes of SPEC section 7; each has one HTTP status except `TooLarge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 404: no such gateway (or the account does not match).
    GatewayNotFound = 2001,
    /// 404: no endpoint at this path.
    NoRoute = 2002,
    /// 400: the request is malformed or a control header is invalid (also 408 and 431).
    BadRequest = 2003,
    /// 413: the request body is over `max_body_bytes`.
    TooLarge = 2004,
    /// 401: no provider key, stored or sent.
    NoCredentials = 2005,
    /// 400: the provider named is not configured.
    UnknownProvider = 2008,
    /// 401: the gateway token is missing or wrong.
    GatewayAuth = 2009,
    /// 502: the upstream failed or answered something unusable.
    UpstreamFailed = 2010,
    /// 504: the upstream did not answer in time.
    UpstreamTimeout = 2011,
    /// 429: the gateway's rate limit is reached.
    RateLimited = 2012,
    /// 429: a spend budget is used up (a spend rule, or a route's cost `rate` element).
    BudgetExhausted = 2013,
    /// 400: the request needs a translation between APIs that sluice cannot make.
    NeedsTranslation = 2014,
    /// 403: the access token may not use the model asked for.
    ModelNotAllowed = 2015,
    /// 400: a `/compat` model name has no `provider/` prefix and no default provider.
    NoProviderPrefix = 2019,
    /// The gateway holds too much already (request bodies in memory): try again shortly.
    Overloaded = 2020,
}

impl ErrorCode {
    /// The status this code is answered with (413 for `TooLarge`; 431 is set explicitly).
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::GatewayNotFound | ErrorCode::NoRoute => 404,
            ErrorCode::BadRequest
            | ErrorCode::UnknownProvider
            | ErrorCode::NeedsTranslation
            | ErrorCode::NoProviderPrefix => 400,
            ErrorCode::TooLarge => 413,
            ErrorCode::NoCredentials | ErrorCode::GatewayAuth => 401,
            ErrorCode::ModelNotAllowed => 403,
            ErrorCode::UpstreamFailed => 502,
            ErrorCode::UpstreamTimeout => 504,
            ErrorCode::RateLimited | ErrorCode::BudgetExhausted => 429,
            ErrorCode::Overloaded => 503,
        }
    }
}

/// The API whose error shape a client expects (SPEC section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorShape {
    /// `{"error": {"message", "type", "code", "param"}}`: every endpoint but Messages.
    #[default]
    OpenAi,
    /// `{"type": "error", "error": {"type", "message", "code"}}`: the Messages endpoints.
    Anthropic,
}

/// A request the gateway answers itself. The message never holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    /// HTTP status (`code.status()` unless set otherwise).
    pub status: u16,
    /// The gateway error code of the body.
    pub code: ErrorCode,
    /// What went wrong, for the client.
    pub message: String,
    /// Sent as `Retry-After` (seconds) with the answer.
    pub retry_after_s: Option<u64>,
    /// A spend rule's refusal: its id, spend and limit go into the error object.
    pub budget: Option<Box<Budget>>,
}

/// The spend rule that refused a request (2013), as the error object carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The rule's id.
    pub rule: String,
    /// US dollars spent in its window.
    pub spent: f64,
    /// Its limit in US dollars.
    pub limit: f64,
}

impl GatewayError {
    /// An error with the code's own status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        GatewayError {
            status: code.status(),
            code,
            message: message.into(),
            retry_after_s: None,
            budget: None,
        }
    }

    /// 408: the client did not send its request in time (code 2003: the request is
    /// incomplete, so malformed; the connection closes after the answer).
    pub fn client_timeout(message: impl Into<String>) -> Self {
        GatewayError {
            status: 408,
            ..GatewayError::new(ErrorCode::BadRequest, message)
        }
    }

    /// The same error, answered with `Retry-After: seconds`.
    #[must_use]
    pub fn with_retry_after(self, seconds: u64) -> Self {
        GatewayError {
            retry_after_s: Some(seconds),
            ..self
        }
    }

    /// The same error, naming the spend rule that refused it.
    #[must_use]
    pub fn with_budget(self, budget: Budget) -> Self {
        GatewayError {
            budget: Some(Box::new(budget)),
            ..self
        }
    }

    /// 431: request head over `max_header_bytes` (code 2004, like 413).
    pub fn headers_too_large(limit: usize) -> Self {
        GatewayError {
            status: 431,
            code: ErrorCode::TooLarge,
            message: format!("request header fields larger than {limit} bytes"),
            retry_after_s: None,
            budget: None,
        }
    }

    /// `{"error": {"message", "type": "gateway_error", "code", "param": null}}`, with
    /// `rule`, `spent` and `limit` for a spend rule's refusal.
    pub fn json_body(&self) -> Vec<u8> {
        let mut body = serde_json::json!({
            "error": {
                "message": self.message,
                "type": "gateway_error",
                "code": self.code as u16,
                "param": null,
            }
        });
        self.add_budget(&mut body["error"]);
        body.to_string().into_bytes()
    }

    fn add_budget(&self, error: &mut serde_json::Value) {
        if let (Some(budget), Some(error)) = (&self.budget, error.as_object_mut()) {
            error.insert("rule".into(), budget.rule.clone().into());
            error.insert("spent".into(), budget.spent.into());
            error.insert("limit".into(), budget.limit.into());
        }
    }
}

impl GatewayError {
    /// The body in the client's API's shape.
    pub fn body(&self, shape: ErrorShape) -> Vec<u8> {
        match shape {
            ErrorShape::OpenAi => self.json_body(),
            ErrorShape::Anthropic => self.anthropic_body(),
        }
    }

    /// `{"type": "error", "error": {"type", "message", "code"}}`, the type picked from
    /// the status the way Anthropic's API pairs them.
    pub fn anthropic_body(&self) -> Vec<u8> {
        let mut body = serde_json::json!({
            "type": "error",
            "error": {
                "type": crate::translate::messages_to_chat::error_type(self.status),
                "message": self.message,
                "code": self.code as u16,
            }
        });
        self.add_budget(&mut body["error"]);
        body.to_string().into_bytes()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status, self.code as u16, self.message
        )
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_openai_shaped() {
        let e = GatewayError::new(
            ErrorCode::NoCredentials,
            "no credentials for provider openai",
        );
        let v: serde_json::Value = serde_json::from_slice(&e.json_body()).unwrap();
        assert_eq!(v["error"]["code"], 2005);
        assert_eq!(v["error"]["type"], "gateway_error");
        assert_eq!(v["error"]["message"], "no credentials for provider openai");
        assert!(v["error"]["param"].is_null());
        assert_eq!(e.status, 401);
    }

    #[test]
    fn anthropic_body_is_anthropic_shaped() {
        let e = GatewayError::new(ErrorCode::UnknownProvider, "unknown provider \"x\"");
        let v: serde_json::Value = serde_json::from_slice(&e.body(ErrorShape::Anthropic)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["message"], "unknown provider \"x\"");
        assert_eq!(v["error"]["code"], 2008);
        let auth = GatewayError::new(ErrorCode::NoCredentials, "no credentials");
        let v: serde_json::Value =
            serde_json::from_slice(&auth.body(ErrorShape::Anthropic)).unwrap();
        assert_eq!(v["error"]["type"], "authentication_error");
        assert_eq!(e.body(ErrorShape::OpenAi), e.json_body());
    }
}
