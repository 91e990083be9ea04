//! Builds one set of providers per service, with OTLP/gRPC exporters where configured.

use std::collections::HashMap;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::TelemetrySettings;

pub(crate) struct Built {
    pub tracers: Vec<(&'static str, SdkTracerProvider)>,
    pub loggers: Vec<(&'static str, SdkLoggerProvider)>,
    pub meters: HashMap<&'static str, SdkMeterProvider>,
    pub runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn env_name(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    /// Exported when an endpoint is configured for it and `OTEL_<SIGNAL>_EXPORTER` is not `none`.
    fn exported(self) -> bool {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let off = std::env::var(format!("OTEL_{}_EXPORTER", self.env_name())).is_ok_and(|v| v.trim() == "none");
        !off && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set(&format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", self.env_name())))
    }
}

fn resource(service: &'static str, settings: &TelemetrySettings) -> Resource {
    Resource::builder()
        .with_service_name(service)
        .with_attributes([
            KeyValue::new("service.namespace", "gigcover"),
            KeyValue::new("service.version", settings.version),
            KeyValue::new("deployment.environment.name", settings.environment.clone()),
            KeyValue::new("deployment.environment", settings.environment.clone()),
        ])
        .build()
}

pub(crate) fn build(services: &[&'static str], settings: &TelemetrySettings) -> anyhow::Result<Built> {
    let (traces, metrics, logs) = (Signal::Traces.exported(), Signal::Metrics.exported(), Signal::Logs.exported());
    // tonic channels spawn their connection tasks on the runtime current at build time and
    // keep using it, so build exporters inside a runtime that lives as long as they do.
    let runtime = if traces || metrics || logs {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otel-export")
                .enable_all()
                .build()
                .context("start the telemetry export runtime")?,
        )
    } else {
        None
    };
    let _entered = runtime.as_ref().map(|rt| rt.enter());

    let mut built = Built { tracers: Vec::new(), loggers: Vec::new(), meters: HashMap::new(), runtime: None };
    for &service in services {
        let res = resource(service, settings);

        let mut tracer = SdkTracerProvider::builder().with_resource(res.clone());
        if traces {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .context("configure the OTLP span exporter (check OTEL_EXPORTER_OTLP_*)")?;
            tracer = tracer.with_batch_exporter(exporter);
        }
        built.tracers.push((service, tracer.build()));

        let mut meter = SdkMeterProvider::builder().with_resource(res.clone());
        if metrics {
            // Counters and histograms as deltas (a window's count is the sum of its points,
            // what the OpenSearch SLO source and monitors add up), gauges as their latest
            // value at every export (a silent platform's last event time stays visible).
            // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, when set, decides instead.
            let mut builder = opentelemetry_otlp::MetricExporter::builder().with_tonic();
            if std::env::var_os("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE").is_none() {
                builder = builder.with_temporality(opentelemetry_sdk::metrics::Temporality::LowMemory);
            }
            let exporter =
                builder.build().context("configure the OTLP metric exporter (check OTEL_EXPORTER_OTLP_*)")?;
            meter = meter.with_periodic_exporter(exporter);
        }
        built.meters.insert(service, meter.build());

        let mut logger = SdkLoggerProvider::builder().with_resource(res);
        if logs {
            let exporter = opentelemetry_otlp::LogExporter::builder()
                .with_tonic()
                .build()
                .context("configure the OTLP log exporter (check OTEL_EXPORTER_OTLP_*)")?;
            logger = logger.with_batch_exporter(exporter);
        }
        built.loggers.push((service, logger.build()));
    }
    drop(_entered);
    built.runtime = runtime;
    Ok(built)
}
