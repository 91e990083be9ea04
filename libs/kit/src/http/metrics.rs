//! RED metrics per route, following the OpenTelemetry HTTP semantic conventions:
//! `http.server.request.duration` (a histogram in seconds; its count is the request rate),
//! plus explicit request and error counters for dashboards that want plain sums.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

/// Instruments of one service's HTTP server.
#[derive(Clone)]
pub struct HttpMetrics {
    duration: Histogram<f64>,
    requests: Counter<u64>,
    errors: Counter<u64>,
}

impl HttpMetrics {
    pub fn new(service: &'static str) -> Self {
        let meter = gigcover_telemetry::meter(service);
        Self {
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests")
                .with_boundaries(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .build(),
            requests: meter.u64_counter("http.server.requests").with_description("HTTP requests served").build(),
            errors: meter
                .u64_counter("http.server.errors")
                .with_description("HTTP requests answered with a 5xx status")
                .build(),
        }
    }

    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let attrs = [
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ];
        self.duration.record(seconds, &attrs);
        self.requests.add(1, &attrs);
        if status >= 500 {
            self.errors.add(1, &attrs);
        }
    }
}
