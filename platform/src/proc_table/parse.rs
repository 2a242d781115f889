//! Decoding shared by the macOS and FreeBSD process tables. It makes no system calls,
//! so it builds, and its tests run, on every system.

/// `p_stat` values of `<sys/proc.h>`, the same on macOS and FreeBSD (FreeBSD adds
/// the last two).
const SIDL: i32 = 1;
const SRUN: i32 = 2;
const SSLEEP: i32 = 3;
const SSTOP: i32 = 4;
pub(super) const SZOMB: i32 = 5;
const SWAIT: i32 = 6;
const SLOCK: i32 = 7;

#[cfg(target_os = "macos")]
const _: () = assert!(
    libc::SIDL as i32 == SIDL
        && libc::SRUN as i32 == SRUN
        && libc::SSLEEP as i32 == SSLEEP
        && libc::SSTOP as i32 == SSTOP
        && libc::SZOMB as i32 == SZOMB
);
#[cfg(target_os = "freebsd")]
const _: () = assert!(
    libc::SIDL as i32 == SIDL
        && libc::SRUN as i32 == SRUN
        && libc::SSLEEP as i32 == SSLEEP
        && libc::SSTOP as i32 == SSTOP
        && libc::SZOMB as i32 == SZOMB
        && libc::SWAIT as i32 == SWAIT
        && libc::SLOCK as i32 == SLOCK
);

/// Maps a `p_stat` value to the letter `ps` shows: `R` for running or being
/// created, `S` sleeping, `T` stopped, `Z` zombie, `W` waiting for an interrupt,
/// `L` waiting for a lock, `?` for anything else.
pub(super) fn state_letter(stat: i32) -> char {
    match stat {
        SIDL | SRUN => 'R',
        SSLEEP => 'S',
        SSTOP => 'T',
        SZOMB => 'Z',
        SWAIT => 'W',
        SLOCK => 'L',
        _ => '?',
    }
}

/// Converts a `timeval` to microseconds; times before the epoch count as 0. The
/// field types differ between systems and architectures, hence the generics.
pub(super) fn micros(seconds: impl Into<i64>, microseconds: impl Into<i64>) -> u64 {
    let total = i128::from(seconds.into()) * 1_000_000 + i128::from(microseconds.into());
    u64::try_from(total.max(0)).unwrap_or(u64::MAX)
}

/// Decodes a fixed-size C character array up to its first NUL.
pub(super) fn c_chars(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&char| char as u8)
        .take_while(|&byte| byte != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Splits a NUL-separated list of strings, as FreeBSD's `kern.proc.env` returns it.
#[cfg(any(target_os = "freebsd", test))]
pub(super) fn nul_separated(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&byte| byte == 0)
        .filter(|entry| !entry.is_empty())
}

/// Returns the environment entries of a macOS `KERN_PROCARGS2` value, or `None`
/// when the value is truncated.
///
/// The layout is: `argc` as a native `int`, the executable path, NUL padding, `argc`
/// NUL-terminated arguments, then the environment entries, ended by an empty string
/// (after which come entries the kernel adds for the dynamic linker). An empty
/// first argument is taken for padding, as `ps` does.
#[cfg(any(target_os = "macos", test))]
pub(super) fn procargs2_environment(buffer: &[u8]) -> Option<Vec<&[u8]>> {
    let (count, mut rest) = buffer.split_first_chunk::<4>()?;
    let argc = usize::try_from(i32::from_ne_bytes(*count)).ok()?;

    let path_end = rest.iter().position(|&byte| byte == 0)?;
    rest = &rest[path_end..];
    let first_argument = rest
        .iter()
        .position(|&byte| byte != 0)
        .unwrap_or(rest.len());
    rest = &rest[first_argument..];

    for _ in 0..argc {
        let end = rest.iter().position(|&byte| byte == 0)?;
        rest = &rest[end + 1..];
    }
    Some(
        rest.split(|&byte| byte == 0)
            .take_while(|entry| !entry.is_empty())
            .collect(),
    )
}

/// Returns the value of the first `key=value` entry for `key`.
pub(super) fn env_entry_value<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    key: &str,
) -> Option<&'a [u8]> {
    entries
        .into_iter()
        .find_map(|entry| entry.strip_prefix(key.as_bytes())?.strip_prefix(b"="))
}

/// True when some entry is exactly `key=value`.
pub(super) fn has_entry<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    key: &str,
    value: &str,
) -> bool {
    entries.into_iter().any(|entry| {
        entry
            .strip_prefix(key.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
            .is_some_and(|found| found == value.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procargs(argc: i32, rest: &[u8]) -> Vec<u8> {
        let mut buffer = argc.to_ne_bytes().to_vec();
        buffer.extend_from_slice(rest);
        buffer
    }

    #[test]
    fn procargs2_skips_path_padding_and_arguments() {
        let buffer = procargs(
            2,
            b"/bin/sleep\0\0\0\0sleep\x0030\0TASK_WATCHDOG_ID=t1\0HOME=/h\0\0ptr_munge=\0",
        );
        let entries = procargs2_environment(&buffer).expect("complete buffer");
        assert_eq!(entries, vec![&b"TASK_WATCHDOG_ID=t1"[..], &b"HOME=/h"[..]]);
    }

    #[test]
    fn procargs2_without_environment_is_empty() {
        let buffer = procargs(1, b"/bin/true\0\0true\0\0");
        let entries = procargs2_environment(&buffer).expect("complete buffer");
        assert!(entries.is_empty());
    }

    #[test]
    fn procargs2_truncated_is_none() {
        assert_eq!(procargs2_environment(&[1, 0]), None);
        let buffer = procargs(3, b"/bin/x\0\0x\0y");
        assert_eq!(procargs2_environment(&buffer), None);
    }

    #[test]
    fn env_lookup_matches_whole_key() {
        let entries = [&b"TASK_WATCHDOG_ID_X=no"[..], &b"TASK_WATCHDOG_ID=t1"[..]];
        assert_eq!(
            env_entry_value(entries, "TASK_WATCHDOG_ID"),
            Some(&b"t1"[..])
        );
        assert_eq!(env_entry_value(entries, "TASK"), None);
        assert!(has_entry(entries, "TASK_WATCHDOG_ID", "t1"));
        assert!(!has_entry(entries, "TASK_WATCHDOG_ID", "t"));
        assert!(!has_entry(entries, "TASK_WATCHDOG_ID", "t10"));
    }

    #[test]
    fn nul_separated_drops_empty_entries() {
        let entries: Vec<&[u8]> = nul_separated(b"A=1\0B=2\0\0").collect();
        assert_eq!(entries, vec![&b"A=1"[..], &b"B=2"[..]]);
    }

    #[test]
    fn state_letters_follow_ps() {
        assert_eq!(state_letter(SZOMB), 'Z');
        assert_eq!(state_letter(SRUN), 'R');
        assert_eq!(state_letter(SIDL), 'R');
        assert_eq!(state_letter(SSLEEP), 'S');
        assert_eq!(state_letter(SSTOP), 'T');
        assert_eq!(state_letter(SWAIT), 'W');
        assert_eq!(state_letter(SLOCK), 'L');
        assert_eq!(state_letter(0), '?');
    }

    #[test]
    fn timeval_to_micros() {
        assert_eq!(micros(2, 500), 2_000_500);
        assert_eq!(micros(-1, 0), 0);
    }

    #[test]
    fn c_chars_stop_at_nul() {
        let chars: Vec<libc::c_char> = b"sleep\0junk"
            .iter()
            .map(|&byte| byte as libc::c_char)
            .collect();
        assert_eq!(c_chars(&chars), "sleep");
    }
}
