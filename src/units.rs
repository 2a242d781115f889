//! Parsing of durations and sizes given on the command line. Errors name the option
//! and the value, and show the accepted forms.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses the value of `option`: `30s`, `5m`, `1h30m`, `250ms` or a bare number of
/// seconds such as `2` or `0.5`.
pub fn parse_duration(option: &str, text: &str) -> Result<Duration> {
    let trimmed = text.trim();
    let invalid = || {
        Error::invalid(format!(
            "invalid {option} {text:?}: use a number with a unit, such as 500ms, 30s, 5m or 2h"
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

/// Parses the value of `option` as a byte count: `1048576`, `512k`, `8M`, `8MiB`
/// or `1G`. Units are powers of 1024, with or without `iB` or `B`.
pub fn parse_size(option: &str, text: &str) -> Result<u64> {
    let invalid = || {
        Error::invalid(format!(
            "invalid {option} {text:?}: use a byte count or a number with a unit, such as 512k, 8M or 1G"
        ))
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(invalid()),
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        assert_eq!(
            parse_duration("--test", "2").unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(
            parse_duration("--test", "0.5").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration("--test", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("--test", "1h30m").unwrap(),
            Duration::from_secs(5400)
        );
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("--log-limit", "1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("--log-limit", "512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("--log-limit", "8MiB").unwrap(), 8 << 20);
        assert_eq!(parse_size("--log-limit", "1G").unwrap(), 1 << 30);
        for text in ["", "lots", "0", "-1", "5 parsecs", "1T"] {
            assert!(parse_size("--log-limit", text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn error_names_option() {
        let message = parse_duration("--timeout", "5x").unwrap_err().to_string();
        assert!(
            message.contains("--timeout") && message.contains("\"5x\""),
            "{message}"
        );
    }

    #[test]
    fn rejects_malformed() {
        for text in ["", "abc", "-1", "5 parsecs", "NaN", "inf"] {
            assert!(parse_duration("--test", text).is_err(), "{text:?}");
        }
    }
}
