//! Telemetry for every gigcover service, set up once per process by [`init`].
//!
//! - Structured JSON logs on stdout, each line with `trace_id`/`span_id` when inside a span.
//! - Each request served gets a server span made directly with the OpenTelemetry API
//!   ([`start_server_span`]; the cheapest way for the most frequent span); other `tracing`
//!   spans become OpenTelemetry spans (`tracing-opentelemetry`); `tracing` events
//!   become OpenTelemetry logs (the appender bridge); both are exported over OTLP/gRPC when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (or a per-signal endpoint) is set, and not at all when
//!   `OTEL_SDK_DISABLED=true`. The standard `OTEL_*` variables (sampler, resource attributes,
//!   batch sizes, export interval, headers, timeout) are read by the SDK itself.
//! - One process may host several services (`serve --target all`). Each service gets its own
//!   tracer, meter and logger providers, so its signals carry its own `service.name`; work
//!   runs "inside" a service via [`in_service`], which routes its spans and logs.
//! - Exporters run on one small dedicated Tokio runtime, never on the request runtimes: the
//!   batch processors' own threads drive them, so export cannot stall a request, and
//!   shutdown cannot deadlock on actix's current-thread runtimes.

mod export;
mod json_log;
mod propagation;
mod routing;
mod server_span;

use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::metrics::Meter;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use propagation::{TraceParent, context_from_trace_parent, current_trace_parent, extract_context, inject_context};
pub use server_span::{annotate_server_span, end_server_span, start_server_span};

/// The name spans, logs and metrics are reported under when no service is current.
pub const PROCESS_SERVICE: &str = "gigcover";

tokio::task_local! {
    static CURRENT_SERVICE: &'static str;
}

/// Runs `work` as part of `service`: its spans, logs and metrics are that service's.
pub async fn in_service<F: Future>(service: &'static str, work: F) -> F::Output {
    CURRENT_SERVICE.scope(service, work).await
}

/// The service whose work is running now, if any.
pub fn current_service() -> Option<&'static str> {
    CURRENT_SERVICE.try_with(|s| *s).ok()
}

/// What [`init`] needs to know about the process.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// Every service this process runs (one in production, all six in the embedded default).
    pub services: Vec<&'static str>,
    pub version: &'static str,
    /// `deployment.environment` (dev, prod, local, test).
    pub environment: String,
    /// What is logged (printed and exported as OpenTelemetry logs): an `EnvFilter`
    /// directive; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// Which spans are traced (then sampled), independent of what is logged: a quiet log
    /// must not silence the traces.
    pub trace_filter: String,
}

struct Providers {
    tracers: Vec<SdkTracerProvider>,
    loggers: Vec<SdkLoggerProvider>,
    meters: HashMap<&'static str, SdkMeterProvider>,
}

static METERS: OnceLock<HashMap<&'static str, Meter>> = OnceLock::new();

/// The meter of `service` (a no-op meter before [`init`] or when the SDK is disabled).
pub fn meter(service: &'static str) -> Meter {
    METERS
        .get()
        .and_then(|m| m.get(service).or_else(|| m.get(PROCESS_SERVICE)))
        .cloned()
        .unwrap_or_else(|| opentelemetry::global::meter(service))
}

/// Flushes and stops every provider when dropped or on [`TelemetryGuard::shutdown`].
#[must_use = "telemetry stops when the guard is dropped"]
pub struct TelemetryGuard {
    providers: Option<Providers>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TelemetryGuard {
    /// Flushes what is buffered (bounded by `timeout` per provider) and stops exporting.
    /// Blocking: call it after the servers have stopped, from any thread.
    pub fn shutdown(mut self, timeout: Duration) {
        self.stop(timeout);
    }

    fn stop(&mut self, timeout: Duration) {
        if let Some(p) = self.providers.take() {
            for t in &p.tracers {
                let _ = t.shutdown_with_timeout(timeout);
            }
            for m in p.meters.values() {
                let _ = m.shutdown_with_timeout(timeout);
            }
            for l in &p.loggers {
                let _ = l.shutdown_with_timeout(timeout);
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn sdk_disabled() -> bool {
    std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Installs the global subscriber, propagator and providers. Call once, first thing in `main`.
pub fn init(settings: TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let log_filter = || EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter));
    let logs = tracing_subscriber::fmt::layer().event_format(json_log::JsonLog).with_writer(std::io::stdout);

    if sdk_disabled() {
        tracing_subscriber::registry().with(logs.with_filter(log_filter()?)).try_init()?;
        return Ok(TelemetryGuard { providers: None, runtime: None });
    }

    let mut names = settings.services.clone();
    if !names.contains(&PROCESS_SERVICE) {
        names.push(PROCESS_SERVICE);
    }
    let built = export::build(&names, &settings)?;
    let tracer = routing::ServiceTracer::new(&built.tracers);
    let _ = server_span::TRACER.set(tracer.clone());
    let logger_provider = routing::ServiceLoggerProvider::new(&built.loggers);
    let otel_logs = opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&logger_provider)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| !is_exporter_internal(meta.target())))
        .with_filter(log_filter()?);

    tracing_subscriber::registry()
        .with(logs.with_filter(log_filter()?))
        // Spans carry their own attributes; thread, source-location and busy/idle attributes
        // would be the same on every request's span and cost time on each one.
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_threads(false)
                .with_location(false)
                .with_tracked_inactivity(false)
                .with_filter(EnvFilter::try_new(&settings.trace_filter)?),
        )
        .with(otel_logs)
        .try_init()?;

    let _ = METERS.set(
        built
            .meters
            .iter()
            .map(|(name, p)| (*name, opentelemetry::metrics::MeterProvider::meter(p, "gigcover")))
            .collect(),
    );
    Ok(TelemetryGuard {
        providers: Some(Providers {
            tracers: built.tracers.into_iter().map(|(_, p)| p).collect(),
            loggers: built.loggers.into_iter().map(|(_, p)| p).collect(),
            meters: built.meters,
        }),
        runtime: built.runtime,
    })
}

/// Logs of the export machinery itself must not be exported again (a feedback loop).
fn is_exporter_internal(target: &str) -> bool {
    ["opentelemetry", "tonic", "h2", "hyper", "tower"].iter().any(|p| target.starts_with(p))
}

use tracing_subscriber::Layer as _;
