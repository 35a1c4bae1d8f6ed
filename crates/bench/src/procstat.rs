//! CPU time and memory of processes from Linux's `/proc`.
//!
//! CPU time is `utime + stime` of `/proc/PID/stat` in clock ticks of `USER_HZ`, which the
//! kernel's user ABI fixes at 100 per second; peak RSS is `VmHWM` of `/proc/PID/status`.

use std::collections::HashMap;
use std::time::Instant;

/// Clock ticks per second in `/proc` (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks (user + system) a process has used, or `None` once it is gone.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_in(&stat)
}

/// User + system ticks of a `stat` file's text (a process's or a thread's).
fn ticks_in(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields start after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of stat(5), utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A process's live threads, by thread id: each one's name (`comm`) and CPU ticks so far.
pub(crate) type Threads = HashMap<u32, (String, u64)>;

/// Every live thread of a process; empty once the process is gone.
pub(crate) fn thread_ticks(pid: u32) -> Threads {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| {
            let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let name = &stat[stat.find('(')? + 1..stat.rfind(')')?];
            Some((tid, (name.to_owned(), ticks_in(&stat)?)))
        })
        .collect()
}

/// Cores each thread name used between two [`thread_ticks`] readings `seconds` apart, the
/// busiest first, threads of one name (tokio's workers, say) added up. A thread that started
/// after the first reading counts from zero; one that ended before the second is missing.
pub(crate) fn thread_cores(before: &Threads, after: &Threads, seconds: f64) -> Vec<(String, f64)> {
    if seconds <= 0.0 {
        return Vec::new();
    }
    let mut by_name: Vec<(String, u64)> = Vec::new();
    for (tid, (name, ticks)) in after {
        let used = ticks.saturating_sub(before.get(tid).map_or(0, |(_, t)| *t));
        match by_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, sum)) => *sum += used,
            None => by_name.push((name.clone(), used)),
        }
    }
    by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    by_name
        .into_iter()
        .map(|(name, ticks)| (name, ticks as f64 / TICKS_PER_SECOND / seconds))
        .collect()
}

/// A field of `/proc/PID/status` in KiB, such as `VmHWM` (peak RSS) or `VmRSS`.
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Every process whose command name is one of `names`, by pid.
pub(crate) fn pids_named(names: &[&str]) -> HashMap<u32, String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let comm = comm.trim();
            names.contains(&comm).then(|| (pid, comm.to_owned()))
        })
        .collect()
}

/// Busy and total ticks of the whole machine (all cores), from `/proc/stat`.
pub(crate) fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle and iowait are the 4th and 5th values.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// CPU use between two readings, in cores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuMark {
    ticks: u64,
    at: Instant,
}

impl CpuMark {
    pub(crate) fn of(pid: u32) -> Option<CpuMark> {
        Some(CpuMark {
            ticks: cpu_ticks(pid)?,
            at: Instant::now(),
        })
    }

    /// Cores used from `self` until `later`.
    pub(crate) fn cores_until(&self, later: &CpuMark) -> f64 {
        let seconds = later.at.duration_since(self.at).as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        later.ticks.saturating_sub(self.ticks) as f64 / TICKS_PER_SECOND / seconds
    }
}

/// Busy cores of the machine between two [`machine_ticks`] readings.
pub(crate) fn machine_cores(before: (u64, u64), after: (u64, u64), cpus: usize) -> f64 {
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0.0;
    }
    after.0.saturating_sub(before.0) as f64 / total as f64 * cpus as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_a_peak_rss() {
        let pid = std::process::id();
        // Burn a little CPU so the tick count is not zero.
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed().as_millis() < 50 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        assert!(cpu_ticks(pid).is_some_and(|t| t > 0));
        assert!(status_kib(pid, "VmHWM").is_some_and(|k| k > 1_000));
        assert!(cpu_ticks(u32::MAX).is_none());
        let (busy, total) = machine_ticks().unwrap();
        assert!(busy > 0 && total > busy);
    }

    #[test]
    fn a_busy_thread_shows_under_its_name() {
        let pid = std::process::id();
        let before = thread_ticks(pid);
        let at = Instant::now();
        std::thread::Builder::new()
            .name("bench-burner".to_owned())
            .spawn(|| {
                let mut x = 0u64;
                let start = Instant::now();
                while start.elapsed().as_millis() < 200 {
                    x = x.wrapping_mul(31).wrapping_add(7);
                }
                // Still alive when the second reading is taken.
                std::thread::sleep(std::time::Duration::from_millis(500));
                x
            })
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        let after = thread_ticks(pid);
        let cores = thread_cores(&before, &after, at.elapsed().as_secs_f64());
        let burner = cores.iter().find(|(name, _)| name == "bench-burner");
        assert!(
            burner.is_some_and(|(_, c)| *c > 0.1),
            "the burning thread is missing or idle: {cores:?}"
        );
        assert_eq!(cores.first().map(|(n, _)| n.as_str()), Some("bench-burner"));
    }
}
