//! The SLOs evaluated from OpenSearch (`ops.opensearch`), against `osmem-server` (an
//! OpenSearch API emulator) with our index templates applied by `gigcover opensearch
//! apply`. The spans and metric points are written in Data Prepper's layouts, as the
//! pipeline would; no Data Prepper or real OpenSearch runs here.
//! - the source counts each kind of SLO by hand-checked numbers;
//! - the running ops service pages from spans alone, and resolves when they recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use gigcover_e2e::Gigcover;
use gigcover_e2e::process::binary;
use gigcover_kit::ServiceName;
use gigcover_kit::opensearch::{OpenSearch, OpenSearchSettings};
use gigcover_ops::burn::Counts;
use gigcover_ops::source::SignalSource;
use gigcover_ops::source::opensearch::OpenSearchSource;
use gigcover_testkit::Osmem;
use serde_json::{Value, json};

const SPANS: &str = "otel-v1-apm-span-000001";
const METRICS: &str = "metrics-otel-v1-2026.11.29";

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn span(service: &str, name: &str, start: DateTime<Utc>, status: u16, millis: u64) -> Value {
    json!({
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
        "serviceName": service, "kind": "SPAN_KIND_SERVER", "name": name,
        "startTime": at(start), "endTime": at(start + chrono::Duration::milliseconds(millis as i64)),
        "durationInNanos": millis * 1_000_000,
        "status": {"code": if status >= 500 { 2 } else { 0 }},
        "span.attributes.http@response@status_code": status,
        "span.attributes.http@route": name.split_once(' ').map(|(_, r)| r).unwrap_or(name)
    })
}

fn point(service: &str, name: &str, time: DateTime<Utc>, value: f64, attributes: &[(&str, &str)]) -> Value {
    let mut p = json!({"serviceName": service, "name": name, "kind": "GAUGE", "time": at(time), "value": value});
    for (k, v) in attributes {
        p[format!("metric.attributes.{}", k.replace('.', "@"))] = json!(v);
    }
    p
}

fn apply_templates(url: &str) {
    let out = std::process::Command::new(binary())
        .args(["opensearch", "apply", "--url", url, "--skip-unavailable"])
        .output()
        .expect("run gigcover");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

fn source(url: &str) -> OpenSearchSource {
    let settings = OpenSearchSettings { url: url.to_owned(), username: None, password: None, aws_region: None };
    OpenSearchSource { cluster: OpenSearch::new(&settings, Duration::from_secs(10)).unwrap() }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_slo_is_counted_from_spans_and_metric_points() {
    let Some(osmem) = Osmem::start().await else { return };
    apply_templates(&osmem.url);
    let now = Utc::now();
    let ago = |secs: i64| now - chrono::Duration::seconds(secs);

    // Pricing's requests in the last 10 minutes: 100 quotes, every tenth a 503 and every
    // fourth slow (300 ms), and 5 long-polls of the feed (slow by design).
    let mut spans: Vec<Value> = (0..100)
        .map(|i| {
            let status = if i % 10 == 0 { 503 } else { 200 };
            span("pricing", "POST /v1/quotes", ago(i * 5 + 1), status, if i % 4 == 0 { 300 } else { 20 })
        })
        .collect();
    spans.extend((0..5).map(|i| span("pricing", "GET /v1/events", ago(i + 1), 200, 20_000)));
    // Not counted: health and internal routes, other services, client spans, older spans.
    spans.extend((0..20).map(|i| span("pricing", "GET /readyz", ago(i + 1), 503, 1)));
    spans.extend((0..5).map(|i| span("pricing", "GET /internal/signals", ago(i + 1), 500, 1)));
    spans.extend((0..10).map(|i| span("claims", "POST /v1/claims", ago(i + 1), 503, 900)));
    spans.extend((0..10).map(|i| span("pricing", "POST /v1/quotes", ago(1200 + i), 503, 900)));
    spans.extend((0..10).map(|i| {
        let mut s = span("pricing", "GET /v1/workers/{id}/profile", ago(i + 1), 503, 900);
        s["kind"] = json!("SPAN_KIND_CLIENT");
        s
    }));
    osmem.index(SPANS, &spans).await;

    // Metric points, one every 30 s: enrichment's backlog (4 of 20 over 1000, and another
    // source's that is not ours), each platform's last event time (eats a minute old,
    // rides two days old), and claims decided (delta counts; 7 of 8 within their SLA).
    let mut points = Vec::new();
    for i in 0..20 {
        let t = ago(i * 30 + 1);
        let backlog = if i < 4 { 5000.0 } else { 10.0 };
        points.push(point("enrichment", "gigcover.feed.backlog", t, backlog, &[("source", "aggregation")]));
        points.push(point("enrichment", "gigcover.feed.backlog", t, 9e9, &[("source", "elsewhere")]));
        let unix = t.timestamp() as f64;
        points.push(point("aggregation", "gigcover.ingest.last_event_time", t, unix - 60.0, &[("platform", "eats")]));
        points.push(point(
            "aggregation",
            "gigcover.ingest.last_event_time",
            t,
            unix - 172_800.0,
            &[("platform", "rides")],
        ));
    }
    for (n, within) in [(3.0, "true"), (4.0, "true"), (1.0, "false")] {
        points.push(point(
            "claims",
            "gigcover.claims.decided",
            ago(60),
            n,
            &[("within_sla", within), ("insurer", "acme")],
        ));
    }
    osmem.index(METRICS, &points).await;

    let slos = gigcover_ops::slo::defaults().unwrap();
    let slo = |name: &str| slos.iter().find(|s| s.name == name).unwrap().clone();
    let src = source(&osmem.url);
    let window = Duration::from_secs(600);
    let counts = |s| {
        let src = &src;
        async move { src.counts(&s, window, now).await.unwrap() }
    };
    assert_eq!(counts(slo("pricing-availability")).await, Counts { good: 95, total: 105 });
    assert_eq!(counts(slo("pricing-latency")).await, Counts { good: 75, total: 100 });
    assert_eq!(counts(slo("claims-availability")).await, Counts { good: 0, total: 10 });
    assert_eq!(counts(slo("identity-availability")).await, Counts { good: 0, total: 0 }, "no spans, no events");
    assert_eq!(counts(slo("enrichment-lag")).await, Counts { good: 16, total: 20 });
    assert_eq!(counts(slo("claims-decision-sla")).await, Counts { good: 7, total: 8 });

    let freshness = slo("ingestion-freshness");
    assert_eq!(src.keys(&freshness, window, now).await.unwrap(), vec!["eats".to_owned(), "rides".to_owned()]);
    let eats = counts(freshness.instance("ingestion-freshness/eats")).await;
    let rides = counts(freshness.instance("ingestion-freshness/rides")).await;
    assert_eq!((eats.good, eats.total), (20, 20), "fresh");
    assert_eq!((rides.good, rides.total), (0, 20), "two days old");
    // A platform due less often (nightly batches, monthly exports) is judged by its own age.
    let mut weekly = freshness.clone();
    if let gigcover_ops::slo::Indicator::FreshnessPerKey { max_age_secs_by_key, .. } = &mut weekly.indicator {
        max_age_secs_by_key.insert("rides".to_owned(), 7.0 * 86_400.0);
    }
    let rides = counts(weekly.instance("ingestion-freshness/rides")).await;
    assert_eq!((rides.good, rides.total), (20, 20), "two days old, due weekly");
    let eats = counts(weekly.instance("ingestion-freshness/eats")).await;
    assert_eq!((eats.good, eats.total), (20, 20), "its own objective unchanged");
    // A key named with its own age that reports nothing (never sent, or misspelt) is not
    // fresh; one not named that reports nothing is not counted.
    let silent = counts(weekly.instance("ingestion-freshness/ridez")).await;
    assert_eq!(silent, Counts { good: 0, total: 0 }, "not named");
    if let gigcover_ops::slo::Indicator::FreshnessPerKey { max_age_secs_by_key, .. } = &mut weekly.indicator {
        max_age_secs_by_key.insert("ridez".to_owned(), 7.0 * 86_400.0);
    }
    let silent = counts(weekly.instance("ingestion-freshness/ridez")).await;
    assert_eq!(silent, Counts { good: 0, total: 1 }, "named, silent");
    // A shorter window sees only its own points.
    let recent = src.counts(&slo("enrichment-lag"), Duration::from_secs(95), now).await.unwrap();
    assert_eq!(recent, Counts { good: 0, total: 4 }, "the four most recent points are the high ones");

    // The OpenSearch Alerting monitor (infra/opensearch/monitors) counts as the source does,
    // over its hour and its five minutes.
    let monitor: Value = serde_json::from_str(
        &include_str!("../../infra/opensearch/monitors/availability-page.json").replace("{{service}}", "pricing"),
    )
    .unwrap();
    let search = &monitor["inputs"][0]["search"];
    let answer: Value = gigcover_kit::client::http()
        .post(format!("{}/{}/_search", osmem.url, search["indices"][0].as_str().unwrap()))
        .json(&search["query"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = Utc::now();
    let hour = src.counts(&slo("pricing-availability"), Duration::from_secs(3600), now).await.unwrap();
    let five = src.counts(&slo("pricing-availability"), Duration::from_secs(300), now).await.unwrap();
    assert_eq!(hour, Counts { good: 95, total: 115 }, "the older failures are within the hour");
    assert_eq!(answer["hits"]["total"]["value"], hour.total, "{answer}");
    assert_eq!(answer["aggregations"]["bad"]["doc_count"], hour.total - hour.good, "{answer}");
    assert_eq!(answer["aggregations"]["recent"]["doc_count"], five.total, "{answer}");
    assert_eq!(answer["aggregations"]["recent"]["bad"]["doc_count"], five.total - five.good, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_pages_from_opensearch_spans_and_resolves_when_they_recover() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let Some(osmem) = Osmem::start().await else { return };
    apply_templates(&osmem.url);
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("GIGCOVER_OPS__OPENSEARCH__URL", osmem.url.clone()),
            ("GIGCOVER_OPS__TIME_SCALE", "0.001".into()),
            ("GIGCOVER_OPS__EVALUATE_SECS", "0.2".into()),
            ("GIGCOVER_OPS__PENDING_SECS", "0".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let http = gigcover_kit::client::http();
    let ops = gc.keys.ops_token();
    let alerts_url = gc.url(ServiceName::Ops, "/v1/alerts");
    let page = |state: &'static str| {
        let (http, url, token) = (http.clone(), alerts_url.clone(), ops.clone());
        async move {
            let alerts: Vec<Value> = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            alerts.iter().any(|a| a["slo"] == "pricing-availability" && a["severity"] == "page" && a["state"] == state)
        }
    };

    // What the pipeline would index while pricing fails half its requests: 20 spans every
    // 100 ms (the scaled 5-minute window is 0.3 s), then, once paged, only good ones.
    let failing = Arc::new(AtomicBool::new(true));
    let osmem = Arc::new(osmem);
    let writer = {
        let (osmem, failing) = (Arc::clone(&osmem), Arc::clone(&failing));
        tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let bad = failing.load(Ordering::Relaxed);
                let spans: Vec<Value> = (0..20)
                    .map(|i| span("pricing", "GET /v1/products", now, if bad && i % 2 == 0 { 503 } else { 200 }, 5))
                    .collect();
                osmem.index(SPANS, &spans).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !page("firing").await {
        assert!(std::time::Instant::now() < deadline, "no page alert from OpenSearch's spans");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Once the scaled hour (3.6 s) holds few enough errors, the alert resolves.
    failing.store(false, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !page("resolved").await {
        assert!(std::time::Instant::now() < deadline, "the page alert did not resolve");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    writer.abort();
    assert!(!page("firing").await);

    // The SLO report reads the same source: the spans written, nothing else.
    let slos: Vec<Value> =
        http.get(gc.url(ServiceName::Ops, "/v1/slos")).bearer_auth(&ops).send().await.unwrap().json().await.unwrap();
    let pricing = slos.iter().find(|s| s["name"] == "pricing-availability").unwrap();
    assert!(pricing["counts"]["total"].as_u64().unwrap() >= 40, "{pricing}");
    let identity = slos.iter().find(|s| s["name"] == "identity-availability").unwrap();
    assert_eq!(identity["counts"]["total"], 0, "identity's requests reach no OpenSearch here: {identity}");
}
