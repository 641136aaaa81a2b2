//! Figures of the benchmark binaries (`m2mhal-bench`, `m2mhal-mqtt-bench`): percentiles of timed
//! samples, and a process's memory and CPU time from /proc.

use std::collections::HashMap;
use std::time::Duration;

/// Timed samples of one figure.
pub struct Samples(pub Vec<Duration>);

impl Samples {
    /// The nearest-rank percentile `q` (0 < q <= 1): the smallest sample with at least `q` of all
    /// samples at or below it.
    pub fn percentile(&self, q: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// The 50th percentile.
    pub fn median(&self) -> Duration {
        self.percentile(0.5)
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
}

/// A `kB` field (`VmRSS`, `VmHWM`) of /proc/<pid>/status.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    // The command name (field 2) may contain spaces; the fields after it start with field 3.
    let (_, after_name) = stat.rsplit_once(')').expect("stat has a command name");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> u64 { fields[n - 3].parse().expect("numeric stat field") };
    field(14) + field(15)
}

/// Time each thread of a process has spent on a CPU, in ns, by thread id (the first field of
/// /proc/<pid>/task/<tid>/schedstat, which the scheduler counts exactly, unlike the sampled
/// utime and stime).
pub fn thread_runtimes(pid: u32) -> HashMap<String, u64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("process threads")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let schedstat = std::fs::read_to_string(entry.path().join("schedstat")).ok()?;
            let ns = schedstat.split_whitespace().next()?.parse().ok()?;
            Some((entry.file_name().to_string_lossy().into_owned(), ns))
        })
        .collect()
}

/// On-CPU time between two [`thread_runtimes`] readings; `None` if a thread ended in between
/// (its time would be lost, so the sum would be too low).
pub fn runtime_between(
    before: &HashMap<String, u64>,
    after: &HashMap<String, u64>,
) -> Option<Duration> {
    if before.keys().any(|tid| !after.contains_key(tid)) {
        return None;
    }
    let ns = after
        .iter()
        .map(|(tid, ns)| ns - before.get(tid).copied().unwrap_or(0))
        .sum();
    Some(Duration::from_nanos(ns))
}

/// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
pub fn ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
