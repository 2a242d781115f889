//! Reading kernel state with `sysctl(3)` on macOS and FreeBSD.
//!
//! Every reader copies the value into an owned byte buffer, and the callers
//! decode C structures from it with [`read_struct`], which checks the length first.

use std::ffi::CStr;
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::ptr;

use libc::{c_int, c_uint, c_void};

/// How many times `read_mib` retries when the value grows between the size query
/// and the read (a process table gains processes, an environment is rewritten).
#[cfg(target_os = "freebsd")]
const MAX_ATTEMPTS: usize = 8;

/// Reads the value of a sysctl named by its MIB, however large it is.
///
/// The size is asked for first, then a buffer an eighth larger is offered, and the
/// read is retried with a fresh size while the kernel returns ENOMEM. Only FreeBSD
/// reads values of unknown size by MIB.
#[cfg(target_os = "freebsd")]
pub(crate) fn read_mib(mib: &[c_int]) -> io::Result<Vec<u8>> {
    let mut mib = mib.to_vec();
    for _ in 0..MAX_ATTEMPTS {
        let mut size = 0;
        // SAFETY: `mib` contains `mib.len()` integers. A null `oldp` with a valid
        // `oldlenp` requests only the size, and `newp` is null with length 0.
        let result = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                mib.len() as c_uint,
                ptr::null_mut(),
                &mut size,
                ptr::null_mut(),
                0,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }

        let capacity = size + size / 8 + 64;
        match read_mib_into(&mut mib, capacity) {
            Ok(buffer) => return Ok(buffer),
            Err(error) if error.raw_os_error() == Some(libc::ENOMEM) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other(format!(
        "sysctl {mib:?} kept growing after {MAX_ATTEMPTS} attempts"
    )))
}

/// Reads the value of a sysctl named by its MIB into a buffer of `capacity` bytes,
/// for values whose maximum size is known (`KERN_PROCARGS2` and `kern.argmax`).
/// A larger value fails with ENOMEM.
pub(crate) fn read_mib_with_capacity(mib: &[c_int], capacity: usize) -> io::Result<Vec<u8>> {
    read_mib_into(&mut mib.to_vec(), capacity)
}

fn read_mib_into(mib: &mut [c_int], capacity: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0u8; capacity];
    let mut length = buffer.len();
    // SAFETY: `mib` contains `mib.len()` integers and `buffer` has `length` writable
    // bytes. The kernel writes at most `length` bytes and stores the count written.
    let result = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            mib.len() as c_uint,
            buffer.as_mut_ptr().cast::<c_void>(),
            &mut length,
            ptr::null_mut(),
            0,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    buffer.truncate(length);
    Ok(buffer)
}

/// Reads the value of a sysctl named by a dotted string such as `kern.boottime`.
pub(crate) fn read_name(name: &CStr) -> io::Result<Vec<u8>> {
    let mut size = 0;
    // SAFETY: `name` is NUL-terminated. A null `oldp` with a valid `oldlenp` requests
    // only the size, and `newp` is null with length 0.
    let result = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            ptr::null_mut(),
            &mut size,
            ptr::null_mut(),
            0,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }

    let mut buffer = vec![0u8; size];
    let mut length = buffer.len();
    // SAFETY: `buffer` has `length` writable bytes, and the kernel writes at most
    // that many and stores the count written.
    let result = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buffer.as_mut_ptr().cast::<c_void>(),
            &mut length,
            ptr::null_mut(),
            0,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    buffer.truncate(length);
    Ok(buffer)
}

/// Plain C structures that any byte pattern of their size is a valid value of:
/// integers, arrays of them, and raw pointers, with no references, enums or `bool`.
///
/// # Safety
///
/// Implement only for such types.
pub(crate) unsafe trait PlainData: Copy {}

// SAFETY: `timeval` is two integers.
unsafe impl PlainData for libc::timeval {}
// SAFETY: a C `int`.
unsafe impl PlainData for c_int {}
// SAFETY: `kinfo_proc` contains integers, integer arrays, C structures of integers
// and raw pointers, and no field with invalid bit patterns.
#[cfg(target_os = "freebsd")]
unsafe impl PlainData for libc::kinfo_proc {}

/// Decodes a `T` from the start of `bytes`; `None` when `bytes` is too short.
pub(crate) fn read_struct<T: PlainData>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    let mut value = MaybeUninit::<T>::uninit();
    // SAFETY: `bytes` has at least `size_of::<T>()` readable bytes, the copy is
    // byte-wise so alignment does not matter, and `PlainData` makes every byte
    // pattern a valid `T`.
    unsafe {
        ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            value.as_mut_ptr().cast::<u8>(),
            size_of::<T>(),
        );
        Some(value.assume_init())
    }
}

/// Reads `kern.boottime`: the wall-clock time at which the machine booted, as the
/// kernel computes it now. A step of the wall clock moves it by the same amount.
pub(crate) fn boot_time() -> io::Result<libc::timeval> {
    let bytes = read_mib_with_capacity(
        &[libc::CTL_KERN, libc::KERN_BOOTTIME],
        size_of::<libc::timeval>(),
    )?;
    read_struct(&bytes).ok_or_else(|| {
        io::Error::other(format!(
            "kern.boottime returned {} bytes, expected a timeval",
            bytes.len()
        ))
    })
}
