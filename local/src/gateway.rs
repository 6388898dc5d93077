//! API Gateway, emulated: the declared routes with the JWT authorizer's checks, each request
//! turned into the event API Gateway sends (payload 2.0 from an HTTP API, 1.0 from the REST API of
//! a service declared `"api": "rest"`), and the handler's answer turned back into HTTP. The
//! tests build their events with the same [`api_event`].

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use shop_core::lambda::{Answer, Invocation};

use crate::declaration::{ApiKind, Auth};
use crate::jwt;
use crate::recorder;
use crate::replies::{error, json_response};
use crate::state::AppState;

/// One HTTP request as API Gateway sees it, before it becomes an event.
#[derive(Debug, Clone, Default)]
pub struct HttpCall<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// `METHOD /declared/path`, or empty for `$default`.
    pub route_key: String,
    /// The query string as sent (percent-encoded).
    pub raw_query: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    /// What the JWT authorizer found in a valid token.
    pub claims: Option<Value>,
    /// The path parameters of the matched route.
    pub params: Vec<(String, String)>,
}

/// `k=v&...`, each name and value percent-encoded.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The name-value pairs of a raw query string, decoded, in order.
fn query_pairs(raw: &str) -> impl Iterator<Item = (String, String)> + '_ {
    raw.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

/// The payload-format-2.0 event API Gateway would send for `call`.
pub fn api_event(call: &HttpCall<'_>) -> Value {
    let headers: Map<String, Value> = call
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    let query: Map<String, Value> = query_pairs(call.raw_query)
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let route_key = if call.route_key.is_empty() {
        "$default".to_owned()
    } else {
        call.route_key.clone()
    };
    let mut ctx = json!({
        "routeKey": route_key,
        "stage": "$default",
        "requestId": request_id(),
        "timeEpoch": jwt::now() * 1000,
        "http": {"method": call.method, "path": call.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
    });
    if let Some(c) = &call.claims {
        ctx["authorizer"] = json!({ "jwt": { "claims": c, "scopes": null } });
    }
    // API Gateway passes text (text/*, JSON, XML, JavaScript) as is and base64-encodes every other
    // body, one without a Content-Type included.
    let content_type = call
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let text = content_type.as_deref().is_some_and(|ct| {
        ct.starts_with("text/") || ct.contains("json") || ct.contains("xml") || ct.contains("javascript")
    });
    let (body, b64) = match std::str::from_utf8(call.body) {
        Ok(t) if text => (t.to_owned(), false),
        _ => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(call.body), true)
        }
    };
    let mut ev = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": call.path,
        "rawQueryString": call.raw_query,
        "headers": headers,
        "requestContext": ctx,
        "isBase64Encoded": b64,
    });
    if !query.is_empty() {
        ev["queryStringParameters"] = Value::Object(query);
    }
    if !call.params.is_empty() {
        let params: Map<String, Value> = call
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        ev["pathParameters"] = Value::Object(params);
    }
    if !body.is_empty() {
        ev["body"] = Value::String(body);
    }
    ev
}

/// The payload-format-1.0 event a REST API's Lambda proxy integration would send for `call` on
/// the declared `resource` (`/orders/{id}`), stage [`REST_STAGE`]: headers and query as sent (single
/// and multi-value maps), a UTF-8 body as text and any other base64-encoded, the caller's IP in
/// `identity`.
pub fn rest_event(call: &HttpCall<'_>, resource: &str) -> Value {
    let mut headers = Map::new();
    let mut multi_headers = Map::new();
    for (k, v) in &call.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
        multi_headers.insert(k.clone(), json!(v.split(',').map(str::trim).collect::<Vec<_>>()));
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(call.raw_query) {
        query.insert(k.clone(), Value::String(v.clone()));
        if let Value::Array(values) = multi_query.entry(k).or_insert_with(|| json!([])) {
            values.push(Value::String(v));
        }
    }
    let params: Map<String, Value> = call
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let (body, b64) = match std::str::from_utf8(call.body) {
        Ok(t) => (t.to_owned(), false),
        Err(_) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(call.body), true)
        }
    };
    let nullable = |m: Map<String, Value>| if m.is_empty() { Value::Null } else { Value::Object(m) };
    json!({
        "resource": resource,
        "path": call.path,
        "httpMethod": call.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": nullable(query),
        "multiValueQueryStringParameters": nullable(multi_query),
        "pathParameters": nullable(params),
        "stageVariables": null,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": call.method,
            "stage": REST_STAGE,
            "path": format!("/{REST_STAGE}{}", call.path),
            "requestId": request_id(),
            "requestTimeEpoch": jwt::now() * 1000,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": if call.body.is_empty() { Value::Null } else { Value::String(body) },
        "isBase64Encoded": b64,
    })
}

/// The stage name of a REST API (`infra/lib/rest-api.ts`).
pub const REST_STAGE: &str = "live";

/// Marks an answer a REST API passes on as the function made it: its CORS headers are the
/// function's (a REST API adds none outside its preflight), so the runner leaves them.
#[derive(Debug, Clone, Copy)]
pub struct PassedThrough;

fn request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

/// CORS as API Gateway applies the stage's configuration (`infra/stages.json` "corsOrigin" and
/// "cors"): only to a request with an allowed `Origin`, and never the function's own headers
/// (API Gateway ignores them). A preflight gets the allowed methods, headers and max age.
pub fn cors(stage: &crate::stage::StageValues, origin: Option<&str>, preflight: bool, resp: &mut Response) {
    let h = resp.headers_mut();
    let ours: Vec<_> = h
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in ours {
        h.remove(k);
    }
    let Some(origin) = origin.filter(|o| stage.cors_origin == "*" || stage.cors_origin == *o) else {
        return;
    };
    let allowed = if stage.cors_origin == "*" { "*" } else { origin };
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set("access-control-allow-origin", allowed.to_owned());
    if preflight {
        set("access-control-allow-methods", stage.cors.allow_methods.join(","));
        set("access-control-allow-headers", stage.cors.allow_headers.join(","));
        set("access-control-max-age", stage.cors.max_age_seconds.to_string());
    } else {
        set("access-control-expose-headers", stage.cors.expose_headers.join(","));
    }
}

/// The CORS headers the functions a REST API fronts are configured to add (the CDK app sets the
/// same from the stage: `CORS_ALLOW_ORIGIN`, `CORS_EXPOSE_HEADERS`).
pub fn rest_cors(stage: &crate::stage::StageValues) -> shop_core::http::rest::RestCors {
    shop_core::http::rest::RestCors {
        allow_origin: Some(stage.cors_origin.clone()),
        expose_headers: Some(stage.cors.expose_headers.join(",")),
    }
}

/// `body` with its content type.
/// The largest request API Gateway passes to a Lambda function: the function's 6 MB payload
/// (the event around the body counts too; the body alone is what we check).
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// An answer API Gateway makes itself, before or instead of the function: `{"message": ...}`,
/// never our `{"error", "code"}`: 401 `Unauthorized` (with `www-authenticate`), 404 `Not Found`
/// (an unknown route or method: never 405), 413 `Request Entity Too Large`, 429 `Too Many
/// Requests`, 500 `Internal Server Error` (the function failed or timed out).
pub fn gateway(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::NOT_FOUND => "Not Found",
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        StatusCode::TOO_MANY_REQUESTS => "Too Many Requests",
        _ => "Internal Server Error",
    };
    json_response(status, &json!({ "message": message }))
}

/// The JWT authorizer's 401: `www-authenticate` says why, as API Gateway's does.
fn unauthorized(reason: &jwt::JwtError) -> Response {
    let mut resp = gateway(StatusCode::UNAUTHORIZED);
    let challenge = match reason {
        jwt::JwtError::Missing => "Bearer".to_owned(),
        other => format!(
            r#"Bearer scope="" error="invalid_token" error_description="{}""#,
            other.to_string().replace('"', "'")
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert("www-authenticate", v);
    }
    resp
}

fn to_http(r: shop_core::Response) -> Response {
    let status =
        StatusCode::from_u16(u16::try_from(r.status_code).unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(shop_core::http::body_text(&r).to_owned()));
    *resp.status_mut() = status;
    for (k, v) in &r.headers {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

/// A request to a declared route: API Gateway's 404 off the routes (whatever the method), its 429
/// over the route's throttling, its 401
/// without a valid token where the route needs one, its 413 above Lambda's payload limit, its 500
/// when the function fails or outlives its timeout; else the handler's own answer.
pub async fn route(st: &Arc<AppState>, parts: &http::request::Parts, body: &[u8]) -> Response {
    let path = parts.uri.path();
    let Some(m) = st.decl.route(parts.method.as_str(), path) else {
        return gateway(StatusCode::NOT_FOUND);
    };
    let route_key = format!("{} {} {}", m.service, m.route.method, m.route.path);
    if !st
        .throttle
        .admit(&route_key, m.route.limit.as_deref() == Some("strict"))
    {
        return gateway(StatusCode::TOO_MANY_REQUESTS);
    }
    if body.len() > MAX_EVENT_BYTES {
        return gateway(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let claims = if m.route.auth == Auth::None {
        None
    } else {
        let header = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
        match st.verifier.verify(header, jwt::now()).await {
            Ok(c) => Some(json!(c)),
            Err(e) => {
                tracing::info!(reason = %e, path = %path, "unauthorized");
                return unauthorized(&e);
            }
        }
    };
    let call = HttpCall {
        method: parts.method.as_str(),
        path: &m.path,
        route_key: format!("{} {}", m.route.method, m.route.path),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: joined_headers(&parts.headers),
        body,
        claims,
        params: m.params.clone(),
    };
    let invocation = match m.api {
        ApiKind::Rest => Invocation::Rest(rest_event(&call, &m.route.path), rest_cors(&st.stage)),
        ApiKind::Http => {
            let Ok(event) = serde_json::from_value::<shop_core::Request>(api_event(&call)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "request could not be represented",
                );
            };
            Invocation::Http(Box::new(event))
        }
    };
    let invoked = st.services.invoke(m.service, &m.function.name, invocation);
    // The function's declared timeout, as the CDK app deploys it: past it, Lambda stops the
    // function and API Gateway answers 500 (which the 5xx alarm counts).
    let limit = m.function.timeout();
    let scoped = recorder::scope(m.service, &m.function.name, invoked);
    match tokio::time::timeout(limit, scoped).await {
        Ok(Some(Answer::Http(r))) => {
            let mut resp = to_http(*r);
            if m.api == ApiKind::Rest {
                resp.extensions_mut().insert(PassedThrough);
            }
            resp
        }
        Ok(_) => gateway(StatusCode::INTERNAL_SERVER_ERROR),
        Err(_) => {
            tracing::error!(function = %m.function.name, ?limit, "function timed out: 500");
            gateway(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Headers as API Gateway passes them to a function: names lower-cased, the values of a repeated
/// header joined with commas (payload format 2.0).
fn joined_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in headers {
        let Ok(v) = v.to_str() else { continue };
        match out.iter_mut().find(|(name, _)| name == k.as_str()) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(v);
            }
            None => out.push((k.as_str().to_owned(), v.to_owned())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_of(content_type: Option<&str>, body: &[u8]) -> Value {
        let call = HttpCall {
            method: "POST",
            path: "/auth/sign-in",
            headers: content_type
                .map(|ct| vec![("Content-Type".to_owned(), ct.to_owned())])
                .unwrap_or_default(),
            body,
            ..HttpCall::default()
        };
        api_event(&call)
    }

    #[test]
    fn text_bodies_pass_as_they_are_and_every_other_body_is_base64_as_api_gateway_sends_it() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/xml",
            "application/javascript",
            "application/problem+json",
        ] {
            let ev = event_of(Some(ct), br#"{"a":1}"#);
            assert_eq!(
                (ev["isBase64Encoded"].as_bool(), ev["body"].as_str()),
                (Some(false), Some(r#"{"a":1}"#)),
                "{ct}"
            );
        }
        for ct in [
            None,
            Some("image/png"),
            Some("application/octet-stream"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let ev = event_of(ct, br#"{"a":1}"#);
            assert_eq!(
                (ev["isBase64Encoded"].as_bool(), ev["body"].as_str()),
                (Some(true), Some("eyJhIjoxfQ==")),
                "{ct:?}"
            );
        }
    }

    #[test]
    fn a_repeated_header_reaches_the_function_joined_with_commas() {
        let mut h = http::HeaderMap::new();
        h.append("idempotency-key", HeaderValue::from_static("k1"));
        h.append("idempotency-key", HeaderValue::from_static("k2"));
        h.append("accept", HeaderValue::from_static("*/*"));
        let joined = joined_headers(&h);
        assert!(
            joined.contains(&("idempotency-key".to_owned(), "k1,k2".to_owned())),
            "{joined:?}"
        );
        assert_eq!(joined.len(), 2);
    }
}
