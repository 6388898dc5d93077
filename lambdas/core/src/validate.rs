//! Field validation for JSON request bodies: every rule here answers a clear 400, never a panic.

use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::money::Money;

/// Longest file name accepted for an upload.
pub const MAX_FILE_NAME: usize = 128;

/// A request body that is a JSON object; typed accessors validate one field each.
#[derive(Debug, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        if text.trim().is_empty() {
            return Err(RequestError::MalformedJson("body is empty".into()));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            Ok(_) => Err(RequestError::NotAnObject),
            Err(e) => Err(RequestError::MalformedJson(e.to_string())),
        }
    }

    /// A field that is present and not `null`.
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// Whether the field is present (and not `null`).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn raw_str(&self, name: &'static str) -> Result<&str, RequestError> {
        match self.get(name) {
            None => Err(RequestError::MissingField(name)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(RequestError::invalid(name, "must be a string")),
        }
    }

    /// A required text field, trimmed, non-empty, at most `max_chars` characters, no control characters.
    pub fn string(&self, name: &'static str, max_chars: usize) -> Result<String, RequestError> {
        text(name, self.raw_str(name)?, max_chars)
    }

    /// Like [`Fields::string`] but absent (or `null`) is `None`.
    pub fn opt_string(&self, name: &'static str, max_chars: usize) -> Result<Option<String>, RequestError> {
        if self.has(name) {
            self.string(name, max_chars).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A secret (password, token): taken as is, never trimmed, only its length is checked.
    pub fn secret(&self, name: &'static str, max_chars: usize) -> Result<String, RequestError> {
        let s = self.raw_str(name)?;
        if s.is_empty() {
            return Err(RequestError::invalid(name, "must not be empty"));
        }
        if s.chars().count() > max_chars {
            return Err(RequestError::invalid(
                name,
                format!("must be at most {max_chars} characters"),
            ));
        }
        Ok(s.to_owned())
    }

    /// A whole number in `1..=max`; `2.5`, `"2"`, `0` and negatives are rejected, `2.0` is 2.
    pub fn positive_int(&self, name: &'static str, max: u64) -> Result<u64, RequestError> {
        let v = self.get(name).ok_or(RequestError::MissingField(name))?;
        match whole_number(v) {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(RequestError::invalid(name, format!("must be between 1 and {max}"))),
            None => Err(RequestError::invalid(name, "must be a positive integer")),
        }
    }

    /// An optional array of 1 to `max` JSON objects, each ready for field validation. Absent (or
    /// `null`) is `None`.
    pub fn objects(&self, name: &'static str, max: usize) -> Result<Option<Vec<Fields>>, RequestError> {
        let Some(v) = self.get(name) else { return Ok(None) };
        let bound = || RequestError::invalid(name, format!("must be an array of 1 to {max} objects"));
        let items = v
            .as_array()
            .filter(|a| (1..=max).contains(&a.len()))
            .ok_or_else(bound)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(m) => Ok(Fields(m.clone())),
                _ => Err(RequestError::invalid(name, format!("line {} must be an object", i + 1))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A positive amount of money with at most two decimals, at most `max`.
    pub fn money(&self, name: &'static str, max: Money) -> Result<Money, RequestError> {
        let v = self.get(name).ok_or(RequestError::MissingField(name))?;
        let n = v
            .as_number()
            .ok_or_else(|| RequestError::invalid(name, "must be a number"))?;
        let m = Money::from_json_number(n).map_err(|reason| RequestError::invalid(name, reason))?;
        if m > max {
            return Err(RequestError::invalid(name, format!("must be at most {max}")));
        }
        Ok(m)
    }
}

/// A JSON number with no fraction, as JSON Schema's `integer` reads it: `2` and `2.0` are both 2
/// (JSON has one kind of number; Python's `json.dumps(2.0)` sends `2.0`). Found by fuzzing.
pub fn whole_number(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let f = v.as_f64()?;
        (f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64).then_some(f as u64)
    })
}

/// Trims and checks a text value. The bound applies to the value as sent, padding included.
pub fn text(name: &'static str, raw: &str, max_chars: usize) -> Result<String, RequestError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RequestError::invalid(name, "must not be empty"));
    }
    if raw.chars().count() > max_chars {
        return Err(RequestError::invalid(
            name,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(RequestError::invalid(name, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// A file name that is safe to use as the last part of an object key.
///
/// Rejects separators, `..`, leading dots and anything but letters, digits, space, `-`, `_`,
/// `.`, `(` and `)`.
pub fn file_name(name: &'static str, raw: &str) -> Result<String, RequestError> {
    let s = text(name, raw, MAX_FILE_NAME)?;
    if s.contains('/') || s.contains('\\') {
        return Err(RequestError::invalid(name, "must not contain path separators"));
    }
    if s.contains("..") || s.starts_with('.') {
        return Err(RequestError::invalid(name, "must not contain `..` or start with a dot"));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')');
    if !s.chars().all(allowed) {
        return Err(RequestError::invalid(
            name,
            "may only contain letters, digits, spaces and - _ . ( )",
        ));
    }
    Ok(s)
}

/// The image content types an upload may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageType {
    pub const ALL: [ImageType; 4] = [Self::Png, Self::Jpeg, Self::Webp, Self::Gif];

    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    pub fn parse(name: &'static str, raw: &str) -> Result<Self, RequestError> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.mime() == wanted)
            .ok_or_else(|| RequestError::invalid(name, "must be one of image/png, image/jpeg, image/webp, image/gif"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::parse(json).unwrap()
    }

    #[test]
    fn malformed_json_and_non_objects_are_rejected() {
        assert!(matches!(Fields::parse("{"), Err(RequestError::MalformedJson(_))));
        assert!(matches!(Fields::parse(""), Err(RequestError::MalformedJson(_))));
        assert_eq!(Fields::parse("[1]").unwrap_err(), RequestError::NotAnObject);
    }

    #[test]
    fn strings_are_trimmed_and_bounded() {
        let f = fields(r#"{"a":"  x  ","b":"","c":5,"d":"abcdef","e":null}"#);
        assert_eq!(f.string("a", 10).unwrap(), "x");
        assert_eq!(
            f.string("b", 10).unwrap_err().to_string(),
            "field `b` must not be empty"
        );
        assert_eq!(f.string("c", 10).unwrap_err().to_string(), "field `c` must be a string");
        assert!(f.string("d", 3).is_err());
        assert!(text("p", "  ab  ", 3).is_err(), "padding counts towards the bound");
        assert_eq!(f.string("e", 3).unwrap_err(), RequestError::MissingField("e"));
        assert_eq!(f.opt_string("e", 3).unwrap(), None);
    }

    #[test]
    fn positive_int_rejects_zero_negative_fractional_and_strings() {
        let f = fields(r#"{"a":3,"b":0,"c":-1,"d":2.5,"e":"2","f":2.0,"g":1001,"h":-0.0,"i":1e300}"#);
        assert_eq!(f.positive_int("a", 1000).unwrap(), 3);
        assert_eq!(f.positive_int("f", 1000).unwrap(), 2, "2.0 is the integer 2");
        for k in ["b", "c", "d", "e", "g", "h", "i"] {
            let k: &'static str = Box::leak(k.to_owned().into_boxed_str());
            assert!(f.positive_int(k, 1000).is_err(), "{k} accepted");
        }
    }

    #[test]
    fn file_names_with_path_tricks_are_rejected() {
        for bad in [
            "../x.png",
            "a/b.png",
            "a\\b.png",
            ".hidden",
            "x..png",
            "a\u{0}.png",
            "a?.png",
            "",
        ] {
            assert!(file_name("fileName", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(file_name("fileName", " shoes (1).png ").unwrap(), "shoes (1).png");
    }

    #[test]
    fn only_image_types_are_accepted() {
        assert_eq!(ImageType::parse("fileType", "IMAGE/PNG").unwrap(), ImageType::Png);
        for bad in ["text/html", "image/svg+xml", "application/octet-stream", ""] {
            assert!(ImageType::parse("fileType", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn an_array_of_objects_is_bounded_and_each_entry_must_be_an_object() {
        let f = fields(r#"{"items": [{"id": "a"}, {"id": "b"}], "none": null, "empty": [], "flat": [1], "text": "x"}"#);
        let items = f.objects("items", 2).unwrap().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].string("id", 10).unwrap(), "b");
        assert!(f.objects("items", 1).is_err(), "more than the bound");
        assert!(f.objects("missing", 2).unwrap().is_none());
        assert!(f.objects("none", 2).unwrap().is_none());
        for bad in ["empty", "flat", "text"] {
            assert!(
                matches!(f.objects(bad, 2), Err(RequestError::InvalidField { .. })),
                "{bad}"
            );
        }
    }
}
