//! Fault injection for the local stack (`shop-local --chaos <rate> [--chaos-kinds a,b]`): on a
//! fraction of the occasions, the faults AWS produces that the emulator does not. Each kind is
//! counted, and `GET /_local/metrics` shows the counts under `chaos`.
//!
//! - `throttle`, `server-error`, `slow-call`: a handler's SDK call is answered with throttling or a
//!   5xx without being sent, or sent 1.5 s late (through [`crate::http_hook`]);
//! - `ses-failure`: a handler's SES send is refused (`MessageRejected`); the workflow's own emails
//!   fail in the emulator at the same rate (`SHOP_EMU_SES_FAILURE_RATE`, when the runner starts it);
//! - `duplicate-delivery`: a queue batch is delivered to its consumer twice;
//! - `duplicate-s3-event`: an S3 event reaches its handler twice;
//! - `async-retry`: an S3 event that its handler handled is retried anyway, as Lambda retries an
//!   asynchronous invocation whose handler failed after doing its work;
//! - `stream-error`: a table stream's batch fails as a crashed function's would (`Unhandled`), so
//!   the mapping's retries, bisection and failure queue are seen at work.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http_hook::{Act, HttpRequest};

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    SlowCall,
    SesFailure,
    DuplicateDelivery,
    DuplicateS3Event,
    AsyncRetry,
    StreamError,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::SlowCall,
        Fault::SesFailure,
        Fault::DuplicateDelivery,
        Fault::DuplicateS3Event,
        Fault::AsyncRetry,
        Fault::StreamError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::ServerError => "server-error",
            Fault::SlowCall => "slow-call",
            Fault::SesFailure => "ses-failure",
            Fault::DuplicateDelivery => "duplicate-delivery",
            Fault::DuplicateS3Event => "duplicate-s3-event",
            Fault::AsyncRetry => "async-retry",
            Fault::StreamError => "stream-error",
        }
    }

    /// The kinds a comma-separated list names (`all` for every kind).
    pub fn parse_list(list: &str) -> Result<Vec<Fault>, String> {
        if list == "all" {
            return Ok(Self::ALL.to_vec());
        }
        list.split(',')
            .map(|n| {
                Self::ALL.into_iter().find(|f| f.name() == n.trim()).ok_or_else(|| {
                    format!(
                        "unknown chaos kind {n:?}; kinds: all, {}",
                        Self::ALL.map(Fault::name).join(", ")
                    )
                })
            })
            .collect()
    }
}

/// Which faults strike, how often, and how many times each did.
#[derive(Debug)]
pub struct Chaos {
    rate: f64,
    kinds: Vec<Fault>,
    seed: RandomState,
    draws: AtomicU64,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    /// How long a `slow-call` holds the call, in ms (default 1500).
    slow_ms: AtomicU64,
}

impl Chaos {
    /// `kinds` strike on a fraction `rate` (0..=1) of their occasions.
    pub fn new(rate: f64, kinds: Vec<Fault>) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("--chaos takes a rate from 0 to 1, not {rate}"));
        }
        Ok(Self {
            rate,
            kinds,
            ..Self::off()
        })
    }

    /// No fault ever.
    pub fn off() -> Self {
        Self {
            rate: 0.0,
            kinds: Vec::new(),
            seed: RandomState::new(),
            draws: AtomicU64::new(0),
            counts: Mutex::new(BTreeMap::new()),
            slow_ms: AtomicU64::new(1500),
        }
    }

    /// `slow-call` holds each call this long from now on (a stall past an SDK or function timeout).
    pub fn set_slow_calls(&self, slow: Duration) {
        self.slow_ms
            .store(u64::try_from(slow.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Whether no fault can ever strike.
    pub fn is_off(&self) -> bool {
        self.rate <= 0.0 || self.kinds.is_empty()
    }

    /// The rate `fault` strikes at (0 when it is off).
    pub fn rate_of(&self, fault: Fault) -> f64 {
        if self.kinds.contains(&fault) {
            self.rate
        } else {
            0.0
        }
    }

    /// Whether `fault` strikes this time (then it is counted).
    pub fn strikes(&self, fault: Fault) -> bool {
        let rate = self.rate_of(fault);
        if rate <= 0.0 {
            return false;
        }
        let mut h = self.seed.build_hasher();
        h.write_u64(self.draws.fetch_add(1, Ordering::Relaxed));
        let draw = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
        if draw >= rate {
            return false;
        }
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(fault.name()).or_default() += 1;
        }
        true
    }

    /// How many times each kind struck.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// What the SDK hook does with one request of a handler.
    pub fn act(self: &Arc<Self>, req: &HttpRequest) -> Act {
        let json = req.headers().get("x-amz-target").is_some();
        let ses = req.uri().contains("/v2/email/outbound-emails");
        if ses && self.strikes(Fault::SesFailure) {
            return Act::Answer(
                400,
                r#"{"__type":"MessageRejected","message":"chaos: the message was rejected"}"#.to_owned(),
            );
        }
        if self.strikes(Fault::Throttle) {
            // JSON protocols read the error code; the others know throttling by its status.
            return if json {
                Act::Answer(
                    400,
                    r#"{"__type":"ThrottlingException","message":"chaos: rate exceeded"}"#.to_owned(),
                )
            } else {
                Act::Answer(503, String::new())
            };
        }
        if self.strikes(Fault::ServerError) {
            let body = if json {
                r#"{"__type":"InternalServerError","message":"chaos"}"#
            } else {
                ""
            };
            return Act::Answer(500, body.to_owned());
        }
        if self.strikes(Fault::SlowCall) {
            let slow = Duration::from_millis(self.slow_ms.load(Ordering::Relaxed));
            return Act::Before(Box::pin(tokio::time::sleep(slow)));
        }
        Act::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_strikes_at_about_its_rate_and_only_when_switched_on() {
        let chaos = Chaos::new(0.25, vec![Fault::Throttle]).unwrap();
        let struck = (0..4000).filter(|_| chaos.strikes(Fault::Throttle)).count();
        assert!((800..1200).contains(&struck), "{struck} of 4000 at 25 %");
        assert!(
            !(0..1000).any(|_| chaos.strikes(Fault::ServerError)),
            "a kind that is off never strikes"
        );
        assert_eq!(chaos.counts().get("throttle"), Some(&(struck as u64)));
        assert!(Chaos::new(1.5, vec![]).is_err());
    }

    #[test]
    fn kinds_parse_by_name_or_all() {
        assert_eq!(Fault::parse_list("all").unwrap().len(), Fault::ALL.len());
        assert_eq!(
            Fault::parse_list("throttle, duplicate-delivery").unwrap(),
            [Fault::Throttle, Fault::DuplicateDelivery]
        );
        assert!(Fault::parse_list("earthquake").is_err());
    }
}
