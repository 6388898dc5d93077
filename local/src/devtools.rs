//! The developer endpoints under `/_local/`: sent emails, business metrics, the stack
//! description, the API reference, and the CDN stand-in that serves published images.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::declaration::Trigger;
use crate::replies::{error, json_response, typed};
use crate::state::AppState;

/// The API description, served at `/_local/openapi.yaml`.
const OPENAPI: &str = include_str!("../../openapi.yaml");

/// The reference page: Swagger UI from the pinned `swagger-ui-dist` npm package (no CDN).
const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop API reference</title>
<link rel="stylesheet" href="/_local/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/_local/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/_local/openapi.yaml", dom_id: "#ui" });</script>
</body></html>"##;

/// The answer to `GET /_local/<rest>`, or `None` for a path that is not a developer endpoint.
/// `POST /_local/run/<service>/<function>`: runs a scheduled function now, once, with the empty
/// event its schedule sends (what `aws lambda invoke` does on AWS); its output, or 502 with its error.
pub async fn run(st: &AppState, path: &str) -> Option<Response> {
    let (service, function) = path.strip_prefix("/_local/run/")?.split_once('/')?;
    if !declared(st, service, function, Trigger::Schedule) {
        return Some(error(
            StatusCode::NOT_FOUND,
            "NoSuchSchedule",
            "no scheduled function of that name",
        ));
    }
    Some(invoked(st, service, function, json!({})).await)
}

/// `POST /_local/cognito/<service>/<function>`: the emulator's call of a user pool trigger (the
/// runner registers this URL with it at start); the function's answer, or 502 with its error,
/// which the emulator turns into Cognito's refusal.
pub async fn cognito_trigger(st: &AppState, path: &str, body: &[u8]) -> Option<Response> {
    let (service, function) = path.strip_prefix(COGNITO_TRIGGERS)?.split_once('/')?;
    if !declared(st, service, function, Trigger::Cognito) {
        return Some(error(
            StatusCode::NOT_FOUND,
            "NoSuchTrigger",
            "no user pool trigger of that name",
        ));
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Some(error(StatusCode::BAD_REQUEST, "InvalidEvent", "the event is not JSON"));
    };
    Some(invoked(st, service, function, event).await)
}

/// Whether `service/function` is declared with `trigger`.
fn declared(st: &AppState, service: &str, function: &str, trigger: Trigger) -> bool {
    st.decl.services.iter().any(|s| {
        s.name == service
            && s.functions
                .iter()
                .any(|f| f.name == function && f.trigger() == Some(trigger))
    })
}

/// Runs `service/function` once with `event`: its output, or 502 with its error.
async fn invoked(st: &AppState, service: &str, function: &str, event: serde_json::Value) -> Response {
    let target = (service.to_owned(), function.to_owned());
    match crate::triggers::invoke(st, &target, event).await {
        Ok(out) => json_response(StatusCode::OK, &out),
        Err(e) => error(StatusCode::BAD_GATEWAY, "FunctionError", &e),
    }
}

/// Where the runner serves the user pool's triggers to the emulator.
pub const COGNITO_TRIGGERS: &str = "/_local/cognito/";

pub async fn get(st: &AppState, path: &str) -> Option<Response> {
    let rest = path.strip_prefix("/_local/")?;
    Some(match rest {
        "emails" => match st.emulator.sent_emails().await {
            Ok(m) => json_response(StatusCode::OK, &json!({ "emails": m })),
            Err(e) => error(StatusCode::BAD_GATEWAY, "EmulatorUnavailable", &e.to_string()),
        },
        "metrics" => {
            let namespace = crate::stack::metrics_namespace(&st.prefix);
            let counts = crate::metrics::snapshot(&namespace);
            json_response(
                StatusCode::OK,
                &json!({ "namespace": namespace, "metrics": counts, "chaos": st.chaos.counts() }),
            )
        }
        "stack" => json_response(StatusCode::OK, &serde_json::to_value(&st.info).unwrap_or_default()),
        "openapi.yaml" => typed(StatusCode::OK, "application/yaml", OPENAPI.as_bytes().to_vec()),
        "docs" | "docs/" => typed(
            StatusCode::OK,
            "text/html; charset=utf-8",
            DOCS_PAGE.as_bytes().to_vec(),
        ),
        _ => {
            if let Some(object) = rest.strip_prefix("cdn/") {
                cdn(st, object).await
            } else if let Some(asset) = rest.strip_prefix("docs/") {
                docs_asset(asset)
            } else {
                return None;
            }
        }
    })
}

/// A file of `node_modules/swagger-ui-dist` (installed by `npm ci`).
fn docs_asset(name: &str) -> Response {
    let allowed = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"];
    if !allowed.contains(&name) {
        return error(StatusCode::NOT_FOUND, "NoSuchRoute", "no such asset");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/swagger-ui-dist");
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => {
            let ctype = if name.ends_with(".css") {
                "text/css"
            } else if name.ends_with(".js") {
                "application/javascript"
            } else {
                "image/png"
            };
            typed(StatusCode::OK, ctype, bytes)
        }
        Err(_) => error(
            StatusCode::NOT_FOUND,
            "NoSuchRoute",
            "viewer not installed: run npm ci at the repository root",
        ),
    }
}

/// The CDN stand-in: serves the published objects of the private buckets (origin path
/// [`shop_core::images::PUBLIC`]) with `nosniff`, as CloudFront does on AWS; uploads and images
/// under review are not reachable here.
async fn cdn(st: &AppState, rest: &str) -> Response {
    let Some((bucket, key)) = rest.split_once('/') else {
        return error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object");
    };
    if !st.info.image_buckets().any(|b| b == bucket) {
        return error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object");
    }
    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
    let key = format!("{}{key}", shop_core::images::PUBLIC);
    let Ok(object) = st.s3.get_object().bucket(bucket).key(&key).send().await else {
        return error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object");
    };
    let ctype = object.content_type().unwrap_or("application/octet-stream").to_owned();
    let Ok(data) = object.body.collect().await else {
        return error(
            StatusCode::BAD_GATEWAY,
            "EmulatorUnavailable",
            "object could not be read",
        );
    };
    let mut resp = Response::new(Body::from(data.into_bytes()));
    if let Ok(v) = HeaderValue::from_str(&ctype) {
        resp.headers_mut().insert("content-type", v);
    }
    resp.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}
