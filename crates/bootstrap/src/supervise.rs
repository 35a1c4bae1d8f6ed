//! Every service a process hosts runs as a [`ServiceHandle`], and the process watches them.
//!
//! A service that fails (returns an error, panics, or ends without being asked to) takes its
//! gRPC services to `NOT_SERVING` at once and the process down with it, with the cause, so an
//! orchestrator restarts it instead of leaving a process that serves health but does no work.
//!
//! Shutdown is ordered: services stop in the order given (in `tickmesh up`, ingestion first,
//! then the bridge drains what ingestion handed it, then storage drains what the bridge
//! handed it), all within one grace period; a service still running at its end is told to
//! stop at once, and abandoned after a short last wait.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// What a service's task ends with.
pub type ServiceResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// How a service is asked to stop.
#[derive(Debug, Clone, Default)]
pub struct ServiceStop {
    /// Stop now: finish what is in hand if possible and return.
    pub now: CancellationToken,
    /// Stop once caught up with the input (a service that has nothing to drain treats this
    /// as `now`).
    pub when_drained: CancellationToken,
}

/// How an ordered shutdown asks one service to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// At once.
    Now,
    /// After draining its input.
    Drain,
}

/// A running service.
#[derive(Debug)]
pub struct ServiceHandle {
    name: &'static str,
    grpc: Vec<&'static str>,
    stop: ServiceStop,
    mode: StopMode,
    task: JoinHandle<ServiceResult>,
}

impl ServiceHandle {
    /// Runs `service` as `name`, backing the gRPC services `grpc` (their health follows it).
    /// `stop` must be the tokens the service watches; `mode` is how shutdown uses them.
    pub fn spawn(
        name: &'static str,
        grpc: Vec<&'static str>,
        stop: ServiceStop,
        mode: StopMode,
        service: impl Future<Output = ServiceResult> + Send + 'static,
    ) -> ServiceHandle {
        ServiceHandle {
            name,
            grpc,
            stop,
            mode,
            task: tokio::spawn(service),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Why a process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// A service failed while running.
    #[error("the {service} service failed")]
    Failed {
        /// Which.
        service: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A service ended without being asked to.
    #[error("the {service} service stopped by itself")]
    Ended {
        /// Which.
        service: &'static str,
    },
    /// A service panicked.
    #[error("the {service} service panicked: {message}")]
    Panicked {
        /// Which.
        service: &'static str,
        /// The panic message, when it had one.
        message: String,
    },
}

/// Watches services until `shutdown` or until one of them fails.
#[derive(Debug)]
pub struct Supervisor {
    services: Vec<ServiceHandle>,
    health: HealthReporter,
}

impl Supervisor {
    /// A supervisor reporting services' health to `health`. `services` are in shutdown order.
    pub fn new(services: Vec<ServiceHandle>, health: HealthReporter) -> Supervisor {
        Supervisor { services, health }
    }

    /// Runs until `shutdown` is cancelled (then stops every service in order within `grace`
    /// and returns `Ok`) or until a service fails (then marks its gRPC services
    /// `NOT_SERVING`, stops the others the same way and returns why). `shutdown` is cancelled
    /// on the way out in both cases, so whatever else watches it (the gRPC server) stops too.
    pub async fn run(
        mut self,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> Result<(), SupervisorError> {
        let failure = tokio::select! {
            biased;
            () = shutdown.cancelled() => None,
            (index, outcome) = first_to_end(&mut self.services) => {
                let service = self.services.remove(index);
                // Services watching the same signal (the gRPC server) may end on it before
                // this loop sees it: after a shutdown request, a clean end is no failure.
                if shutdown.is_cancelled() && matches!(outcome, Ok(Ok(()))) {
                    shutdown.cancel();
                    return self.stop_in_order(grace).await.map_or(Ok(()), Err);
                }
                let error = failure_of(service.name, outcome);
                tracing::error!(service = service.name, error = %tickmesh_telemetry::ErrorChain(&error), "a service failed; stopping the process");
                for grpc in &service.grpc {
                    self.health.set_service_status(*grpc, ServingStatus::NotServing).await;
                }
                self.health.set_service_status("", ServingStatus::NotServing).await;
                Some(error)
            }
        };
        shutdown.cancel();
        let more = self.stop_in_order(grace).await;
        match failure {
            Some(error) => Err(error),
            None => more.map_or(Ok(()), Err),
        }
    }

    /// Stops every service in order within `grace`; returns the first failure on the way.
    async fn stop_in_order(self, grace: Duration) -> Option<SupervisorError> {
        let deadline = Instant::now() + grace;
        let mut first_failure = None;
        for mut service in self.services {
            match service.mode {
                StopMode::Now => service.stop.now.cancel(),
                StopMode::Drain => service.stop.when_drained.cancel(),
            }
            let outcome = match tokio::time::timeout_at(deadline, &mut service.task).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    tracing::warn!(
                        service = service.name,
                        ?grace,
                        "shutdown grace expired; stopping it at once"
                    );
                    service.stop.now.cancel();
                    match tokio::time::timeout(LAST_WAIT, &mut service.task).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            tracing::warn!(service = service.name, "abandoned");
                            service.task.abort();
                            continue;
                        }
                    }
                }
            };
            match outcome {
                Ok(Ok(())) => tracing::info!(service = service.name, "stopped"),
                other => {
                    let error = failure_of(service.name, other);
                    tracing::error!(service = service.name, error = %tickmesh_telemetry::ErrorChain(&error), "failed while stopping");
                    first_failure.get_or_insert(error);
                }
            }
        }
        first_failure
    }
}

/// How long a service told to stop at once gets after the grace expired.
const LAST_WAIT: Duration = Duration::from_secs(1);

/// The first service task to end, and how.
async fn first_to_end(
    services: &mut [ServiceHandle],
) -> (usize, Result<ServiceResult, tokio::task::JoinError>) {
    if services.is_empty() {
        return std::future::pending().await;
    }
    let tasks = services.iter_mut().map(|s| &mut s.task);
    let mut tasks: Vec<&mut JoinHandle<ServiceResult>> = tasks.collect();
    std::future::poll_fn(|cx| {
        for (i, task) in tasks.iter_mut().enumerate() {
            if let std::task::Poll::Ready(outcome) = std::pin::Pin::new(&mut **task).poll(cx) {
                return std::task::Poll::Ready((i, outcome));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// The error a service's end means, when it was not asked to stop or failed while stopping.
fn failure_of(
    service: &'static str,
    outcome: Result<ServiceResult, tokio::task::JoinError>,
) -> SupervisorError {
    match outcome {
        Ok(Ok(())) => SupervisorError::Ended { service },
        Ok(Err(source)) => SupervisorError::Failed { service, source },
        Err(join) => SupervisorError::Panicked {
            service,
            message: panic_message(join),
        },
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned()),
        Err(join) => join.to_string(),
    }
}

#[cfg(test)]
mod tests;
