//! The SLO source that reads what the telemetry pipeline indexed in OpenSearch, in Data
//! Prepper's layouts (`infra/opensearch/README.md`):
//! - availability and latency from the services' server spans (`otel-v1-apm-span-*`): of
//!   the requests in the window (the same routes the embedded source counts), those not
//!   answered 5xx, and those answered within the threshold. Under head sampling both
//!   counts shrink alike, so the ratio, and with it the burn rate, stays unbiased;
//! - the rest from the metric points (`metrics-otel-v1-*`) of the SLO's `metric` with its
//!   attributes: `gauge_at_most` counts the points at most `max` of all points (each
//!   export is a sample, as each scrape is for the embedded source); `freshness_per_key`
//!   counts, per key, the points whose unix time was at most the key's max age old when
//!   exported (judged per time bucket of 1/500 of the window, by the bucket's oldest
//!   value at its end, so a doubt counts as stale); `ratio` sums the counter's delta
//!   points, of all and of those with the `good_when` attributes.
//!
//! Attribute keys are Data Prepper's: `span.attributes.` and `metric.attributes.` with each
//! `.` of the OpenTelemetry key written `@`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use gigcover_kit::opensearch::OpenSearch;
use reqwest::Method;
use serde_json::{Value, json};

use crate::burn::Counts;
use crate::slo::{Indicator, MetricRef, NOT_API, NOT_LATENCY, Slo};
use crate::source::SignalSource;

pub const SPANS: &str = "otel-v1-apm-span-*";
pub const METRICS: &str = "metrics-otel-v1-*";

pub struct OpenSearchSource {
    pub cluster: OpenSearch,
}

/// Data Prepper's field for a metric point's attribute.
fn metric_attribute(key: &str) -> String {
    format!("metric.attributes.{}", key.replace('.', "@"))
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn terms(attributes: &BTreeMap<String, String>) -> Vec<Value> {
    attributes.iter().map(|(k, v)| json!({"term": {metric_attribute(k): v}})).collect()
}

/// The points of `metric` from `service` within (from, now], with `extra` filters.
fn points(service: &str, metric: &MetricRef, from: DateTime<Utc>, now: DateTime<Utc>, extra: Vec<Value>) -> Value {
    let mut filter = vec![
        json!({"term": {"name": metric.name}}),
        json!({"term": {"serviceName": service}}),
        json!({"range": {"time": {"gt": at(from), "lte": at(now)}}}),
    ];
    filter.extend(terms(&metric.attributes));
    filter.extend(extra);
    json!({"bool": {"filter": filter}})
}

/// A span-name `wildcard` for one of the route patterns of `slo`.
fn wildcard(pattern: &str) -> Value {
    json!({"wildcard": {"name": pattern}})
}

/// The search answering an SLO's counts over (from, now], and how to read its answer.
pub fn query(slo: &Slo, from: DateTime<Utc>, now: DateTime<Utc>) -> anyhow::Result<(&'static str, Value)> {
    let service = slo.service.as_str();
    Ok(match &slo.indicator {
        Indicator::Availability | Indicator::Latency { .. } => {
            let latency = matches!(slo.indicator, Indicator::Latency { .. });
            let mut not: Vec<Value> = NOT_API.iter().map(|p| wildcard(p)).collect();
            if latency {
                not.extend(NOT_LATENCY.iter().map(|p| wildcard(p)));
            }
            let good = match slo.indicator {
                Indicator::Latency { threshold_ms } => {
                    json!({"range": {"durationInNanos": {"lte": u64::from(threshold_ms) * 1_000_000}}})
                }
                _ => {
                    json!({"bool": {"must_not": {"range": {"span.attributes.http@response@status_code": {"gte": 500}}}}})
                }
            };
            let body = json!({
                "size": 0,
                "track_total_hits": true,
                "query": {"bool": {
                    "filter": [
                        {"term": {"serviceName": service}},
                        {"term": {"kind": "SPAN_KIND_SERVER"}},
                        {"range": {"startTime": {"gt": at(from), "lte": at(now)}}}
                    ],
                    "must_not": not
                }},
                "aggs": {"good": {"filter": good}}
            });
            (SPANS, body)
        }
        Indicator::GaugeAtMost { max, metric, .. } => {
            let body = json!({
                "size": 0,
                "track_total_hits": true,
                "query": points(service, metric, from, now, vec![]),
                "aggs": {"good": {"filter": {"range": {"value": {"lte": max}}}}}
            });
            (METRICS, body)
        }
        Indicator::Ratio { metric, good_when, .. } => {
            let body = json!({
                "size": 0,
                "query": points(service, metric, from, now, vec![]),
                "aggs": {
                    "total": {"sum": {"field": "value"}},
                    "good": {"filter": {"bool": {"filter": terms(good_when)}}, "aggs": {"sum": {"sum": {"field": "value"}}}}
                }
            });
            (METRICS, body)
        }
        Indicator::FreshnessPerKey { metric, key, .. } => {
            let value = slo.key().ok_or_else(|| anyhow::anyhow!("{}: a per-key SLO is read per instance", slo.name))?;
            let body = json!({
                "size": 0,
                "query": points(service, metric, from, now, vec![json!({"term": {metric_attribute(key): value}})]),
                "aggs": {"buckets": {
                    "date_histogram": {"field": "time", "fixed_interval": format!("{}s", bucket_secs(now - from)), "min_doc_count": 1},
                    "aggs": {"oldest": {"min": {"field": "value"}}}
                }}
            });
            (METRICS, body)
        }
    })
}

/// A freshness bucket: 1/500 of the window, at least a second.
fn bucket_secs(window: chrono::Duration) -> i64 {
    (window.num_seconds() / 500).max(1)
}

/// Reads the counts out of the answer to `query`.
pub fn counts(slo: &Slo, window: chrono::Duration, answer: &Value) -> anyhow::Result<Counts> {
    let aggs = &answer["aggregations"];
    let number = |v: &Value| v.as_f64().ok_or_else(|| anyhow::anyhow!("{}: no {v} in OpenSearch's answer", slo.name));
    let count = |v: &Value| number(v).map(|n| n.max(0.0).round() as u64);
    // Nothing matched (no index yet, or a quiet window): OpenSearch may leave out the
    // aggregations. A key named with its own age is expected to report: its silence is one
    // reading that is not fresh, as the scrape samples it (`scrape::samples`).
    if answer["hits"]["total"]["value"].as_u64() == Some(0) {
        let expected = slo.key().is_some_and(|key| slo.indicator.named_keys().any(|named| named == key));
        return Ok(if expected { Counts { good: 0, total: 1 } } else { Counts::default() });
    }
    Ok(match &slo.indicator {
        Indicator::Availability | Indicator::Latency { .. } | Indicator::GaugeAtMost { .. } => {
            Counts { good: count(&aggs["good"]["doc_count"])?, total: count(&answer["hits"]["total"]["value"])? }
        }
        Indicator::Ratio { .. } => {
            Counts { good: count(&aggs["good"]["sum"]["value"])?, total: count(&aggs["total"]["value"])? }
        }
        Indicator::FreshnessPerKey { .. } => {
            let max_age_secs = slo
                .key()
                .and_then(|key| slo.indicator.max_age_secs(key))
                .ok_or_else(|| anyhow::anyhow!("{}: a per-key SLO is read per instance", slo.name))?;
            let width = bucket_secs(window) as f64;
            let mut c = Counts::default();
            for b in aggs["buckets"]["buckets"].as_array().into_iter().flatten() {
                let n = count(&b["doc_count"])?;
                let end = number(&b["key"])? / 1000.0 + width;
                let fresh = number(&b["oldest"]["value"]).is_ok_and(|oldest| end - oldest <= max_age_secs);
                c.total += n;
                c.good += if fresh { n } else { 0 };
            }
            c
        }
    })
}

impl OpenSearchSource {
    async fn search(&self, index: &str, body: &Value) -> anyhow::Result<Value> {
        let path = format!("{index}/_search?ignore_unavailable=true&allow_no_indices=true");
        self.cluster.call(Method::POST, &path, Some(body)).await?.ok(&format!("search {index}"))
    }
}

impl SignalSource for OpenSearchSource {
    fn counts<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Counts>> {
        Box::pin(async move {
            let window = chrono::Duration::from_std(window)?;
            let (index, body) = query(slo, now - window, now)?;
            counts(slo, window, &self.search(index, &body).await?)
        })
    }

    fn keys<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        Box::pin(async move {
            let Indicator::FreshnessPerKey { metric, key, .. } = &slo.indicator else {
                return Ok(Vec::new());
            };
            let from = now - chrono::Duration::from_std(window)?;
            let body = json!({
                "size": 0,
                "query": points(&slo.service, metric, from, now, vec![]),
                "aggs": {"keys": {"terms": {"field": metric_attribute(key), "size": 1000, "order": {"_key": "asc"}}}}
            });
            let answer = self.search(METRICS, &body).await?;
            Ok(answer["aggregations"]["keys"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["key"].as_str().map(str::to_owned))
                .collect())
        })
    }
}
