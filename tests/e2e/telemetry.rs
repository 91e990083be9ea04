//! Telemetry reaches a real OTLP receiver: a request to one service that calls others is
//! one trace holding spans of each service under its own `service.name`; and an
//! unreachable collector never fails a request or hangs shutdown.

use std::time::Duration;

use gigcover_e2e::{Gigcover, free_port};
use gigcover_kit::ServiceName;
use gigcover_testkit::OtlpReceiver;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_call_across_services_is_one_trace_with_each_service_named() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let otlp = OtlpReceiver::start().await;
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
            ("OTEL_BLRP_SCHEDULE_DELAY", "200".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(90)).await;

    let res = gigcover_kit::client::http()
        .get(gc.url(ServiceName::Ops, "/v1/status"))
        .bearer_auth(gc.keys.ops_token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    let statuses: Vec<&str> =
        report["services"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["ready"; 6], "{report}");

    let is_status_span = |s: &gigcover_testkit::otlp::ReceivedSpan| {
        s.service == "ops" && s.attributes.get("http.route").map(String::as_str) == Some("/v1/status")
    };
    let spans = otlp
        .wait_for_spans(Duration::from_secs(20), |spans| {
            spans.iter().find(|s| is_status_span(s)).is_some_and(|root| {
                let in_trace = |svc: &str| spans.iter().any(|s| s.trace_id == root.trace_id && s.service == svc);
                ["aggregation", "enrichment", "pricing", "claims", "identity"].iter().all(|svc| in_trace(svc))
            })
        })
        .await;
    let root =
        spans.iter().find(|s| is_status_span(s)).unwrap_or_else(|| panic!("no /v1/status span among {spans:#?}"));
    assert_eq!(root.name, "GET /v1/status");
    assert_eq!(root.attributes.get("http.response.status_code").map(String::as_str), Some("200"));
    let trace: Vec<_> = spans.iter().filter(|s| s.trace_id == root.trace_id).collect();
    let readyz = trace
        .iter()
        .find(|s| s.service == "aggregation" && s.attributes.get("http.route").map(String::as_str) == Some("/readyz"))
        .unwrap_or_else(|| panic!("no aggregation span in the trace: {trace:#?}"));
    let parent = trace
        .iter()
        .find(|s| s.span_id == readyz.parent_span_id)
        .expect("the aggregation span's parent is in the trace");
    assert_eq!(parent.service, "ops", "the caller's client span is the parent");
    assert_eq!(parent.attributes.get("peer.service").map(String::as_str), Some("aggregation"));

    // Metrics and logs carry their service too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metrics = otlp.metrics();
    assert!(
        metrics.iter().any(|m| m.service == "ops" && m.name == "http.server.request.duration"),
        "RED metrics of ops: {:?}",
        metrics.iter().map(|m| (&m.service, &m.name)).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_collector_neither_fails_requests_nor_hangs_shutdown() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let mut gc = Gigcover::serve(
        "aggregation",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere), ("OTEL_BSP_SCHEDULE_DELAY", "100".into())],
    );
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let http = gigcover_kit::client::http();
    for _ in 0..50 {
        let res = http
            .get(gc.url(ServiceName::Aggregation, "/v1/platforms"))
            .bearer_auth(gc.keys.ops_token())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    gc.signal(nix::sys::signal::Signal::SIGTERM);
    let status = gc.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{}", gc.logs());
}
