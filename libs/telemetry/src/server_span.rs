//! The span of each request a service serves, made with the OpenTelemetry API directly
//! rather than through `tracing`: a request's span is the most frequent one, and the
//! `tracing` layers (registry, filters, enter and exit on every poll) cost more than the
//! span itself. The request's future runs with the span's context attached (see
//! `opentelemetry::trace::FutureExt::with_context`), so `tracing` spans started inside it
//! (outbound calls, feed work) are its children, log lines carry its ids, and
//! [`crate::current_trace_parent`] stores it with the events the request publishes.

use std::sync::OnceLock;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::routing::ServiceTracer;

pub(crate) static TRACER: OnceLock<ServiceTracer> = OnceLock::new();

/// Starts `service`'s server span `name` as a child of `parent` (the caller's trace
/// context, or an empty one) and returns the context carrying it; `None` when tracing is
/// off (`OTEL_SDK_DISABLED`), so the request costs nothing.
pub fn start_server_span(service: &str, name: String, attributes: Vec<KeyValue>, parent: &Context) -> Option<Context> {
    let tracer = TRACER.get()?.for_service(service);
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    Some(parent.with_span(span))
}

/// Adds attributes to the span of the request being served (the role and tenant once the
/// caller is known), if there is one.
pub fn annotate_server_span(attributes: impl IntoIterator<Item = KeyValue>) {
    let cx = Context::current();
    let span = cx.span();
    for kv in attributes {
        span.set_attribute(kv);
    }
}

/// Ends a request's span with its status code; a 5xx marks it failed.
pub fn end_server_span(cx: &Context, status: u16) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
    if status >= 500 {
        span.set_attribute(KeyValue::new("error.type", status.to_string()));
        span.set_status(Status::error(""));
    }
    span.end();
}
