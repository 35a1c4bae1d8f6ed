//! One run: start, connect, generate, drain, count, report.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::clients::{ClientResult, Clients, Latencies};
use crate::feed::{self, Feeds};
use crate::mesh::Mesh;
use crate::procstat;
use crate::report::{Report, RowFigures, StreamFigures};
use crate::rows::RowWatch;
use crate::usage::{cpu_model, cpus, figures, marks};
use crate::{BenchConfig, Progress};

/// How often a reading is reported while generating.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long clients get, after the database has everything, to receive their last events.
const CLIENT_DRAIN: Duration = Duration::from_secs(10);

/// Runs the bench as `config` says, reporting progress to `progress`.
pub async fn run(config: BenchConfig, progress: impl FnMut(Progress)) -> anyhow::Result<Report> {
    run_until(config, progress, std::future::pending()).await
}

/// [`run`], cut short when `interrupted` completes (with what interrupted it, a signal's
/// name): the mesh is then stopped as after a whole run, its services, stream and scratch
/// database removed, and the run is an error.
pub async fn run_until(
    config: BenchConfig,
    mut progress: impl FnMut(Progress),
    interrupted: impl std::future::Future<Output = &'static str>,
) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&config.work_dir)
        .with_context(|| format!("cannot create {}", config.work_dir.display()))?;
    let id = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    progress(Progress::Phase(format!(
        "starting the simulators: {} markets x 3 exchanges at {} events/s",
        config.markets, config.rate
    )));
    let feeds = Arc::new(Feeds::start(feed::markets(config.markets)?, config.rate).await?);
    progress(Progress::Phase(format!(
        "starting the {} mesh (logs in {})",
        config.mode.as_str(),
        config.work_dir.display()
    )));
    let mut mesh = Mesh::start(&config, &id, feeds.ingestion_env()).await?;
    let outcome = tokio::select! {
        outcome = measure(&config, &feeds, &mut mesh, &mut progress) => outcome,
        by = interrupted => Err(anyhow::anyhow!("the bench was interrupted by {by}; nothing was measured")),
    };
    progress(Progress::Phase("stopping the mesh".to_owned()));
    let stopped = mesh.stop().await;
    if let Ok(feeds) = Arc::try_unwrap(feeds) {
        feeds.shutdown().await;
    }
    let report = outcome?;
    stopped?;
    Ok(report)
}

async fn measure(
    config: &BenchConfig,
    feeds: &Arc<Feeds>,
    mesh: &mut Mesh,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<Report> {
    progress(Progress::Phase(
        "waiting for ingestion to subscribe every market".to_owned(),
    ));
    if let Err(e) = feeds.wait_subscribed(Duration::from_secs(60)).await {
        return Err(match mesh.exited() {
            Some(exit) => e.context(exit),
            None => e,
        });
    }
    // Snapshot frames sent on subscription settle before clients attach.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let db = tickmesh_storage::connect(&mesh.database_url)
        .await
        .context("cannot open the database storage writes to")?;
    let mut rows = RowWatch::new(db, feeds.pairs());
    let warmup = Arc::new(OnceLock::new());
    let clients = if config.clients > 0 {
        progress(Progress::Phase(format!(
            "attaching {} StreamTicks clients ({} filter)",
            config.clients,
            config.client_filter.as_str()
        )));
        let clients = Clients::attach(
            &mesh.stream_addr,
            config.clients,
            config.client_filter,
            Arc::clone(feeds),
            Arc::clone(&warmup),
        )
        .await?;
        clients
            .wait_open(config.clients, Duration::from_secs(60))
            .await?;
        Some(clients)
    } else {
        None
    };
    let warmup_end = Instant::now() + config.warmup;
    // Set once, before anything is generated; the clients read it.
    let _ = warmup.set(warmup_end);
    progress(Progress::Phase(format!(
        "generating for {:?} (latency counted after {:?})",
        config.duration + config.warmup,
        config.warmup
    )));
    let start = marks(mesh);
    feeds.resume();
    let generation_end = start.at + config.warmup + config.duration;
    let mut tick = tokio::time::interval(config.poll_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_report = (Instant::now(), procstat::machine_ticks());
    let mut stored_at_warmup = None;
    let mut disruptions = Disruptions::new(&config.failover, start.at);
    let mut replay = None;
    while Instant::now() < generation_end {
        tick.tick().await;
        if let Some(at) = config.replay.at
            && replay.is_none()
            && start.at.elapsed() >= at
        {
            progress(Progress::Phase(format!(
                "a client resumes from {:?} back",
                config.replay.back
            )));
            let addr = mesh.stream_addr.clone();
            let (back, limit) = (config.replay.back, config.duration + config.drain_timeout);
            replay = Some(tokio::spawn(async move {
                crate::replay::measure(&addr, back, limit).await
            }));
        }
        disruptions.due(mesh, progress).await?;
        rows.poll(feeds, warmup_end).await?;
        if stored_at_warmup.is_none() && Instant::now() >= warmup_end {
            stored_at_warmup = Some((rows.stored(), Instant::now()));
        }
        if last_report.0.elapsed() >= PROGRESS_EVERY {
            if let Some(exit) = mesh.exited() {
                anyhow::bail!("a service stopped during the run: {exit}");
            }
            let machine = procstat::machine_ticks();
            let generated = feeds.generated_total();
            let stream_backlog = mesh.stream_backlog().await;
            progress(Progress::Tick {
                elapsed: start.at.elapsed(),
                generated: generated.events,
                trades: generated.trades,
                stored: rows.stored(),
                streamed: clients
                    .as_ref()
                    .map_or(0, |c| c.received.load(Ordering::Relaxed)),
                machine_cores: match (last_report.1, machine) {
                    (Some(a), Some(b)) => procstat::machine_cores(a, b, cpus()),
                    _ => 0.0,
                },
                stream_backlog,
            });
            last_report = (Instant::now(), machine);
        }
    }
    feeds.pause();
    let end = marks(mesh);
    let generated = feeds.generated_total();
    let stored_by_stop = rows.stored();
    let generation_seconds = end.at.duration_since(start.at).as_secs_f64();
    let (stored_base, measured_from) = stored_at_warmup.unwrap_or((0, start.at));
    let stored_per_second = (stored_by_stop.saturating_sub(stored_base)) as f64
        / end.at.duration_since(measured_from).as_secs_f64().max(1e-9);

    progress(Progress::Phase(format!(
        "generation stopped; draining {} trades not yet stored",
        generated.trades.saturating_sub(stored_by_stop)
    )));
    let drain_deadline = Instant::now() + config.drain_timeout;
    while rows.stored() < generated.trades && Instant::now() < drain_deadline {
        tokio::time::sleep(config.poll_every).await;
        rows.poll(feeds, warmup_end).await?;
    }
    let drain_s = end.at.elapsed().as_secs_f64();
    let mut problems = Vec::new();
    let counts = rows.counts().await?;
    let mut trades_stored = 0;
    let mut trades_missing = 0;
    for (exchange, market) in feeds.pairs() {
        let want = feeds.generated(exchange, market).trades;
        let have = counts
            .iter()
            .find(|(p, _)| *p == (exchange, market))
            .map_or(0, |(_, n)| *n);
        trades_stored += have;
        if have < want {
            trades_missing += want - have;
            problems.push(format!(
                "{exchange} {market}: {} of {want} trades not stored",
                want - have
            ));
        }
    }
    // Read before the mesh stops; a missing reading is a problem of its own, not zero.
    match mesh.ingestion_dropped().await {
        Ok(0) => {}
        Ok(n) => problems.push(format!(
            "ingestion dropped {n} events under its overflow policy (`ingestion.overflow`, \
             buffer of `ingestion.buffer_capacity` full): the bus could not take {} events/s \
             on this machine; the trades among them are the ones not stored",
            config.rate
        )),
        Err(e) => problems.push(format!(
            "cannot read ingestion's dropped-events counter: {e:#}"
        )),
    }
    let dropped = feeds.frames_dropped();
    if dropped > 0 {
        problems.push(format!(
            "the simulators skipped {dropped} events for a connection that fell behind: \
             ingestion (or this machine) could not read {} events/s",
            config.rate
        ));
    }
    let failover = match (config.failover.replicas > 1, mesh.stream()) {
        (true, Some((url, stream))) => {
            let figures = crate::failover::measure(
                url,
                stream,
                config.failover.replicas,
                disruptions.killed.as_ref().map(|(m, at)| (m.as_str(), *at)),
                disruptions
                    .stopped
                    .as_ref()
                    .map(|(m, at)| (m.as_str(), *at)),
            )
            .await?;
            if figures.trades_published_twice > 0 {
                problems.push(format!(
                    "{} trades were published twice around the hand-overs",
                    figures.trades_published_twice
                ));
            }
            Some(figures)
        }
        _ => None,
    };
    let replay = match replay {
        Some(task) => Some(task.await.context("the resuming client panicked")??),
        None => None,
    };
    let stream = match clients {
        Some(clients) => {
            wait_for_clients(feeds, &clients, config).await;
            let (results, latencies) = clients.finish().await;
            Some(stream_figures(
                feeds,
                config,
                &results,
                &latencies,
                generation_seconds,
                &mut problems,
            ))
        }
        None => None,
    };
    let machine_cores = match (start.machine, end.machine) {
        (Some(a), Some(b)) => procstat::machine_cores(a, b, cpus()),
        _ => 0.0,
    };
    Ok(Report {
        mode: config.mode.as_str().to_owned(),
        target_rate: config.rate,
        markets: config.markets,
        duration_s: config.duration.as_secs_f64(),
        warmup_s: config.warmup.as_secs_f64(),
        machine_cpus: cpus(),
        machine_cpu: cpu_model(),
        events_generated: generated.events,
        events_per_second: generated.events as f64 / generation_seconds.max(1e-9),
        rows: RowFigures {
            trades_generated: generated.trades,
            trades_stored,
            trades_missing,
            stored_per_second,
            backlog_at_stop: generated.trades.saturating_sub(stored_by_stop),
            drain_s,
            latency: rows.latency.percentiles(),
            polls: rows.polls,
            poll_ms: rows.poll_time.as_secs_f64() * 1_000.0 / rows.polls.max(1) as f64,
        },
        stream,
        failover,
        replay,
        processes: figures(&start, &end),
        machine_cores,
        problems,
    })
}

/// Waits (up to [`CLIENT_DRAIN`]) until the clients together hold as many events as were
/// generated for what they asked.
async fn wait_for_clients(feeds: &Feeds, clients: &Clients, config: &BenchConfig) {
    let per_pair: HashMap<_, _> = feeds
        .pairs()
        .into_iter()
        .map(|(e, m)| ((e, m), feeds.generated(e, m).events))
        .collect();
    let expected: u64 = clients
        .wanted()
        .iter()
        .map(|pairs| pairs.iter().filter_map(|p| per_pair.get(p)).sum::<u64>())
        .sum();
    let deadline = Instant::now() + CLIENT_DRAIN;
    while clients.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(config.poll_every).await;
    }
}

fn stream_figures(
    feeds: &Feeds,
    config: &BenchConfig,
    results: &[ClientResult],
    latencies: &Latencies,
    generation_seconds: f64,
    problems: &mut Vec<String>,
) -> StreamFigures {
    let mut expected = 0;
    let mut received = 0;
    let mut missing = 0;
    let mut lagged = 0;
    let mut complete = 0;
    let mut errors = Vec::new();
    for result in results {
        let mut client_missing = 0;
        for (&(exchange, market), &got) in &result.received {
            let want = feeds.generated(exchange, market).events;
            expected += want;
            received += got;
            client_missing += want.saturating_sub(got);
        }
        missing += client_missing;
        lagged += result.lagged;
        if client_missing == 0 && result.lagged == 0 && result.error.is_none() {
            complete += 1;
        }
        if let Some(e) = &result.error {
            errors.push(e.clone());
        }
    }
    if complete < results.len() {
        problems.push(format!(
            "{} of {} stream clients missed events ({missing} missing, {lagged} lagged)",
            results.len() - complete,
            results.len()
        ));
    }
    if let Some(first) = errors.first() {
        problems.push(format!(
            "{} client streams failed, first: {first}",
            errors.len()
        ));
    }
    StreamFigures {
        clients: results.len(),
        filter: config.client_filter.as_str().to_owned(),
        expected,
        received,
        missing,
        lagged,
        complete_clients: complete,
        deliveries_per_second: received as f64 / generation_seconds.max(1e-9),
        latency: latencies.total.percentiles(),
        from_ingestion: latencies.from_ingestion.percentiles(),
    }
}

/// The kill and the stop of ingestion replicas a failover run makes, and when they were made
/// (Unix milliseconds, the clock of the stream's entry ids on this machine).
struct Disruptions {
    kill_at: Option<Instant>,
    stop_at: Option<Instant>,
    killed: Option<(String, u64)>,
    stopped: Option<(String, u64)>,
}

impl Disruptions {
    fn new(plan: &crate::FailoverPlan, start: Instant) -> Disruptions {
        let active = plan.replicas > 1;
        Disruptions {
            kill_at: plan.kill_at.filter(|_| active).map(|d| start + d),
            stop_at: plan.stop_at.filter(|_| active).map(|d| start + d),
            killed: None,
            stopped: None,
        }
    }

    /// Kills replica 1 and stops replica 2 once their times come.
    async fn due(
        &mut self,
        mesh: &mut Mesh,
        progress: &mut impl FnMut(Progress),
    ) -> anyhow::Result<()> {
        let now = Instant::now();
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            let at = unix_ms();
            if mesh.signal("ingestion-1", "KILL").await? {
                progress(Progress::Phase("killed ingestion-1 (SIGKILL)".to_owned()));
                self.killed = Some((crate::failover::member(1), at));
            }
        }
        if self.stop_at.is_some_and(|t| t <= now) {
            self.stop_at = None;
            let at = unix_ms();
            if mesh.signal("ingestion-2", "TERM").await? {
                progress(Progress::Phase("stopping ingestion-2 (SIGTERM)".to_owned()));
                self.stopped = Some((crate::failover::member(2), at));
            }
        }
        Ok(())
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
