//! Exact money: an amount in cents that reads and prints as a JSON number with at most two decimals.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount of money, held in cents so arithmetic is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    cents: i64,
}

/// Largest amount we represent: well inside the range where `f64` holds every cent exactly.
const MAX_CENTS: i64 = 1_000_000_000_000;

impl Money {
    pub const fn from_cents(cents: i64) -> Self {
        Self { cents }
    }

    pub const fn cents(self) -> i64 {
        self.cents
    }

    /// `self * n`, or `None` on overflow of the representable range.
    pub fn times(self, n: u64) -> Option<Self> {
        let n = i64::try_from(n).ok()?;
        let cents = self.cents.checked_mul(n)?;
        (cents <= MAX_CENTS).then_some(Self { cents })
    }

    /// `self + other`, or `None` past the representable range.
    pub fn plus(self, other: Self) -> Option<Self> {
        let cents = self.cents.checked_add(other.cents)?;
        (cents <= MAX_CENTS).then_some(Self { cents })
    }

    /// Parses a positive JSON number with at most two decimals.
    pub fn from_json_number(n: &serde_json::Number) -> Result<Self, String> {
        let v = n.as_f64().ok_or("must be a number")?;
        Self::from_f64(v)
    }

    fn from_f64(v: f64) -> Result<Self, String> {
        if !v.is_finite() || v <= 0.0 {
            return Err("must be a positive number".into());
        }
        let scaled = v * 100.0;
        let cents = scaled.round();
        if (scaled - cents).abs() > 1e-6 * scaled.max(1.0) {
            return Err("must have at most two decimals".into());
        }
        // A positive number below half a cent rounds to 0 cents (found by fuzzing: 5e-324).
        if cents < 1.0 {
            return Err("must be at least 0.01".into());
        }
        if cents > MAX_CENTS as f64 {
            return Err("is too large".into());
        }
        Ok(Self { cents: cents as i64 })
    }

    fn as_f64(self) -> f64 {
        // Exact decimal: cents / 100 is the nearest double to the two-decimal value, and
        // serde_json prints the shortest representation that reads back to it ("19.99").
        self.cents as f64 / 100.0
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Self::from_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Money, String> {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        Money::from_json_number(v.as_number().unwrap())
    }

    #[test]
    fn two_decimal_prices_stay_exact_through_arithmetic_and_json() {
        let p = parse("19.99").unwrap();
        assert_eq!(p.cents(), 1999);
        let total = p.times(3).unwrap();
        assert_eq!(serde_json::to_string(&total).unwrap(), "59.97");
        assert_eq!(serde_json::to_string(&p).unwrap(), "19.99");
        assert_eq!(total.to_string(), "59.97");
        assert_eq!(parse("100").unwrap().to_string(), "100.00");
        assert_eq!(serde_json::to_string(&parse("100").unwrap()).unwrap(), "100.0");
        assert_eq!(p.plus(parse("0.01").unwrap()).unwrap().to_string(), "20.00");
    }

    #[test]
    fn sums_and_products_past_the_representable_range_are_none() {
        let big = Money::from_cents(MAX_CENTS / 2 + 1);
        assert_eq!(
            big.plus(Money::from_cents(MAX_CENTS / 2 - 1)),
            Some(Money::from_cents(MAX_CENTS))
        );
        assert_eq!(big.plus(big), None);
        assert_eq!(big.times(2), None);
        assert_eq!(Money::from_cents(i64::MAX).plus(Money::from_cents(1)), None);
    }

    #[test]
    fn non_positive_and_sub_cent_prices_are_rejected() {
        for bad in ["0", "-5", "19.999", "0.001", "1e300", "5e-324", "0.000000001"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }
}
