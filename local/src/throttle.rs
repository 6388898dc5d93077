//! API Gateway's throttling, as the stage configures each API (`infra/stages.json`): a token
//! bucket per route, `routeRateLimit`/`routeBurstLimit` requests per second, or the stricter
//! `authRateLimit`/`authBurstLimit` on the routes the declaration marks `strict` (sign-in,
//! sign-up, resend, TOTP). A request over the limit gets API Gateway's 429
//! `{"message": "Too Many Requests"}` and never reaches the function.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::stage::StageValues;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    /// (rate per second, burst) of strict routes, then of every other one.
    strict: (f64, f64),
    default: (f64, f64),
}

impl Throttle {
    pub fn new(stage: &StageValues) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            strict: (stage.auth_rate_limit, stage.auth_burst_limit),
            default: (stage.route_rate_limit, stage.route_burst_limit),
        }
    }

    /// Whether one more request to `route` fits its limit now (and takes a token if so).
    pub fn admit(&self, route: &str, strict: bool) -> bool {
        let (rate, burst) = if strict { self.strict } else { self.default };
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let b = buckets
            .entry(route.to_owned())
            .or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_takes_its_burst_at_once_then_its_rate_and_routes_do_not_share() {
        let stage = crate::stage::values("local").unwrap();
        let t = Throttle::new(&stage);
        let burst = stage.auth_burst_limit as usize;
        let admitted = (0..burst + 5).filter(|_| t.admit("POST /auth/sign-in", true)).count();
        assert_eq!(admitted, burst, "the burst, then 429s");
        assert!(t.admit("POST /auth/sign-up", true), "another route has its own bucket");
        assert!(
            (0..50).all(|_| t.admit("GET /order/orders", false)),
            "the default limit is higher"
        );
        std::thread::sleep(std::time::Duration::from_millis(
            (1000.0 / stage.auth_rate_limit) as u64 + 20,
        ));
        assert!(t.admit("POST /auth/sign-in", true), "a token comes back at the rate");
    }
}
