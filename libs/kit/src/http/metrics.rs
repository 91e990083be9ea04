//! RED metrics per route, following the OpenTelemetry HTTP semantic conventions: one
//! histogram, `http.server.request.duration` (seconds), per method, route and status code.
//! Its count is the request rate and its points with a 5xx status the errors; one record
//! per request keeps the cost of metrics low.

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;

/// Instruments of one service's HTTP server.
#[derive(Clone)]
pub struct HttpMetrics {
    duration: Histogram<f64>,
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
        }
    }

    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let attrs = [
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ];
        self.duration.record(seconds, &attrs);
    }
}
