//! What the server's tracing layer does with each call: its span (continuing the caller's
//! trace) and how a failed call is logged.

use std::time::Duration;

use tower_http::classify::GrpcFailureClass;

/// The span of one gRPC call: named by its method, continuing the caller's trace when the
/// request carries a W3C `traceparent` header (gRPC metadata), so a trace crosses processes.
pub(super) fn grpc_span<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!("grpc.request", method = %request.uri().path());
    if let Some(parent) = request
        .headers()
        .get(tickmesh_telemetry::propagation::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
    {
        tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
    }
    span
}

/// Logs a failed call: as an error only when the server is at fault (`UNKNOWN`, `INTERNAL`,
/// `DATA_LOSS`, `UNAVAILABLE`). Everything else (a method not served here, a bad argument, a
/// limit reached, a missing token) is the caller's doing and logged at debug, so no client
/// can fill the log; such calls are still counted in `tickmesh_rpc_duration_seconds` by code.
pub(super) fn log_failure(class: GrpcFailureClass, latency: Duration, _span: &tracing::Span) {
    if is_server_fault(&class) {
        tracing::error!(classification = %class, ?latency, "response failed");
    } else {
        tracing::debug!(classification = %class, ?latency, "call refused");
    }
}

fn is_server_fault(class: &GrpcFailureClass) -> bool {
    use tonic::Code;
    match class {
        GrpcFailureClass::Code(code) => matches!(
            Code::from_i32(code.get()),
            Code::Unknown | Code::Internal | Code::DataLoss | Code::Unavailable
        ),
        GrpcFailureClass::Error(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_faults_are_logged_as_errors() {
        let code = |c: tonic::Code| {
            GrpcFailureClass::Code(
                std::num::NonZeroI32::new(c as i32).unwrap_or(std::num::NonZeroI32::MIN),
            )
        };
        for c in [
            tonic::Code::Unknown,
            tonic::Code::Internal,
            tonic::Code::DataLoss,
            tonic::Code::Unavailable,
        ] {
            assert!(is_server_fault(&code(c)), "{c:?}");
        }
        for c in [
            tonic::Code::Unimplemented,
            tonic::Code::ResourceExhausted,
            tonic::Code::InvalidArgument,
            tonic::Code::Unauthenticated,
            tonic::Code::NotFound,
            tonic::Code::Cancelled,
        ] {
            assert!(!is_server_fault(&code(c)), "{c:?}");
        }
        assert!(is_server_fault(&GrpcFailureClass::Error("reset".into())));
    }
}
