//! W3C trace context in and out: HTTP headers on every inter-service call, and the
//! `traceparent`/`tracestate` pair stored with every feed event so consumers continue the trace.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;

/// A stored W3C trace context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceParent {
    pub traceparent: String,
    pub tracestate: Option<String>,
}

/// Writes `cx` into `carrier` (HTTP headers, a map) with the global propagator.
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, carrier));
}

/// Reads a context from `carrier` with the global propagator (empty when there is none).
pub fn extract_context(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier))
}

/// The current trace context (of the `tracing` span entered, or of the request being
/// served), ready to store, if there is one.
pub fn current_trace_parent() -> Option<TraceParent> {
    let cx = Context::current();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut map: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut map);
    Some(TraceParent {
        traceparent: map.remove("traceparent")?,
        tracestate: map.remove("tracestate").filter(|s| !s.is_empty()),
    })
}

/// The context a stored trace parent describes (empty if it does not parse).
pub fn context_from_trace_parent(tp: &TraceParent) -> Context {
    let mut map = HashMap::from([("traceparent".to_owned(), tp.traceparent.clone())]);
    if let Some(state) = &tp.tracestate {
        map.insert("tracestate".to_owned(), state.clone());
    }
    extract_context(&map)
}

/// Trace and span id of the current OpenTelemetry context, as hex, for log lines.
pub(crate) fn current_ids() -> Option<(String, String)> {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}
