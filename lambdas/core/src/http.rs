//! API Gateway HTTP API (payload format 2.0) helpers: request bodies and JSON responses.

use aws_lambda_events::encodings::Body;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use serde::Serialize;

use crate::error::{ApiError, RequestError};
use crate::validate::Fields;

pub mod rest;

pub type Request = aws_lambda_events::apigw::ApiGatewayV2httpRequest;
pub type Response = aws_lambda_events::apigw::ApiGatewayV2httpResponse;

/// Largest request body any endpoint accepts; every body of this API is a small JSON object.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// How a service answers: whether errors keep the original's `msg` field. No CORS headers: API
/// Gateway adds them (and ignores a function's), as the stage's CORS configuration says.
#[derive(Clone, Debug)]
pub struct Http {
    /// Auth endpoints of the original answered `{"msg": ...}` on errors too; keep it for them.
    pub legacy_msg: bool,
}

/// The `Retry-After` of every 429 a handler answers, in seconds.
pub const RETRY_AFTER_SECS: &str = "5";

impl Http {
    pub fn from_env(legacy_msg: bool) -> Self {
        Self { legacy_msg }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
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
        let mut response = self.json(status, &body);
        if status == 429 {
            // Every 429 of ours says when to come back (Cognito's own limits give no time).
            response
                .headers
                .insert("retry-after", HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        response
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
    let raw = raw_body(req)?;
    let text = std::str::from_utf8(&raw).map_err(|_| RequestError::MalformedJson("body is not UTF-8".into()))?;
    Fields::parse(text)
}

/// The request body's bytes exactly as the client sent them (base64 undone), at most
/// [`MAX_BODY_BYTES`]: what a signature is computed over.
pub fn raw_body(req: &Request) -> Result<Vec<u8>, RequestError> {
    let raw = req.body.as_deref().unwrap_or("");
    let bytes = if req.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| RequestError::MalformedJson("body is not valid base64".into()))?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes)
}

/// A header value, by case-insensitive name.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A query string parameter as the client sent it, decoded (`%xx`, `+` for a space); of a repeated
/// one, the first. Read from `rawQueryString`: API Gateway joins a repeated parameter's values
/// with commas in `queryStringParameters`, and the event library splits every value there at its
/// commas, so `?category=Home%2C%20Garden` would read as `Home` and `?limit=5&limit=500` as two
/// values. Events without the raw string (none from API Gateway) fall back to the parsed map.
pub fn query(req: &Request, name: &str) -> Option<String> {
    let Some(raw) = req.raw_query_string.as_deref() else {
        return req.query_string_parameters.first(name).map(str::to_owned);
    };
    raw.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(key) == name).then(|| form_decode(value))
    })
}

/// One `application/x-www-form-urlencoded` component (a query name or value, an S3 event's object
/// key): `+` is a space, `%xx` a byte; invalid UTF-8 is replaced, never an error (the value is
/// then refused by its own validation).
pub fn form_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
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

#[cfg(test)]
mod query_tests {
    use super::*;

    fn with_query(raw: Option<&str>) -> Request {
        let mut req = Request::default();
        req.raw_query_string = raw.map(str::to_owned);
        req
    }

    #[test]
    fn a_comma_inside_a_value_is_part_of_the_value() {
        let req = with_query(Some("category=Home%2C%20Garden&limit=5"));
        assert_eq!(query(&req, "category").as_deref(), Some("Home, Garden"));
        assert_eq!(query(&req, "limit").as_deref(), Some("5"));
    }

    #[test]
    fn a_repeated_parameter_reads_as_its_first_occurrence() {
        let req = with_query(Some("limit=5&limit=500"));
        assert_eq!(query(&req, "limit").as_deref(), Some("5"));
    }

    #[test]
    fn plus_and_percent_escapes_decode_in_names_and_values() {
        let req = with_query(Some("next%54oken=a%2Bb%3D&category=Home+Garden&empty=&flag"));
        assert_eq!(query(&req, "nextToken").as_deref(), Some("a+b="));
        assert_eq!(query(&req, "category").as_deref(), Some("Home Garden"));
        assert_eq!(query(&req, "empty").as_deref(), Some(""));
        assert_eq!(query(&req, "flag").as_deref(), Some(""));
        assert_eq!(query(&req, "missing"), None);
        // Bytes that are not UTF-8 do not fail the read; validation refuses the value later.
        assert_eq!(
            query(&with_query(Some("category=%FF")), "category").as_deref(),
            Some("\u{fffd}")
        );
    }

    #[test]
    fn an_event_without_the_raw_string_reads_the_parsed_parameters() {
        let mut req = with_query(None);
        let parsed: std::collections::HashMap<String, Vec<String>> =
            [("limit".to_owned(), vec!["7".to_owned()])].into();
        req.query_string_parameters = parsed.into();
        assert_eq!(query(&req, "limit").as_deref(), Some("7"));
    }

    #[test]
    fn every_429_says_when_to_retry_and_no_other_answer_does() {
        let http = Http::from_env(false);
        let limited = http.error(&RequestError::invalid("x", "y"));
        assert!(limited.headers.get("retry-after").is_none(), "a 400 has no Retry-After");
        #[derive(Debug, thiserror::Error)]
        #[error("slow down")]
        struct Limited;
        impl ApiError for Limited {
            fn status(&self) -> u16 {
                429
            }
            fn code(&self) -> &'static str {
                "TooManyRequests"
            }
        }
        let r = http.error(&Limited);
        assert_eq!(r.status_code, 429);
        assert_eq!(
            r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECS)
        );
    }
}
