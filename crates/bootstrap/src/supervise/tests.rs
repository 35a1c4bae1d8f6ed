use std::sync::{Arc, Mutex};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_server::Health as _;

use super::*;

type Log = Arc<Mutex<Vec<String>>>;

/// A service that runs until stopped (in the way `mode` says), logging when it stops.
fn polite(name: &'static str, mode: StopMode, log: &Log) -> ServiceHandle {
    let stop = ServiceStop::default();
    let (log, tokens) = (Arc::clone(log), stop.clone());
    ServiceHandle::spawn(name, vec![], stop, mode, async move {
        tokio::select! {
            () = tokens.now.cancelled() => {}
            () = tokens.when_drained.cancelled() => {
                // Draining takes a moment: the next service must wait for it.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        log.lock().unwrap().push(format!("{name} stopped"));
        Ok(())
    })
}

async fn status(service: &tonic_health::server::HealthService, name: &str) -> i32 {
    service
        .check(tonic::Request::new(HealthCheckRequest {
            service: name.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test]
async fn shutdown_stops_services_one_after_the_other_in_order() {
    let log: Log = Arc::default();
    let services = vec![
        polite("ingestion", StopMode::Now, &log),
        polite("bridge", StopMode::Drain, &log),
        polite("storage", StopMode::Drain, &log),
    ];
    let (health, _) = tonic_health::server::health_reporter();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(
        Supervisor::new(services, health).run(shutdown.clone(), Duration::from_secs(5)),
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["ingestion stopped", "bridge stopped", "storage stopped"]
    );
}

#[tokio::test]
async fn a_failing_service_takes_its_health_and_the_process_down() {
    let log: Log = Arc::default();
    let health = tonic_health::server::HealthReporter::new();
    let health_service = tonic_health::server::HealthService::from_health_reporter(health.clone());
    health
        .set_service_status("tickmesh.history.v1.HistoryService", ServingStatus::Serving)
        .await;
    health
        .set_service_status("tickmesh.bridge.v1.BridgeService", ServingStatus::Serving)
        .await;
    let failing = ServiceHandle::spawn(
        "storage",
        vec!["tickmesh.history.v1.HistoryService"],
        ServiceStop::default(),
        StopMode::Drain,
        async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err("the database refused the schema".into())
        },
    );
    let services = vec![polite("bridge", StopMode::Drain, &log), failing];
    let shutdown = CancellationToken::new();
    let error = Supervisor::new(services, health)
        .run(shutdown.clone(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        tickmesh_telemetry::ErrorChain(&error).to_string(),
        "the storage service failed: the database refused the schema"
    );
    assert!(
        shutdown.is_cancelled(),
        "the rest of the process is told to stop"
    );
    assert_eq!(*log.lock().unwrap(), ["bridge stopped"]);
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    assert_eq!(
        status(&health_service, "tickmesh.history.v1.HistoryService").await,
        not_serving
    );
    assert_eq!(status(&health_service, "").await, not_serving);
}

#[tokio::test]
async fn a_panic_or_an_unasked_end_is_a_failure_too() {
    let (health, _) = tonic_health::server::health_reporter();
    let panicking = ServiceHandle::spawn(
        "storage",
        vec![],
        ServiceStop::default(),
        StopMode::Now,
        async {
            if tokio::time::Instant::now().elapsed() < Duration::from_secs(60) {
                panic!("Multiplication overflowed");
            }
            Ok(())
        },
    );
    let error = Supervisor::new(vec![panicking], health.clone())
        .run(CancellationToken::new(), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the storage service panicked: Multiplication overflowed"
    );

    let quitter = ServiceHandle::spawn(
        "bridge",
        vec![],
        ServiceStop::default(),
        StopMode::Now,
        async { Ok(()) },
    );
    let error = Supervisor::new(vec![quitter], health)
        .run(CancellationToken::new(), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "the bridge service stopped by itself");
}

#[tokio::test]
async fn a_service_still_draining_when_the_grace_ends_is_stopped_at_once() {
    let log: Log = Arc::default();
    let stop = ServiceStop::default();
    let tokens = stop.clone();
    let slow = {
        let log = Arc::clone(&log);
        ServiceHandle::spawn("storage", vec![], stop, StopMode::Drain, async move {
            // Never catches up: only `now` ends it.
            tokens.now.cancelled().await;
            log.lock()
                .unwrap()
                .push("storage stopped at once".to_owned());
            Ok(())
        })
    };
    let (health, _) = tonic_health::server::health_reporter();
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    let started = Instant::now();
    Supervisor::new(vec![slow], health)
        .run(shutdown, Duration::from_millis(100))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(*log.lock().unwrap(), ["storage stopped at once"]);
}
