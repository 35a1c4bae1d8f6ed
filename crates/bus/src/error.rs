//! What can go wrong on the bus.

/// A bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The backend could not be reached or did not confirm in time; retrying may succeed.
    #[error("{backend} is unavailable")]
    Unavailable {
        /// Which backend (`redis`, `kafka`).
        backend: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The backend refused the request; retrying the same request will not help.
    #[error("{backend} refused the request: {reason}")]
    Rejected {
        /// Which backend.
        backend: &'static str,
        /// What it said.
        reason: String,
    },
    /// The bus was shut down.
    #[error("the bus is closed")]
    Closed,
}

impl BusError {
    /// An unavailable backend, from any error.
    pub fn unavailable(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> BusError {
        BusError::Unavailable {
            backend,
            source: source.into(),
        }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BusError::Unavailable { .. })
    }
}

/// An error with its sources, `outer: inner: innermost`, for logs and dead-letter reasons.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    tickmesh_telemetry::ErrorChain(error).to_string()
}
