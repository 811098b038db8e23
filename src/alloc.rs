//! The allocator of the `gaptrack` binary: mimalloc (declared in `main.rs`), without
//! transparent huge pages (the `no_thp` build feature), and with freed memory returned
//! to the system at once by the commands that load waves and 10 ms after it is freed by
//! the others. mimalloc's own default keeps freed memory for a second and maps huge
//! pages where the system allows them, which doubles the peak RSS of a load. Measured
//! against glibc's malloc (BENCHMARKS.md, ninth round): the first `gap_trend` after a
//! load and `SELECT 1` about a sixth faster; a load as fast, the 2.1 GB wave at 223 MiB
//! (with a 10 ms delay a load is 2 % faster but that wave peaks at 252-255 MiB).
//! `MIMALLOC_PURGE_DELAY` in the environment overrides the delay.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in the `mi_option_e` enum of mimalloc 3's `mimalloc.h` (the
/// version `libmimalloc-sys` builds by default; its Rust bindings do not name it).
const PURGE_DELAY: mi_option_t = 15;
/// Milliseconds between freeing memory and returning it to the system: for the commands
/// that load waves, and for the others.
const LOAD_PURGE_DELAY_MS: std::ffi::c_long = 0;
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Sets the allocator's options for a command, as it starts.
pub fn configure(loads_waves: bool) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        let ms = if loads_waves {
            LOAD_PURGE_DELAY_MS
        } else {
            PURGE_DELAY_MS
        };
        // SAFETY: sets one of mimalloc's option values (a plain store); the option index
        // is checked against mimalloc's default by the test below.
        unsafe { mi_option_set(PURGE_DELAY, ms) }
    }
}

#[cfg(test)]
mod tests {
    use libmimalloc_sys::mi_option_get;

    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets mimalloc's option values.
        unsafe {
            // mimalloc 3's default purge delay, 1000 ms, is no other option's default.
            assert_eq!(mi_option_get(PURGE_DELAY), 1000);
        }
        for (loads, ms) in [(true, LOAD_PURGE_DELAY_MS), (false, PURGE_DELAY_MS)] {
            configure(loads);
            // SAFETY: as above.
            assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, ms);
        }
    }
}
