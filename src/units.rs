//! Parsing of durations given on the command line.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses `30s`, `5m`, `1h30m`, `250ms` or a bare number of seconds such as `2` or
/// `0.5`.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let trimmed = text.trim();
    let invalid = || {
        Error::invalid(format!(
            "invalid duration {text:?}: use a number with a unit, such as 500ms, 30s, 5m or 2h"
        ))
    };
    if let Ok(seconds) = trimmed.parse::<f64>() {
        if !(0.0..=1e9).contains(&seconds) {
            return Err(invalid());
        }
        return Ok(Duration::from_secs_f64(seconds));
    }
    humantime::parse_duration(trimmed).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn rejects_malformed() {
        for text in ["", "abc", "-1", "5 parsecs", "NaN", "inf"] {
            assert!(parse_duration(text).is_err(), "{text:?}");
        }
    }
}
