//! The resources a query may use: a memory pool with a limit (operators that can spill
//! to disk do so when it is reached; the others fail the query with a clear error
//! instead of taking the process down) and a bound on the spill files.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GAPTRACK_MEMORY_LIMIT` | half of the memory the process may use | bytes (`512M`, `4G`, `4GiB`, `1073741824`) or a share of that memory (`25%`) |
//! | `GAPTRACK_SPILL_LIMIT` | 16G | bytes of temporary spill files a query may write; `0` turns spilling off |
//!
//! "The memory the process may use" is the smallest of the machine's memory
//! (`/proc/meminfo`), the cgroup's limit and the address-space limit (`ulimit -v`).

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::error::{Error, Result};

/// Share of the available memory a session's queries may use by default.
const DEFAULT_SHARE: f64 = 0.5;
/// Spill files a query may write by default.
const DEFAULT_SPILL: u64 = 16 << 30;
/// Used where the machine's memory cannot be read.
const FALLBACK_MEMORY: u64 = 4 << 30;

/// The memory limit and spill limit in force, from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory: u64,
    pub spill: u64,
}

impl Limits {
    /// Reads `GAPTRACK_MEMORY_LIMIT` and `GAPTRACK_SPILL_LIMIT`.
    pub fn from_env() -> Result<Limits> {
        let available = available_memory();
        let memory = match std::env::var("GAPTRACK_MEMORY_LIMIT") {
            Ok(v) if !v.trim().is_empty() => parse_size(&v, Some(available))
                .map_err(|m| Error::Usage(format!("GAPTRACK_MEMORY_LIMIT={v:?}: {m}")))?,
            _ => (available as f64 * DEFAULT_SHARE) as u64,
        };
        let spill = match std::env::var("GAPTRACK_SPILL_LIMIT") {
            Ok(v) if !v.trim().is_empty() => parse_size(&v, None)
                .map_err(|m| Error::Usage(format!("GAPTRACK_SPILL_LIMIT={v:?}: {m}")))?,
            _ => DEFAULT_SPILL,
        };
        Ok(Limits { memory, spill })
    }

    /// A DataFusion runtime with these limits.
    pub fn runtime(&self) -> Result<Arc<RuntimeEnv>> {
        Ok(self.runtime_builder()?.build_arc()?)
    }

    /// The builder of [`Limits::runtime`].
    pub fn runtime_builder(&self) -> Result<RuntimeEnvBuilder> {
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(self.memory as usize),
            NonZeroUsize::new(3).expect("3 > 0"),
        );
        let disk = if self.spill == 0 {
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled)
        } else {
            DiskManagerBuilder::default().with_max_temp_directory_size(self.spill)
        };
        Ok(RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(disk))
    }
}

/// Parses `512M`, `4G`, `4GiB`, `1.5g`, `1073741824` (bytes) or, with `of`, `25%`.
pub fn parse_size(s: &str, of: Option<u64>) -> std::result::Result<u64, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "not a size: give bytes with an optional unit (512M, 4G, 4GiB){}",
            if of.is_some() {
                " or a share (25%)"
            } else {
                ""
            }
        )
    };
    if let (Some(pct), Some(total)) = (t.strip_suffix('%'), of) {
        let p: f64 = pct.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err("a share must be above 0 % and at most 100 %".into());
        }
        return Ok((total as f64 * p / 100.0) as u64);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as u64)
}

/// The memory this process may use: the smallest of the machine's memory, the cgroup
/// limit and the address-space limit.
pub fn available_memory() -> u64 {
    [meminfo_total(), cgroup_limit(), address_space_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(FALLBACK_MEMORY)
}

fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .filter_map(|s| s.trim().parse::<u64>().ok())
    .min()
}

/// `ulimit -v`, less what the process already maps (the binary, its threads' stacks).
fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    let limit: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    let used = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("VmSize:"))?.to_string();
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024);
    Some(limit.saturating_sub(used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M", None), Ok(512 << 20));
        assert_eq!(parse_size("4GiB", None), Ok(4 << 30));
        assert_eq!(parse_size(" 1.5g ", None), Ok(3 << 29));
        assert_eq!(parse_size("1073741824", None), Ok(1 << 30));
        assert_eq!(parse_size("25%", Some(1000)), Ok(250));
        assert!(parse_size("25%", None).is_err());
        assert!(parse_size("0%", Some(1000)).is_err());
        assert!(parse_size("lots", None).is_err());
        assert!(parse_size("12Q", None).is_err());
    }

    #[test]
    fn available_memory_is_bounded_by_the_machine() {
        let m = available_memory();
        assert!(m > 0);
        if let Some(total) = meminfo_total() {
            assert!(m <= total);
        }
    }
}
