//! The one declaration of functions, routes and triggers (`lambdas/services.json`), shared with
//! the CDK app.

use serde::Deserialize;

/// The declaration, compiled in.
pub const SERVICES_JSON: &str = include_str!("../../lambdas/services.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Declaration {
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    pub name: String,
    pub prefix: String,
    /// Which API Gateway API fronts the service's routes (default: an HTTP API).
    #[serde(default)]
    pub api: ApiKind,
    pub functions: Vec<Function>,
}

/// `"api"`: `http` (an HTTP API, payload 2.0) or `rest` (a REST API, payload 1.0, which a WAF
/// can sit before: `infra/lib/rest-api.ts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    #[default]
    Http,
    Rest,
}

/// One Lambda: its name (the handler its service's binary serves) and exactly one trigger.
#[derive(Debug, Clone, Deserialize)]
pub struct Function {
    pub name: String,
    #[serde(default)]
    pub http: Option<HttpRoute>,
    /// Object-created events of the service's image bucket.
    #[serde(default)]
    pub s3: Option<BucketTrigger>,
    #[serde(default)]
    pub sqs: Option<QueueTrigger>,
    #[serde(default)]
    pub schedule: Option<ScheduleTrigger>,
    /// A DynamoDB table's change stream.
    #[serde(default)]
    pub stream: Option<StreamTrigger>,
    /// A trigger of the user pool (Cognito invokes it synchronously).
    #[serde(default)]
    pub cognito: Option<CognitoTrigger>,
    /// The function's timeout in seconds (default [`DEFAULT_TIMEOUT_SECS`], the CDK app's).
    #[serde(default, rename = "timeoutSeconds")]
    pub timeout_seconds: Option<u64>,
}

/// A function's timeout when the declaration names none (`infra/lib/rust-function.ts` deploys the same).
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// `{"bucket": "images"}`: the service's image bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketTrigger {
    pub bucket: String,
}

/// `{"queue": "orders"}`: a queue of the stack, by its short name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTrigger {
    pub queue: String,
}

/// `{"every": "cleanup"}`: the stage setting `<every>EveryMinutes` gives the rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    pub every: String,
}

/// `{"table": "orders", "events": ["INSERT", "MODIFY"], "retryAttempts": 2}`: a table of the
/// stack, by its short name; the records delivered (the mapping's filter; all when absent); how
/// often a failing batch is retried before it is bisected and its records set aside.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamTrigger {
    pub table: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub retry_attempts: u32,
}

/// `{"trigger": "CustomMessage"}`: which of the user pool's Lambda triggers the function is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoTrigger {
    pub trigger: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    None,
    User,
    Admin,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
    pub auth: Auth,
    /// `strict`: the stage's stricter throttling.
    #[serde(default)]
    pub limit: Option<String>,
}

/// The kind of event that invokes a non-HTTP function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Http,
    S3,
    Sqs,
    Schedule,
    Stream,
    Cognito,
}

impl Function {
    /// How long Lambda lets this function run.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECS))
    }

    pub fn trigger(&self) -> Option<Trigger> {
        let set = [
            (self.http.is_some(), Trigger::Http),
            (self.s3.is_some(), Trigger::S3),
            (self.sqs.is_some(), Trigger::Sqs),
            (self.schedule.is_some(), Trigger::Schedule),
            (self.stream.is_some(), Trigger::Stream),
            (self.cognito.is_some(), Trigger::Cognito),
        ];
        let mut it = set.iter().filter(|(on, _)| *on).map(|(_, t)| *t);
        match (it.next(), it.next()) {
            (Some(t), None) => Some(t),
            _ => None,
        }
    }
}

/// The declaration; a malformed file is a build-time mistake, reported with its cause.
pub fn load() -> Result<Declaration, serde_json::Error> {
    serde_json::from_str(SERVICES_JSON)
}

/// A matched route: the service, the function and the path parameters.
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    pub service: &'a str,
    pub api: ApiKind,
    pub function: &'a Function,
    pub route: &'a HttpRoute,
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Declaration {
    /// Methods declared for `full_path` (to answer 405 with `Allow` for any other method).
    pub fn methods_for(&self, full_path: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for s in &self.services {
            let Some(rest) = full_path.strip_prefix(&s.prefix) else {
                continue;
            };
            for f in &s.functions {
                if let Some(r) = &f.http {
                    if rest.starts_with('/') && match_path(&r.path, rest).is_some() {
                        out.push(r.method.as_str());
                    }
                }
            }
        }
        out
    }

    /// The function serving `method` + `full_path` (`/<prefix>/<service path>`).
    pub fn route(&self, method: &str, full_path: &str) -> Option<Matched<'_>> {
        for s in &self.services {
            let Some(rest) = full_path.strip_prefix(&s.prefix) else {
                continue;
            };
            if !rest.starts_with('/') {
                continue;
            }
            for f in &s.functions {
                let Some(r) = &f.http else { continue };
                if !r.method.eq_ignore_ascii_case(method) {
                    continue;
                }
                if let Some(params) = match_path(&r.path, rest) {
                    return Some(Matched {
                        service: &s.name,
                        api: s.api,
                        function: f,
                        route: r,
                        path: rest.to_owned(),
                        params,
                    });
                }
            }
        }
        None
    }
}

fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    // Exact segments, as API Gateway matches: `/orders/` is not `/orders`.
    let p: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let a: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if p.len() != a.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ps, seg) in p.iter().zip(&a) {
        if let Some(name) = ps.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            if seg.is_empty() {
                return None;
            }
            params.push((
                name.to_owned(),
                percent_encoding::percent_decode_str(seg)
                    .decode_utf8_lossy()
                    .into_owned(),
            ));
        } else if ps != seg {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_exactly_one_trigger() {
        let d = load().unwrap();
        for s in &d.services {
            for f in &s.functions {
                assert!(f.trigger().is_some(), "{}/{} needs exactly one trigger", s.name, f.name);
            }
        }
    }

    #[test]
    fn routes_match_with_prefix_and_path_parameters() {
        let d = load().unwrap();
        let m = d.route("GET", "/order/orders/abc").unwrap();
        assert_eq!((m.service, m.function.name.as_str()), ("order", "get-order"));
        assert_eq!(m.params, vec![("id".to_owned(), "abc".to_owned())]);
        assert_eq!(d.route("POST", "/banner/upload-url").unwrap().service, "banner");
        assert_eq!(d.route("POST", "/category/upload-url").unwrap().service, "category");
        assert!(d.route("GET", "/banner/upload-url").is_none());
        assert!(d.route("GET", "/bannerx/banners").is_none());
        assert!(d.route("GET", "/order/orders/").is_none());
    }
}
