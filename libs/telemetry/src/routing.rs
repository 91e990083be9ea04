//! Routes each span and log record to the providers of the service it belongs to, so one
//! process hosting several services still reports each under its own `service.name`.
//! The service is the one current (see [`crate::in_service`]) when the span starts or the
//! record is emitted; work outside any service goes to the process's own providers.

use std::collections::HashMap;

use opentelemetry::trace::{SpanBuilder, Tracer, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::{PROCESS_SERVICE, current_service};

const SCOPE: &str = "gigcover";

/// The provider of `service` (by default the current one), else the process's own.
fn pick<'a, T>(by_service: &'a HashMap<&'static str, T>, fallback: &'a T, service: Option<&str>) -> &'a T {
    let found = match service {
        Some(s) => by_service.get(s),
        None => current_service().and_then(|s| by_service.get(s)),
    };
    found.unwrap_or(fallback)
}

#[derive(Clone)]
pub(crate) struct ServiceTracer {
    by_service: HashMap<&'static str, SdkTracer>,
    process: SdkTracer,
}

impl ServiceTracer {
    pub(crate) fn new(providers: &[(&'static str, SdkTracerProvider)]) -> Self {
        let by_service: HashMap<_, _> = providers.iter().map(|(s, p)| (*s, p.tracer(SCOPE))).collect();
        let process = by_service
            .get(PROCESS_SERVICE)
            .cloned()
            .unwrap_or_else(|| SdkTracerProvider::builder().build().tracer(SCOPE));
        Self { by_service, process }
    }

    /// The tracer of one service (the process's own for a name it does not run).
    pub(crate) fn for_service(&self, service: &str) -> &SdkTracer {
        pick(&self.by_service, &self.process, Some(service))
    }
}

impl Tracer for ServiceTracer {
    type Span = opentelemetry_sdk::trace::Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        pick(&self.by_service, &self.process, None).build_with_context(builder, parent_cx)
    }
}

pub(crate) struct ServiceLoggerProvider {
    by_service: HashMap<&'static str, SdkLoggerProvider>,
    process: SdkLoggerProvider,
}

impl ServiceLoggerProvider {
    pub(crate) fn new(providers: &[(&'static str, SdkLoggerProvider)]) -> Self {
        let by_service: HashMap<_, _> = providers.iter().map(|(s, p)| (*s, p.clone())).collect();
        let process = by_service.get(PROCESS_SERVICE).cloned().unwrap_or_else(|| SdkLoggerProvider::builder().build());
        Self { by_service, process }
    }
}

impl opentelemetry::logs::LoggerProvider for ServiceLoggerProvider {
    type Logger = ServiceLogger;

    fn logger_with_scope(&self, scope: InstrumentationScope) -> Self::Logger {
        ServiceLogger {
            by_service: self.by_service.iter().map(|(s, p)| (*s, p.logger_with_scope(scope.clone()))).collect(),
            process: self.process.logger_with_scope(scope),
        }
    }
}

pub(crate) struct ServiceLogger {
    by_service: HashMap<&'static str, SdkLogger>,
    process: SdkLogger,
}

impl opentelemetry::logs::Logger for ServiceLogger {
    type LogRecord = SdkLogRecord;

    fn create_log_record(&self) -> Self::LogRecord {
        self.process.create_log_record()
    }

    fn emit(&self, record: Self::LogRecord) {
        pick(&self.by_service, &self.process, None).emit(record)
    }

    fn event_enabled(&self, level: opentelemetry::logs::Severity, target: &str, name: Option<&str>) -> bool {
        pick(&self.by_service, &self.process, None).event_enabled(level, target, name)
    }
}
