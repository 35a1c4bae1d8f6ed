//! What each process of a run used: CPU time between two readings and peak memory, for the
//! services, the bench itself and the infrastructure servers on the same machine.

use std::time::Instant;

use crate::mesh::Mesh;
use crate::procstat::{self, CpuMark, Threads};
use crate::report::{ProcessFigures, ThreadFigures};

/// Infrastructure servers whose CPU the report shows beside the services.
const INFRASTRUCTURE: [&str; 3] = ["redis-server", "postgres", "tansu"];

/// CPU readings of every measured process at one instant.
pub(crate) struct Marks {
    processes: Vec<(String, Vec<(u32, CpuMark)>)>,
    /// Each service's threads: a fixed cost hides in a thread (a poller that spins) far more
    /// visibly than in its process's total.
    threads: Vec<(String, Threads)>,
    pub(crate) machine: Option<(u64, u64)>,
    pub(crate) at: Instant,
}

pub(crate) fn marks(mesh: &Mesh) -> Marks {
    let mut processes: Vec<(String, Vec<(u32, CpuMark)>)> = mesh
        .services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                CpuMark::of(s.pid).map(|m| (s.pid, m)).into_iter().collect(),
            )
        })
        .collect();
    let threads = mesh
        .services
        .iter()
        .map(|s| (s.name.clone(), procstat::thread_ticks(s.pid)))
        .collect();
    let me = std::process::id();
    processes.push((
        "bench (simulators, clients)".to_owned(),
        CpuMark::of(me).map(|m| (me, m)).into_iter().collect(),
    ));
    let infra = procstat::pids_named(&INFRASTRUCTURE);
    for name in INFRASTRUCTURE {
        let pids: Vec<(u32, CpuMark)> = infra
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .filter_map(|(&pid, _)| CpuMark::of(pid).map(|m| (pid, m)))
            .collect();
        if !pids.is_empty() {
            processes.push((name.to_owned(), pids));
        }
    }
    Marks {
        processes,
        threads,
        machine: procstat::machine_ticks(),
        at: Instant::now(),
    }
}

/// Cores and peak RSS of each process between two readings.
pub(crate) fn figures(before: &Marks, after: &Marks) -> Vec<ProcessFigures> {
    before
        .processes
        .iter()
        // A process gone by the end (an ingestion replica the bench killed or stopped) has no
        // figures over the run.
        .filter(|(name, pids)| {
            after.processes.iter().any(|(n, later)| {
                n == name
                    && pids
                        .iter()
                        .any(|(pid, _)| later.iter().any(|(p, _)| p == pid))
            })
        })
        .map(|(name, pids)| {
            let later = after.processes.iter().find(|(n, _)| n == name);
            let cpu_cores = pids
                .iter()
                .filter_map(|(pid, mark)| {
                    let (_, end) = later?.1.iter().find(|(p, _)| p == pid)?;
                    Some(mark.cores_until(end))
                })
                .sum();
            // A server that outlives runs (Redis, PostgreSQL, the broker) would show its
            // lifetime peak: for those, the resident size now.
            let field = if INFRASTRUCTURE.contains(&name.as_str()) {
                "VmRSS"
            } else {
                "VmHWM"
            };
            let peak_kib = pids
                .iter()
                .filter_map(|(pid, _)| procstat::status_kib(*pid, field))
                .max()
                .unwrap_or(0);
            let seconds = after.at.duration_since(before.at).as_secs_f64();
            let threads = match (
                before.threads.iter().find(|(n, _)| n == name),
                after.threads.iter().find(|(n, _)| n == name),
            ) {
                (Some((_, first)), Some((_, last))) => procstat::thread_cores(first, last, seconds)
                    .into_iter()
                    .map(|(name, cpu_cores)| ThreadFigures { name, cpu_cores })
                    .collect(),
                _ => Vec::new(),
            };
            ProcessFigures {
                name: name.clone(),
                cpu_cores,
                peak_rss_mib: peak_kib as f64 / 1024.0,
                threads,
            }
        })
        .collect()
}

pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown cpu".to_owned())
}
