//! The runner's own answers: a typed body, JSON, and the `{"error", "code"}` the handlers answer
//! errors with (the gateway's and the dev tools' replies both use them).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

pub fn typed(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    resp
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    typed(status, "application/json", body.to_string().into_bytes())
}

/// `{"error", "code"}`, as the handlers answer errors.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "error": message, "code": code }))
}
