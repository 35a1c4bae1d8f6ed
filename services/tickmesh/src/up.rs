//! `tickmesh up`: the composition root. It reads configuration, starts telemetry, binds the
//! listeners and runs every hosted service until a shutdown signal, then drains.
//!
//! The data-plane services join here as their issues land; today the process hosts health,
//! reflection and the metrics endpoint.

use anyhow::Context as _;
use tickmesh_bootstrap::{ConfigSources, GrpcServer, ProcessConfig};
use tickmesh_telemetry::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::UpArgs;

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let sources = ConfigSources::load(args.config.as_deref(), std::env::vars())?;
    let mut reader = sources.reader();
    let mut config = ProcessConfig::read(&mut reader);
    reader.finish()?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: ProcessConfig) -> anyhow::Result<()> {
    let otlp = std::env::var(tickmesh_telemetry::OTLP_ENDPOINT_VAR).ok();
    let _telemetry =
        tickmesh_telemetry::init(&config.telemetry("tickmesh", otlp), rust_log().as_deref())
            .context("cannot start telemetry")?;
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

    let server = GrpcServer::new();
    tracing::info!(
        grpc_addr = %grpc_addr,
        services = ?server.service_names(),
        "tickmesh up: grpc listening on {grpc_addr}"
    );
    let served = server
        .serve(listener, &config.server, stop.clone().cancelled_owned())
        .await
        .context("grpc server failed");
    stop.cancel();
    if let Some(task) = metrics_task {
        task.await
            .context("metrics endpoint task panicked")?
            .context("metrics endpoint failed")?;
    }
    served?;
    tracing::info!("tickmesh stopped");
    Ok(())
}

fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty())
}
