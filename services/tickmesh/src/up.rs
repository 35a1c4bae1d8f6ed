//! `tickmesh up` and `tickmesh serve <service>`: the composition root. It reads
//! configuration, starts telemetry, binds the listeners, starts the chosen services on the
//! adapters the configuration selects, and serves gRPC until a shutdown signal, then drains.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tickmesh_bootstrap::{
    ConfigSources, GrpcServer, ProcessConfig, ServiceHandle, ServiceStop, StopMode, Supervisor,
};
use tickmesh_telemetry::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use tickmesh_ingestion::follow::{GrpcSubscriptions, SubscriptionSource};

use crate::follow::InProcessSubscriptions;
use crate::plane::{self, Adapters};
use crate::settings::DataPlaneConfig;

/// Options shared by `tickmesh up` and `tickmesh serve`.
#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// TOML configuration file; `TICKMESH__SECTION__KEY` environment variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address, overriding `server.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// Options of `tickmesh up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub host: HostArgs,
    /// Also run simulated Upbit, Bithumb and Korbit on loopback and collect from them (for
    /// machines without internet); `ingestion.markets` defaults to the simulated markets.
    #[arg(long)]
    pub simulate: bool,
    /// Trades per second per simulated exchange (with `--simulate`).
    #[arg(long, default_value_t = 20.0, value_name = "N", requires = "simulate")]
    pub simulate_rate: f64,
}

/// A service `tickmesh serve` can run on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// Subscriptions (create, delete, list, watch) and live tick streams.
    Subscription,
    /// Exchange feeds published to Redis.
    Ingestion,
    /// The Redis stream handed to Kafka.
    Bridge,
    /// Kafka topics written to the database.
    Storage,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Subscription => "subscription",
            Service::Ingestion => "ingestion",
            Service::Bridge => "bridge",
            Service::Storage => "storage",
        }
    }
}

/// Reads the configuration of a hosting command.
pub fn read_config(args: &HostArgs) -> anyhow::Result<(ProcessConfig, DataPlaneConfig)> {
    let sources = ConfigSources::load(args.config.as_deref(), std::env::vars())?;
    let mut reader = sources.reader();
    let mut process = ProcessConfig::read(&mut reader);
    let plane = DataPlaneConfig::read(&mut reader);
    reader.finish()?;
    if let Some(listen) = args.listen {
        process.server.listen = listen;
    }
    Ok((process, plane))
}

/// `tickmesh up`: every service in this process (and the simulators with `--simulate`).
pub fn run_up(args: UpArgs) -> anyhow::Result<()> {
    let (process, mut plane) = read_config(&args.host)?;
    if !(args.simulate_rate >= 0.0 && args.simulate_rate.is_finite()) {
        anyhow::bail!("--simulate-rate must be a number of trades per second, 0 or more");
    }
    block_on_with(process.worker_threads, async move {
        let _telemetry = init_telemetry("tickmesh", &process)?;
        let simulators = if args.simulate {
            Some(crate::simulate::start_for(&mut plane.ingestion, args.simulate_rate).await?)
        } else {
            None
        };
        let hosted = host(
            "tickmesh",
            process,
            plane,
            &[
                Service::Subscription,
                Service::Ingestion,
                Service::Bridge,
                Service::Storage,
            ],
        )
        .await;
        for simulator in simulators.into_iter().flatten() {
            simulator.shutdown().await;
        }
        hosted
    })
}

/// `tickmesh serve <service>`: one service in this process, on the real backends.
pub fn run_serve(service: Service, args: HostArgs) -> anyhow::Result<()> {
    let (process, plane) = read_config(&args)?;
    let needs = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "`tickmesh serve {}` needs {what}: a separate process cannot share the in-process bus",
                service.name()
            ))
        }
    };
    let redis = "redis (set bus.redis_url, e.g. TICKMESH__BUS__REDIS_URL=redis://127.0.0.1:6379)";
    let kafka = "kafka (set bus.kafka_brokers, e.g. TICKMESH__BUS__KAFKA_BROKERS=127.0.0.1:9092)";
    match service {
        Service::Subscription => needs(plane.redis.is_some(), redis)?,
        Service::Ingestion => needs(plane.redis.is_some(), redis)?,
        Service::Bridge => {
            needs(plane.redis.is_some(), redis)?;
            needs(plane.kafka.is_some(), kafka)?;
        }
        Service::Storage => needs(plane.kafka.is_some(), kafka)?,
    }
    let name = format!("tickmesh-{}", service.name());
    block_on_with(process.worker_threads, async move {
        let _telemetry = init_telemetry(&name, &process)?;
        host(&name, process, plane, &[service]).await
    })
}

/// Runs `f` to completion on a new multi-threaded runtime with one worker per core.
pub fn block_on<T, F: std::future::Future<Output = anyhow::Result<T>>>(f: F) -> anyhow::Result<T> {
    block_on_with(None, f)
}

/// Runs `f` to completion on a new multi-threaded runtime with `workers` threads (one per core
/// when `None`). Several busy processes sharing few cores do better with fewer: every worker
/// that parks and wakes again costs a context switch (`runtime.worker_threads`, measured in
/// docs/benchmarks.md).
pub fn block_on_with<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    workers: Option<usize>,
    f: F,
) -> anyhow::Result<T> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        builder.worker_threads(workers);
    }
    builder
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(f)
}

async fn host(
    name: &str,
    config: ProcessConfig,
    plane: DataPlaneConfig,
    services: &[Service],
) -> anyhow::Result<()> {
    let metrics = Metrics::new(env!("CARGO_PKG_VERSION"));

    let listener = TcpListener::bind(config.server.listen).await.with_context(|| {
        format!(
            "cannot listen for grpc on {} (is another tickmesh running? pick another address with --listen)",
            config.server.listen
        )
    })?;
    let grpc_addr = listener
        .local_addr()
        .context("cannot read the bound grpc address")?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen for metrics on {addr} (set metrics.listen to another address or `off`)")
        })?),
        None => None,
    };

    let stop = CancellationToken::new();
    let signal =
        tickmesh_bootstrap::terminate_signal().context("cannot install signal handlers")?;
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signal.await;
        on_signal.cancel();
    });

    let has = |s: Service| services.contains(&s);
    let adapters = Adapters::connect(
        &plane,
        has(Service::Ingestion) || has(Service::Bridge) || has(Service::Subscription),
        has(Service::Bridge) || has(Service::Storage),
    )
    .await?;
    let mut server =
        GrpcServer::new().with_rpc_metrics(tickmesh_telemetry::RpcMetrics::register(&metrics));
    let web_addr = serve_web(
        &config.server.web,
        has(Service::Subscription),
        grpc_addr,
        &mut server,
    )
    .await?;
    let mut handles = start(&plane, &adapters, services, &mut server, &metrics).await?;

    let metrics_task = match metrics_listener {
        Some(listener) => {
            let addr = listener
                .local_addr()
                .context("cannot read the bound metrics address")?;
            tracing::info!(metrics_addr = %addr, "metrics at http://{addr}/metrics");
            let stop = stop.clone();
            Some(tokio::spawn(tickmesh_bootstrap::serve_metrics(
                listener,
                metrics,
                stop.cancelled_owned(),
            )))
        }
        None => None,
    };

    if let Some(addr) = web_addr {
        let scheme = if config.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(web_addr = %addr, "web page at {scheme}://{addr}/");
    }
    let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
    tracing::info!(
        grpc_addr = %grpc_addr,
        services = ?server.service_names(),
        "{name} up ({}): grpc listening on {grpc_addr}", names.join(", ")
    );
    // The server drains its calls while the services stop, and stops last: stream clients
    // are let go when the subscription service stops.
    let health = server.health();
    let settings = config.server.clone();
    let serving = stop.clone();
    handles.push(ServiceHandle::spawn(
        "grpc server",
        Vec::new(),
        ServiceStop::default(),
        StopMode::Now,
        async move {
            Ok(server
                .serve(listener, &settings, serving.cancelled_owned())
                .await?)
        },
    ));
    let supervised = Supervisor::new(handles, health)
        .run(stop.clone(), config.server.shutdown_grace)
        .await;
    if let Some(task) = metrics_task {
        task.await
            .context("metrics endpoint task panicked")?
            .context("metrics endpoint failed")?;
    }
    supervised.with_context(|| format!("{name} stopped because a service failed"))?;
    tracing::info!("{name} stopped");
    Ok(())
}

/// Sets up the browser side of `server` from `web`: gRPC-Web on the gRPC listener, or on
/// `web.listen` bound here, and the page where the subscription service runs (it serves the
/// live streams the page is built on). Returns where the page is, if this process serves it.
async fn serve_web(
    web: &tickmesh_bootstrap::server::WebSettings,
    has_page: bool,
    grpc_addr: SocketAddr,
    server: &mut GrpcServer,
) -> anyhow::Result<Option<SocketAddr>> {
    if !web.enabled {
        return Ok(None);
    }
    let addr = match web.listen {
        Some(listen) => {
            let listener = TcpListener::bind(listen).await.with_context(|| {
                format!("cannot listen for the web page on {listen} (set web.listen to another address, or unset it to serve the page on the grpc listener)")
            })?;
            let addr = listener
                .local_addr()
                .context("cannot read the bound web address")?;
            server.serve_web_on(listener);
            addr
        }
        None => grpc_addr,
    };
    if !has_page {
        return Ok(None);
    }
    let page = match &web.assets_dir {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), "serving the web page's files from web.assets_dir");
            tickmesh_web::Page::from_dir(dir)
        }
        None => tickmesh_web::Page::embedded(),
    };
    server.page(Arc::new(move |path: &str| {
        page.get(path)
            .map(|file| tickmesh_bootstrap::server::WebAsset {
                body: file.body,
                content_type: file.content_type,
                etag: file.etag,
            })
    }));
    Ok(Some(addr))
}

/// Starts `services` in flow order, so each finds its consumers' side ready; each registers
/// its own metrics (a process serves the metrics of what it runs) and hosts its gRPC services
/// on `server`. Returns the services in the order they stop: ingestion first, then what
/// drains after it.
async fn start(
    plane: &DataPlaneConfig,
    adapters: &Adapters,
    services: &[Service],
    server: &mut GrpcServer,
    metrics: &Metrics,
) -> anyhow::Result<Vec<ServiceHandle>> {
    let has = |s: Service| services.contains(&s);
    // Everything in one process: the bridge and storage drain what ingestion left them when
    // the process stops, since nothing else will read the in-process log afterwards.
    let mode = if has(Service::Ingestion) && has(Service::Bridge) && has(Service::Storage) {
        StopMode::Drain
    } else {
        StopMode::Now
    };
    let db = if has(Service::Storage) || has(Service::Subscription) {
        Some(plane::open_database(plane).await?)
    } else {
        None
    };
    let mut storage = None;
    if let (true, Some(db)) = (has(Service::Storage), &db) {
        let ports = tickmesh_storage::StoragePorts {
            topics: Arc::clone(&adapters.topics),
            db: db.clone(),
            history_db: plane::open_history_database(plane, db).await?,
        };
        let (config, store) = (plane.storage.clone(), plane.store.clone());
        storage = Some(tickmesh_storage::start(
            config, store, ports, mode, metrics, server,
        ));
    }
    let mut in_process = None;
    let mut subscription = None;
    if let (true, Some(db)) = (has(Service::Subscription), &db) {
        let ports = tickmesh_subscription::SubscriptionPorts {
            db: db.clone(),
            live: Arc::clone(&adapters.live),
            history: Some(tickmesh_subscription::HistoryPorts {
                history: Arc::clone(&adapters.history),
                stream: plane.stream.clone(),
                archive: Some(Arc::new(crate::archive::StoredEvents::new(
                    plane::open_history_database(plane, db).await?,
                ))),
            }),
        };
        let (core, handle) =
            tickmesh_subscription::start(plane.subscription_config(), ports, metrics, server).await;
        in_process = Some(core);
        subscription = Some(handle);
    }
    let mut bridge = None;
    if has(Service::Bridge) {
        let ports = tickmesh_bridge::BridgePorts {
            stream: Arc::clone(&adapters.stream),
            topics: Arc::clone(&adapters.topics),
        };
        bridge = Some(tickmesh_bridge::start(
            plane.bridge.clone(),
            ports,
            mode,
            metrics,
            server,
        ));
    }
    let mut ingestion = None;
    if has(Service::Ingestion) {
        // In one process ingestion follows the subscription service directly; alone it
        // follows `ingestion.subscriptions_url`, or collects `ingestion.markets`.
        let subscriptions: Option<Arc<dyn SubscriptionSource>> = match in_process {
            Some(core) => Some(Arc::new(InProcessSubscriptions(core))),
            None => plane.subscriptions_url.clone().map(|url| {
                let source = GrpcSubscriptions::new(url, plane.subscriptions_ca.clone());
                Arc::new(source) as Arc<dyn SubscriptionSource>
            }),
        };
        let ports = tickmesh_ingestion::IngestionPorts {
            publisher: Arc::clone(&adapters.publisher),
            gaps: Some(Arc::clone(&adapters.live)),
            subscriptions,
            leases: adapters.leases.clone(),
        };
        let handle = tickmesh_ingestion::start(plane.ingestion.clone(), ports, metrics, server)
            .context("cannot start ingestion")?;
        ingestion = Some(handle);
    }
    let stop_order = [ingestion, bridge, storage, subscription];
    Ok(stop_order.into_iter().flatten().collect())
}

/// Installs logging and tracing for the process; the guard flushes spans when dropped.
fn init_telemetry(
    name: &str,
    config: &ProcessConfig,
) -> anyhow::Result<tickmesh_telemetry::TelemetryGuard> {
    let otlp = std::env::var(tickmesh_telemetry::OTLP_ENDPOINT_VAR).ok();
    tickmesh_telemetry::init(&config.telemetry(name, otlp), rust_log().as_deref())
        .context("cannot start telemetry")
}

fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty())
}
