//! W3C trace context across process hops: a span's context becomes a `traceparent` string
//! carried in Redis stream fields and Kafka headers, and a received one becomes the parent of
//! the span that handles it, so one trace follows an event from ingestion to storage.
//!
//! Without an OpenTelemetry exporter spans carry no trace context: [`current_traceparent`]
//! then returns `None` and nothing is carried, which costs nothing on the hot path.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The carrier key and header name of the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// The `traceparent` of the current span, when it belongs to a sampled or recorded trace.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The `traceparent` of `span`, when it belongs to a trace.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes the trace named by `traceparent` the parent of `span`; an unreadable value leaves
/// the span a root (a malformed header from outside must not fail the work).
pub fn adopt_traceparent(span: &tracing::Span, traceparent: &str) {
    let carrier: HashMap<String, String> =
        HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    // A span without an OpenTelemetry layer cannot take a parent; that is not an error here.
    let _ = span.set_parent(parent);
}
