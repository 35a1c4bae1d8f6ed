//! One trace follows an event from ingestion through the bridge to storage: the publisher's
//! span context rides in the stream entry's `traceparent`, the bridge continues it and carries
//! the header to the topic, and storage continues it for the batch it writes. Spans go to an
//! in-memory exporter; the pipeline is the in-process bus and SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tickmesh_bridge::{BridgeConfig, BridgeStats, run_bridge};
use tickmesh_bus::memory::MemoryBus;
use tickmesh_bus::{DurableLog, EventPublisher};
use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros};
use tickmesh_feeds::FeedOutput;
use tickmesh_ingestion::{PublisherConfig, PublisherStats, run_publisher};
use tickmesh_proto::routing;
use tickmesh_storage::{MarketStore, StorageServiceConfig, StorageStats, StoreConfig};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt as _;

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_spans_ingestion_bridge_and_storage() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // Spans are made on many runtime threads: the subscriber must be the global one.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let bus = MemoryBus::new(routing::EVENTS_STREAM, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let db = tickmesh_storage::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    tickmesh_migrations::migrate(&db).await.unwrap();
    let stop = CancellationToken::new();
    let pumps = tickmesh_bus::pump::PumpStop {
        now: stop.clone(),
        when_drained: CancellationToken::new(),
    };

    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let publisher = tokio::spawn(run_publisher(
        rx,
        Arc::new(bus.clone()) as Arc<dyn EventPublisher>,
        None,
        PublisherConfig::default(),
        Arc::new(PublisherStats::default()),
        None,
        stop.clone(),
    ));
    let bridge = tokio::spawn(run_bridge(
        bus.log.clone() as Arc<dyn DurableLog>,
        bus.log.clone() as Arc<dyn DurableLog>,
        BridgeConfig {
            poll_wait: Duration::from_millis(20),
            ..BridgeConfig::default()
        },
        Arc::new(BridgeStats::new()),
        pumps.clone(),
    ));
    let stats = Arc::new(StorageStats::default());
    let storage = tokio::spawn(tickmesh_storage::run(
        bus.log.clone() as Arc<dyn DurableLog>,
        MarketStore::new(db, StoreConfig::default()),
        StorageServiceConfig {
            poll_wait: Duration::from_millis(20),
            ..StorageServiceConfig::default()
        },
        Arc::clone(&stats),
        pumps.clone(),
    ));

    tx.send(FeedOutput::Event(MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("BTC").unwrap(),
        exchange_time: UtcMicros::now(),
        received_time: UtcMicros::now(),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(42),
            price: "116539000".parse().unwrap(),
            size: "0.5".parse().unwrap(),
            side: Side::Buy,
        }),
        raw: None,
    }))
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stats.snapshot().trades_inserted < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the trade never reached storage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    drop(tx);
    publisher.await.unwrap();
    bridge.await.unwrap().unwrap();
    storage.await.unwrap().unwrap();
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let trace_of = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.span_context.trace_id())
            .unwrap_or_else(|| {
                let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
                panic!("no {name} span among {names:?}")
            })
    };
    let ingestion = trace_of("ingestion.publish");
    assert_eq!(
        trace_of("bridge.forward"),
        ingestion,
        "the bridge continues ingestion's trace"
    );
    assert_eq!(
        trace_of("storage.write"),
        ingestion,
        "storage continues the same trace"
    );
}

/// A gRPC call whose metadata carries `traceparent` is served in a span of that trace.
#[tokio::test(flavor = "multi_thread")]
async fn grpc_calls_continue_the_callers_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // nextest runs each test in its own process, so each may install the global subscriber.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn({
        let stop = stop.clone();
        async move {
            tickmesh_bootstrap::GrpcServer::new()
                .serve(
                    listener,
                    &tickmesh_bootstrap::ServerSettings::default(),
                    stop.cancelled_owned(),
                )
                .await
        }
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    });
    request.metadata_mut().insert(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(request)
        .await
        .unwrap();
    stop.cancel();
    server.await.unwrap().unwrap();
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let call = spans
        .iter()
        .find(|s| s.name == "grpc.request")
        .expect("a span for the call");
    assert_eq!(
        call.span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(call.parent_span_id.to_string(), "b7ad6b7169203331");
}
