//! Stripe's webhook signature scheme: the `Stripe-Signature` header carries `t=<unix seconds>` and
//! one or more `v1=<hex HMAC-SHA256 of "t.body" under the endpoint's secret>`. A payload is taken
//! only when one `v1` matches (compared in constant time) and `t` is within the tolerance of now,
//! so a captured request cannot be replayed later; the event id then makes a replay inside the
//! window a no-op (see `webhook`).

use ring::hmac;

/// Stripe's own libraries default to five minutes.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("no signature matches the payload")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance window")]
    Stale,
}

/// Checks `header` against `body` at time `now` (unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = Vec::with_capacity(body.len() + 12);
    signed.extend_from_slice(t.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let matches = signatures
        .iter()
        .filter_map(|s| decode_hex(s))
        .any(|tag| hmac::verify(&key, &signed, &tag).is_ok());
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// The header Stripe would send for `body` at `t` (tests and the local tools sign with it).
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = t.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    #[test]
    fn a_correct_recent_signature_passes() {
        let body = br#"{"id":"evt_1"}"#;
        assert_eq!(verify(SECRET, &sign(SECRET, body, 1000), body, 1010), Ok(()));
    }

    #[test]
    fn a_forged_or_altered_payload_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_other", body, 1000);
        assert_eq!(verify(SECRET, &header, body, 1000), Err(SignatureError::Mismatch));
        let header = sign(SECRET, body, 1000);
        assert_eq!(
            verify(SECRET, &header, br#"{"id":"evt_2"}"#, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_or_future_timestamp_is_refused() {
        let body = b"{}";
        let header = sign(SECRET, body, 1000);
        assert_eq!(
            verify(SECRET, &header, body, 1000 + TOLERANCE_SECS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, &header, body, 1000 - TOLERANCE_SECS - 1),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_malformed_header_is_refused() {
        for header in ["", "t=abc,v1=00", "v1=00", "t=1000", "t=1000,v1=zz"] {
            assert!(verify(SECRET, header, b"{}", 1000).is_err(), "{header}");
        }
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let body = b"{}";
        let good = sign(SECRET, body, 1000);
        let v1 = good.split(",v1=").nth(1).unwrap();
        let header = format!("t=1000,v1={},v1={v1}", "0".repeat(64));
        assert_eq!(verify(SECRET, &header, body, 1000), Ok(()));
    }
}
