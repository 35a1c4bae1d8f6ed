//! Process signals that ask for a graceful shutdown.

/// Completes on the first SIGTERM (how Kubernetes and service managers stop a process) or
/// SIGINT (Ctrl-C). If the handlers cannot be installed the process could never stop cleanly,
/// so that is reported as an error up front rather than discovered at stop time.
pub fn terminate_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutdown requested");
        name
    })
}
