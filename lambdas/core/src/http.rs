//! API Gateway HTTP API (payload format 2.0) helpers: request bodies and JSON responses with CORS.

use aws_lambda_events::encodings::Body;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use serde::Serialize;

use crate::config;
use crate::error::{ApiError, RequestError};
use crate::validate::Fields;

pub type Request = aws_lambda_events::apigw::ApiGatewayV2httpRequest;
pub type Response = aws_lambda_events::apigw::ApiGatewayV2httpResponse;

/// Largest request body any endpoint accepts; every body of this API is a small JSON object.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// The CORS headers of every answer (the handlers' and the local runner's): `origin` is
/// `CORS_ALLOW_ORIGIN`, `*` when it is not a valid header value.
pub fn cors_headers(h: &mut HeaderMap, origin: &str) {
    let origin = HeaderValue::from_str(origin).unwrap_or(HeaderValue::from_static("*"));
    h.insert("access-control-allow-origin", origin);
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Content-Type,Authorization,Idempotency-Key"),
    );
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,POST,OPTIONS"),
    );
    // The category listing keeps the original's bare array and pages through this header.
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-next-token"),
    );
}

/// How a service answers: CORS origin and whether errors keep the original's `msg` field.
#[derive(Clone, Debug)]
pub struct Http {
    pub cors_origin: String,
    /// Auth endpoints of the original answered `{"msg": ...}` on errors too; keep it for them.
    pub legacy_msg: bool,
}

impl Http {
    /// Reads `CORS_ALLOW_ORIGIN` (default `*`).
    pub fn from_env(legacy_msg: bool) -> Self {
        Self {
            cors_origin: config::optional("CORS_ALLOW_ORIGIN").unwrap_or_else(|| "*".to_owned()),
            legacy_msg,
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        cors_headers(&mut h, &self.cors_origin);
        h
    }

    /// A JSON response with the given status.
    pub fn json<T: Serialize + ?Sized>(&self, status: u16, body: &T) -> Response {
        let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
        let mut r = Response::default();
        r.status_code = i64::from(status);
        r.headers = self.headers();
        r.body = Some(Body::Text(text));
        r
    }

    /// The one mapping from an error to `{"error", "code"}` (plus `msg` where the original had it).
    pub fn error(&self, err: &dyn ApiError) -> Response {
        let status = err.status();
        let message = err.to_string();
        if status >= 500 {
            tracing::error!(status, code = err.code(), "request failed");
        } else {
            tracing::info!(status, code = err.code(), "request rejected");
        }
        let mut body = serde_json::json!({ "error": message, "code": err.code() });
        if let (Some(serde_json::Value::Object(extra)), Some(fields)) = (err.details(), body.as_object_mut()) {
            for (k, v) in extra {
                fields.entry(k).or_insert(v);
            }
        }
        if self.legacy_msg {
            body["msg"] = serde_json::Value::String(message);
        }
        self.json(status, &body)
    }

    /// `Ok` becomes `status` with the value as JSON; `Err` goes through [`Http::error`].
    pub fn respond<T: Serialize, E: ApiError>(&self, status: u16, result: Result<T, E>) -> Response {
        match result {
            Ok(v) => self.json(status, &v),
            Err(e) => self.error(&e),
        }
    }
}

/// The request body as a JSON object, ready for field validation.
pub fn json_body(req: &Request) -> Result<Fields, RequestError> {
    let raw = req.body.as_deref().unwrap_or("");
    let decoded;
    let text = if req.is_base64_encoded {
        decoded = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| RequestError::MalformedJson("body is not valid base64".into()))?;
        std::str::from_utf8(&decoded).map_err(|_| RequestError::MalformedJson("body is not UTF-8".into()))?
    } else {
        raw
    };
    if text.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(MAX_BODY_BYTES));
    }
    Fields::parse(text)
}

/// A header value, by case-insensitive name.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A query string parameter.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters.first(name)
}

/// A path parameter such as `{id}`.
pub fn path_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.path_parameters.get(name).map(String::as_str)
}

/// The response body as text (tests and the local runner read it back).
pub fn body_text(resp: &Response) -> &str {
    match &resp.body {
        Some(Body::Text(t)) => t,
        Some(Body::Binary(b)) => std::str::from_utf8(b).unwrap_or(""),
        _ => "",
    }
}
