//! Records every AWS request a handler sends, for the least-privilege check
//! (`scripts/iam_check.py`): which function sent it (the runner scopes each handler call), the IAM
//! action and the resource. It observes through the [`crate::http_hook`] of the SDK configuration
//! the runner hands the handlers, so production code knows nothing of it. On when `SHOP_RECORD_AWS_CALLS` names a
//! file; each call is one JSON line appended to it.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::http_hook::HttpRequest;

tokio::task_local! {
    /// The declared function (`service/bin`) whose handler is running in this task.
    static FUNCTION: String;
}

/// Runs `fut` as function `service/name`: the AWS calls it makes are recorded under that name.
pub async fn scope<F: std::future::Future>(service: &str, name: &str, fut: F) -> F::Output {
    FUNCTION.scope(format!("{service}/{name}"), fut).await
}

/// The declared function (`service/bin`) whose handler is running in this task, if any.
pub fn current() -> Option<String> {
    FUNCTION.try_with(Clone::clone).ok()
}

/// The file calls are recorded to, when recording is on.
pub fn target() -> Option<std::path::PathBuf> {
    std::env::var_os("SHOP_RECORD_AWS_CALLS").map(Into::into)
}

/// Where a runner records its handlers' calls: `file`, under the stack `prefix` (stripped from
/// resource names by the checker, so recordings of many test stacks read alike).
#[derive(Debug)]
pub struct Sink {
    file: std::path::PathBuf,
    prefix: String,
    /// The stack's admin gate asks the pool (the stage's `adminMfaRequired`): the checker holds
    /// those calls only to the roles of stages that require it.
    admin_mfa: bool,
}

impl Sink {
    pub fn new(file: std::path::PathBuf, prefix: &str, admin_mfa: bool) -> Self {
        Self {
            file,
            prefix: prefix.to_owned(),
            admin_mfa,
        }
    }

    /// Records `req` under the function whose handler sent it; calls outside a handler
    /// (provisioning, pollers receiving messages) are the runner's own and are not recorded.
    pub fn observe(&self, req: &HttpRequest) {
        if let Some(function) = current() {
            self.write(&function, classify(req));
        }
    }

    /// Records that `function` relied on `action` on `resource` without calling it: S3 answers
    /// a missing object with 404 only to a caller that may `s3:ListBucket`.
    pub fn implied(&self, function: &str, action: &str, resource: &str) {
        self.write(function, vec![(action.to_owned(), resource.to_owned())]);
    }
}

static WRITES: Mutex<()> = Mutex::new(());

impl Sink {
    fn write(&self, function: &str, calls: Vec<(String, String)>) {
        let mut lines = String::new();
        for (action, resource) in calls {
            let mut line =
                json!({ "function": function, "action": action, "resource": resource, "stack": self.prefix });
            if self.admin_mfa {
                line["adminMfa"] = json!(true);
            }
            lines.push_str(&format!("{line}\n"));
        }
        // One lock for every runner of the process (tests run several), one write per request.
        let Ok(_guard) = WRITES.lock() else { return };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&self.file) {
            let _ = f.write_all(lines.as_bytes());
        }
    }
}

/// The IAM actions and resources of one request: `(action, resource)`, resources in the form of
/// their ARN's tail (`table/<name>/index/<index>`, `<queue>`, `<bucket>/<key>`, ...).
pub fn classify(req: &HttpRequest) -> Vec<(String, String)> {
    let body = req.body().bytes().unwrap_or_default();
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    if let Some(target) = req.headers().get("x-amz-target") {
        let (service, op) = target.split_once('.').unwrap_or((target, ""));
        return match service {
            s_ if s_.starts_with("DynamoDB_") => dynamodb(op, &json),
            "AmazonSQS" => vec![(format!("sqs:{op}"), tail_after_slash(&s(&json["QueueUrl"])))],
            "AWSStepFunctions" => vec![(format!("states:{op}"), arn_tail(&s(&json["stateMachineArn"])))],
            "AWSCognitoIdentityProviderService" => {
                let pool = s(&json["UserPoolId"]);
                let resource = if pool.is_empty() {
                    "*".to_owned()
                } else {
                    format!("userpool/{pool}")
                };
                vec![(format!("cognito-idp:{op}"), resource)]
            }
            other => vec![(format!("{other}:{op}"), "*".to_owned())],
        };
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = form_value(&text, "Action") {
        // The query protocol (SNS).
        let topic = form_value(&text, "TopicArn").unwrap_or_default();
        return vec![(format!("sns:{action}"), arn_tail(&topic))];
    }
    if path_of(req).starts_with("v2/email/outbound-emails") {
        return vec![(
            "ses:SendEmail".into(),
            format!("identity/{}", s(&json["FromEmailAddress"])),
        )];
    }
    // Everything else on the emulator is S3, path-style: /<bucket>/<key>.
    let (bucket, key) = s3_object(req);
    let object = format!("{bucket}/{key}");
    match (req.method(), key.is_empty()) {
        ("GET" | "HEAD", false) => vec![("s3:GetObject".into(), object)],
        ("PUT", false) => {
            let mut calls = vec![("s3:PutObject".into(), object)];
            if let Some(src) = copy_source(req) {
                calls.push(("s3:GetObject".into(), src));
            }
            calls
        }
        ("DELETE", false) => vec![("s3:DeleteObject".into(), object)],
        (m, _) => vec![(format!("s3:{m}Bucket"), bucket)],
    }
}

/// The path of a request's URL, without the query.
fn path_of(req: &HttpRequest) -> &str {
    let path = req
        .uri()
        .split("://")
        .nth(1)
        .and_then(|r| r.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or_default();
    path.split('?').next().unwrap_or_default()
}

/// The bucket and key of a path-style S3 request (`/<bucket>/<key>`, decoded; the key is empty
/// for a request on the bucket).
pub fn s3_object(req: &HttpRequest) -> (String, String) {
    let decoded = percent_encoding::percent_decode_str(path_of(req))
        .decode_utf8_lossy()
        .into_owned();
    match decoded.split_once('/') {
        Some((bucket, key)) => (bucket.to_owned(), key.to_owned()),
        None => (decoded, String::new()),
    }
}

/// The object a `CopyObject` reads (`<bucket>/<key>`, decoded), if `req` is one.
pub fn copy_source(req: &HttpRequest) -> Option<String> {
    let src = req.headers().get("x-amz-copy-source")?;
    Some(
        percent_encoding::percent_decode_str(src.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn dynamodb(op: &str, json: &Value) -> Vec<(String, String)> {
    let table = |v: &Value| format!("table/{}", v.as_str().unwrap_or_default());
    match op {
        "TransactWriteItems" => json["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, body) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    _ => "ConditionCheckItem",
                };
                Some((format!("dynamodb:{action}"), table(&body["TableName"])))
            })
            .collect(),
        // One call per table named in the request, each checked as its own resource (IAM does so).
        "BatchGetItem" | "BatchWriteItem" => json["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|items| items.keys())
            .map(|name| (format!("dynamodb:{op}"), format!("table/{name}")))
            .collect(),
        _ => {
            let mut resource = table(&json["TableName"]);
            if let Some(index) = json["IndexName"].as_str() {
                resource = format!("{resource}/index/{index}");
            }
            vec![(format!("dynamodb:{op}"), resource)]
        }
    }
}

/// `arn:aws:sns:region:account:name` -> `name`; `...:stateMachine:name` -> `stateMachine:name`.
fn arn_tail(arn: &str) -> String {
    arn.splitn(6, ':').nth(5).unwrap_or(arn).to_owned()
}

fn tail_after_slash(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_batch_read_is_recorded_once_per_table_it_names() {
        let calls = super::dynamodb(
            "BatchGetItem",
            &json!({"RequestItems": {"shop-products": {"Keys": [{"id": {"S": "a"}}, {"id": {"S": "b"}}]}}}),
        );
        assert_eq!(
            calls,
            [("dynamodb:BatchGetItem".to_owned(), "table/shop-products".to_owned())]
        );
        let get = super::dynamodb("GetItem", &json!({"TableName": "shop-orders"}));
        assert_eq!(get, [("dynamodb:GetItem".to_owned(), "table/shop-orders".to_owned())]);
    }
}
