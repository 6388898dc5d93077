//! API Gateway REST APIs (the Lambda proxy integration, payload format 1.0), for the services a
//! REST API fronts so that a WAF can sit before them (`"api": "rest"` in `lambdas/services.json`;
//! docs/api.md, "Sign-up is not a billing lever"). The handlers keep one request type: a REST
//! event becomes the HTTP API's 2.0 request here, and the answer goes back in the 1.0 shape.
//!
//! CORS differs: an HTTP API adds the stage's CORS headers to every answer itself (and drops a
//! function's), a REST API passes the function's headers through and adds none outside its
//! preflight. So an answer to a REST request carries them from here, from the function's
//! configuration ([`RestCors::from_env`]).

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::{Request, Response};

/// Whether a Lambda event is a REST API's (1.0: `httpMethod` and no `"version": "2.0"`).
pub fn is_rest_event(event: &serde_json::Value) -> bool {
    event.get("httpMethod").is_some() && event.get("version").and_then(|v| v.as_str()) != Some("2.0")
}

/// A REST API request as the 2.0 request the handlers read: body, headers, the query (both the
/// raw string, rebuilt from the multi-value map in order, and the parsed map), path parameters,
/// method, path and source IP.
pub fn request_of(rest: ApiGatewayProxyRequest) -> Request {
    let mut req = Request::default();
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let pairs: Vec<String> = rest
        .multi_value_query_string_parameters
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    req.raw_query_string = (!pairs.is_empty()).then(|| pairs.join("&"));
    req.query_string_parameters = rest.multi_value_query_string_parameters;
    req.headers = rest.headers;
    req.path_parameters = rest.path_parameters;
    req.body = rest.body;
    req.is_base64_encoded = rest.is_base64_encoded;
    req.raw_path = rest.path.clone();
    req.route_key = rest.resource.map(|r| format!("{} {r}", rest.http_method));
    req.request_context.http.method = rest.http_method;
    req.request_context.http.path = rest.path;
    req.request_context.http.source_ip = rest.request_context.identity.source_ip;
    req.request_context.request_id = rest.request_context.request_id;
    req
}

/// The CORS headers a REST answer carries, as the stage configures them (`CORS_ALLOW_ORIGIN`,
/// `CORS_EXPOSE_HEADERS`, set on the functions a REST API fronts; unset: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestCors {
    pub allow_origin: Option<String>,
    pub expose_headers: Option<String>,
}

impl RestCors {
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Self {
            allow_origin: var("CORS_ALLOW_ORIGIN"),
            expose_headers: var("CORS_EXPOSE_HEADERS"),
        }
    }

    /// Adds the headers to `resp` (the function's own answer; it sends none itself).
    pub fn apply(&self, resp: &mut Response) {
        let Some(origin) = self.allow_origin.as_deref().and_then(|o| HeaderValue::from_str(o).ok()) else {
            return;
        };
        resp.headers.insert("access-control-allow-origin", origin);
        if let Some(exposed) = self
            .expose_headers
            .as_deref()
            .and_then(|h| HeaderValue::from_str(h).ok())
        {
            resp.headers.insert("access-control-expose-headers", exposed);
        }
        if self.allow_origin.as_deref() != Some("*") {
            resp.headers.insert("vary", HeaderValue::from_static("Origin"));
        }
    }
}

/// The handler's answer in the REST API's 1.0 shape (status, headers, body).
pub fn response_of(resp: Response) -> ApiGatewayProxyResponse {
    let mut out = ApiGatewayProxyResponse::default();
    out.status_code = resp.status_code;
    out.headers = resp.headers;
    out.is_base64_encoded = resp.is_base64_encoded;
    out.body = resp.body;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{header, json_body, query};

    fn rest_event() -> serde_json::Value {
        serde_json::json!({
            "resource": "/sign-up",
            "path": "/sign-up",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"},
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "queryStringParameters": {"next": "a b"},
            "multiValueQueryStringParameters": {"next": ["a b"], "tag": ["x,y"]},
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "resourcePath": "/sign-up", "httpMethod": "POST", "stage": "live", "requestId": "r-1",
                "path": "/live/sign-up", "identity": {"sourceIp": "203.0.113.9"}
            },
            "body": "{\"email\":\"ada@example.com\"}",
            "isBase64Encoded": false
        })
    }

    #[test]
    fn a_rest_event_reads_as_the_request_the_handlers_know() {
        let event = rest_event();
        assert!(is_rest_event(&event));
        assert!(!is_rest_event(
            &serde_json::json!({"version": "2.0", "httpMethod": "POST"})
        ));
        let req = request_of(serde_json::from_value(event).unwrap());
        assert_eq!(
            json_body(&req).unwrap().string("email", 100).unwrap(),
            "ada@example.com"
        );
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(query(&req, "next").as_deref(), Some("a b"));
        // A comma inside a value stays in it (the raw string is rebuilt encoded).
        assert_eq!(query(&req, "tag").as_deref(), Some("x,y"));
        assert_eq!(req.request_context.http.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(req.route_key.as_deref(), Some("POST /sign-up"));
    }

    #[test]
    fn a_rest_answer_carries_the_stage_cors_headers_and_keeps_status_headers_and_body() {
        let http = crate::Http::from_env(false);
        let mut resp = http.json(201, &serde_json::json!({"ok": true}));
        let cors = RestCors {
            allow_origin: Some("https://shop.example.com".into()),
            expose_headers: Some("x-next-token".into()),
        };
        cors.apply(&mut resp);
        let out = serde_json::to_value(response_of(resp)).unwrap();
        assert_eq!(out["statusCode"], 201);
        assert_eq!(out["body"], "{\"ok\":true}");
        assert_eq!(
            out["headers"]["access-control-allow-origin"],
            "https://shop.example.com"
        );
        assert_eq!(out["headers"]["access-control-expose-headers"], "x-next-token");
        assert_eq!(out["headers"]["vary"], "Origin");
        assert_eq!(out["headers"]["content-type"], "application/json");
        // Nothing the REST integration does not know (2.0's `cookies`).
        assert!(out.get("cookies").is_none(), "{out}");
        let mut bare = http.json(200, &serde_json::json!({}));
        RestCors::default().apply(&mut bare);
        assert!(bare.headers.get("access-control-allow-origin").is_none());
    }
}
