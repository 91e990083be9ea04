//! A real OTLP/gRPC receiver (the official protobuf services served with tonic), in-process,
//! recording everything it is sent with its resource, so tests can assert on what a
//! collector would receive: spans, logs and metrics, each with its `service.name`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio_util::sync::CancellationToken;

/// A span as received.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub name: String,
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: BTreeMap<String, String>,
    pub links: Vec<(String, String)>,
}

/// A log record as received.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub service: String,
    pub body: String,
    pub severity: String,
    pub trace_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// A metric as received (name, and the attributes of each data point).
#[derive(Debug, Clone)]
pub struct ReceivedMetric {
    pub service: String,
    pub name: String,
    pub points: Vec<BTreeMap<String, String>>,
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    logs: Vec<ReceivedLog>,
    metrics: Vec<ReceivedMetric>,
    /// Every request, printed, for searching what must never be sent (PII).
    raw: String,
}

/// What the receiver got; a counting sink keeps only the number of spans (what a
/// collector's decoding costs, without a test's bookkeeping).
#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Received>>,
    counting: bool,
    spans: Arc<AtomicUsize>,
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), text(&kv.value))).collect()
}

fn service_of(resource: &Option<Resource>) -> String {
    resource
        .as_ref()
        .map(|r| attributes(&r.attributes))
        .and_then(|a| a.get("service.name").cloned())
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let n = req.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|s| s.spans.len()).sum();
        self.spans.fetch_add(n, Ordering::Relaxed);
        if self.counting {
            return Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }));
        }
        let mut r = self.received.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        r.raw.push_str(&format!("{req:?}\n"));
        for rs in &req.resource_spans {
            let service = service_of(&rs.resource);
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                r.spans.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name.clone(),
                    kind: span.kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(&span.attributes),
                    links: span.links.iter().map(|l| (hex(&l.trace_id), hex(&l.span_id))).collect(),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl LogsService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        if self.counting {
            return Ok(tonic::Response::new(ExportLogsServiceResponse { partial_success: None }));
        }
        let mut r = self.received.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        r.raw.push_str(&format!("{req:?}\n"));
        for rl in &req.resource_logs {
            let service = service_of(&rl.resource);
            for log in rl.scope_logs.iter().flat_map(|s| &s.log_records) {
                r.logs.push(ReceivedLog {
                    service: service.clone(),
                    body: text(&log.body),
                    severity: log.severity_text.clone(),
                    trace_id: hex(&log.trace_id),
                    attributes: attributes(&log.attributes),
                });
            }
        }
        Ok(tonic::Response::new(ExportLogsServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        use opentelemetry_proto::tonic::metrics::v1::metric::Data;
        let req = request.into_inner();
        if self.counting {
            return Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }));
        }
        let mut r = self.received.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        r.raw.push_str(&format!("{req:?}\n"));
        for rm in &req.resource_metrics {
            let service = service_of(&rm.resource);
            for metric in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
                let points = match &metric.data {
                    Some(Data::Sum(s)) => s.data_points.iter().map(|p| attributes(&p.attributes)).collect(),
                    Some(Data::Gauge(g)) => g.data_points.iter().map(|p| attributes(&p.attributes)).collect(),
                    Some(Data::Histogram(h)) => h.data_points.iter().map(|p| attributes(&p.attributes)).collect(),
                    _ => Vec::new(),
                };
                r.metrics.push(ReceivedMetric { service: service.clone(), name: metric.name.clone(), points });
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A receiver listening on a free port of 127.0.0.1 until dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    sink: Sink,
    stop: CancellationToken,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        Self::serve(Sink::default()).await
    }

    /// A receiver that decodes everything and counts the spans, keeping nothing (for
    /// benchmarks, where a test's bookkeeping would be charged to the exporter).
    pub async fn start_counting() -> Self {
        Self::serve(Sink { counting: true, ..Sink::default() }).await
    }

    /// Spans received so far (also by a counting receiver).
    pub fn span_count(&self) -> usize {
        self.sink.spans.load(Ordering::Relaxed)
    }

    async fn serve(sink: Sink) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the OTLP receiver");
        let addr = listener.local_addr().expect("local address");
        let stop = CancellationToken::new();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(sink.clone()))
            .add_service(LogsServiceServer::new(sink.clone()))
            .add_service(MetricsServiceServer::new(sink.clone()))
            .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
        tokio::spawn(server);
        Self { addr, sink, stop }
    }

    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.sink.received.lock().map(|r| r.spans.clone()).unwrap_or_default()
    }

    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.sink.received.lock().map(|r| r.logs.clone()).unwrap_or_default()
    }

    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.sink.received.lock().map(|r| r.metrics.clone()).unwrap_or_default()
    }

    /// Everything received, printed: for asserting that something was never sent.
    pub fn raw(&self) -> String {
        self.sink.received.lock().map(|r| r.raw.clone()).unwrap_or_default()
    }

    /// Waits until `done(spans)` holds, up to `timeout`; returns the spans either way.
    pub async fn wait_for_spans(&self, timeout: Duration, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
