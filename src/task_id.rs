//! Task ids become file names (`logs/<ID>.log`), so only ids that are safe as one
//! path component are accepted.

use crate::error::{Error, Result};

/// The maximum id length, in bytes.
pub const MAX_LEN: usize = 128;

/// Checks that `id` can name a task: non-empty, at most 128 bytes, no `/`, no NUL or
/// other control characters, and not `.` or `..`. White space at either end is
/// rejected too, because it is a likely typo that is hard to see in listings.
pub fn validate(id: &str) -> Result<()> {
    let problem = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_LEN {
        Some("it is longer than 128 bytes")
    } else if id.contains('/') {
        Some("it contains '/'")
    } else if id.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if id.trim() != id {
        Some("it starts or ends with white space")
    } else if id == "." || id == ".." {
        Some("it is a relative directory name")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::invalid(format!(
            "invalid task id {id:?}: {problem}; give a name such as T001 or build-frontend"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["T001", "build-1", "a.b_c", "ü", &"x".repeat(128)] {
            assert!(validate(id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn rejects_unsafe_ids() {
        for id in [
            "",
            " ",
            " a",
            "a ",
            ".",
            "..",
            "a/b",
            "/",
            "a\nb",
            "a\0b",
            "tab\there",
            &"x".repeat(129),
        ] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
