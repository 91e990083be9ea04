//! Reading every service's signals (`GET /internal/signals`, as a service) and turning
//! them into SLO samples: per SLO, the good and total events since the previous scrape. A
//! counter that went down, or a new `since`, means the service restarted: its counts start
//! again from zero. A service that cannot be read counts as one bad event for its
//! availability (a service that is down cannot report its own errors).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gigcover_kit::ServiceName;
use gigcover_kit::client::ServiceClient;
use gigcover_kit::signals::{RouteCounts, Snapshot};
use sqlx::PgPool;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::burn::Counts;
use crate::slo::{Indicator, Slo, counts_route};

/// The cumulative good and total counts an SLO reads from a snapshot (`None`: no data).
pub fn cumulative(slo: &Slo, snap: &Snapshot) -> Option<Counts> {
    match &slo.indicator {
        Indicator::Availability => Some(route_counts(slo, snap, |r| r.requests - r.errors.min(r.requests))),
        Indicator::Latency { threshold_ms } => {
            Some(route_counts(slo, snap, |r| r.within_ms.get(threshold_ms).copied().unwrap_or(0)))
        }
        Indicator::Ratio { good, total, .. } => {
            let (g, t) = (snap.gauges.get(good).copied().unwrap_or(0.0), snap.gauges.get(total).copied()?);
            Some(Counts { good: g.max(0.0) as u64, total: t.max(0.0) as u64 })
        }
        Indicator::GaugeAtMost { .. } | Indicator::FreshnessPerKey { .. } => None,
    }
}

/// Requests of the routes `slo` counts, and of them those `good` says are good.
fn route_counts(slo: &Slo, snap: &Snapshot, good: impl Fn(&RouteCounts) -> u64) -> Counts {
    snap.routes
        .iter()
        .filter(|(route, _)| counts_route(&slo.indicator, route))
        .fold(Counts::default(), |c, (_, r)| Counts { good: c.good + good(r), total: c.total + r.requests })
}

/// Every sample an SLO takes from a snapshot at `now` (unix seconds): one, or one per key.
pub fn samples(slo: &Slo, previous: Option<&Snapshot>, snap: &Snapshot, now: f64) -> Vec<(String, Counts)> {
    if let Indicator::FreshnessPerKey { gauge_prefix, .. } = &slo.indicator {
        let mut out: Vec<(String, Counts)> = snap
            .gauges
            .iter()
            .filter_map(|(name, at)| {
                let key = name.strip_prefix(gauge_prefix.as_str())?;
                let fresh = now - *at <= slo.indicator.max_age_secs(key)?;
                Some((format!("{}/{key}", slo.name), Counts { good: u64::from(fresh), total: 1 }))
            })
            .collect();
        // A key named with its own age that the service does not report at all is not fresh.
        for key in slo.indicator.named_keys() {
            if !snap.gauges.contains_key(&format!("{gauge_prefix}{key}")) {
                out.push((format!("{}/{key}", slo.name), Counts { good: 0, total: 1 }));
            }
        }
        return out;
    }
    sample(slo, previous, snap).map(|c| vec![(slo.name.clone(), c)]).unwrap_or_default()
}

/// The sample between two snapshots of the same service.
pub fn sample(slo: &Slo, previous: Option<&Snapshot>, now: &Snapshot) -> Option<Counts> {
    if let Indicator::GaugeAtMost { gauge, max, .. } = &slo.indicator {
        let value = now.gauges.get(gauge)?;
        return Some(Counts { good: u64::from(*value <= *max), total: 1 });
    }
    let current = cumulative(slo, now)?;
    let before = previous.filter(|p| p.since == now.since).and_then(|p| cumulative(slo, p));
    Some(match before {
        Some(b) if b.total <= current.total && b.good <= current.good => {
            Counts { good: current.good - b.good, total: current.total - b.total }
        }
        _ => current,
    })
}

pub struct Scraper {
    pub pool: PgPool,
    pub slos: Arc<Vec<Slo>>,
    pub clients: Vec<(ServiceName, ServiceClient)>,
    pub previous: Mutex<HashMap<ServiceName, Snapshot>>,
}

/// Scrapes every `every` until `shutdown` (the scraper is shared with the dashboard, which
/// shows the latest gauges).
pub async fn run(scraper: actix_web::web::Data<Scraper>, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = scraper.round().await {
            tracing::warn!(error = %e, "reading the services' signals failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

impl Scraper {
    pub async fn round(&self) -> anyhow::Result<()> {
        let now = chrono::Utc::now();
        let (mut names, mut goods, mut totals) = (Vec::new(), Vec::new(), Vec::new());
        for (service, client) in &self.clients {
            let slos: Vec<&Slo> = self.slos.iter().filter(|s| s.service == service.as_str()).collect();
            if slos.is_empty() {
                continue;
            }
            match client.get_json::<Snapshot>("/internal/signals").await {
                Ok(snap) => {
                    let mut previous = self.previous.lock().await;
                    let unix = now.timestamp_millis() as f64 / 1000.0;
                    for slo in &slos {
                        for (name, c) in samples(slo, previous.get(service), &snap, unix) {
                            names.push(name);
                            goods.push(c.good as i64);
                            totals.push(c.total as i64);
                        }
                    }
                    previous.insert(*service, snap);
                }
                Err(e) => {
                    tracing::warn!(%service, error = %e, "a service's signals could not be read");
                    for slo in slos.iter().filter(|s| s.indicator == Indicator::Availability) {
                        names.push(slo.name.clone());
                        goods.push(0);
                        totals.push(1);
                    }
                }
            }
        }
        sqlx::query(
            "INSERT INTO slo_samples (slo, at, good, total) SELECT s, $1, g, t FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS x(s, g, t)",
        )
        .bind(now)
        .bind(&names)
        .bind(&goods)
        .bind(&totals)
        .execute(&self.pool)
        .await?;
        // Samples older than the longest window any SLO reads are not needed.
        let keep_days = self.slos.iter().map(|s| s.window_days).max().unwrap_or(30).max(3);
        sqlx::query("DELETE FROM slo_samples WHERE at < $1 - make_interval(days => $2)")
            .bind(now)
            .bind(keep_days as i32)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gigcover_kit::signals::RouteCounts;

    fn snap(since: &str, requests: u64, errors: u64) -> Snapshot {
        let mut s = Snapshot { since: Some(since.parse().unwrap()), ..Snapshot::default() };
        s.routes.insert("GET /v1/products".into(), RouteCounts { requests, errors, ..RouteCounts::default() });
        s.routes.insert("GET /readyz".into(), RouteCounts { requests: 1000, errors: 1000, ..RouteCounts::default() });
        s
    }

    #[test]
    fn freshness_is_sampled_per_platform() {
        let slo = crate::slo::defaults().unwrap().into_iter().find(|s| s.name == "ingestion-freshness").unwrap();
        let mut snap = Snapshot::default();
        snap.gauges.insert("ingest.last_event_unix.eats".into(), 1_000_000.0);
        snap.gauges.insert("ingest.last_event_unix.rides".into(), 1_000_000.0 - 90_000.0);
        snap.gauges.insert("feed.lag.aggregation".into(), 3.0);
        let got = samples(&slo, None, &snap, 1_000_100.0);
        assert_eq!(
            got,
            vec![
                ("ingestion-freshness/eats".to_owned(), Counts { good: 1, total: 1 }),
                ("ingestion-freshness/rides".to_owned(), Counts { good: 0, total: 1 }),
            ]
        );

        // rides sends nightly batches: its own age, 36 hours, makes 25 hours fresh.
        let mut nightly = slo.clone();
        let Indicator::FreshnessPerKey { max_age_secs_by_key, .. } = &mut nightly.indicator else { unreachable!() };
        max_age_secs_by_key.insert("rides".into(), 36.0 * 3600.0);
        let got = samples(&nightly, None, &snap, 1_000_100.0);
        assert_eq!(got[1], ("ingestion-freshness/rides".to_owned(), Counts { good: 1, total: 1 }));
        assert_eq!(got[0].1, Counts { good: 1, total: 1 });
        assert_eq!(got.len(), 2, "the keys reported, no other");

        // A key named with its own age that no gauge reports (a platform that never sent,
        // a misspelt id) is sampled as not fresh; one not named is not sampled at all.
        let Indicator::FreshnessPerKey { max_age_secs_by_key, .. } = &mut nightly.indicator else { unreachable!() };
        max_age_secs_by_key.insert("ridez".into(), 36.0 * 3600.0);
        let got = samples(&nightly, None, &snap, 1_000_100.0);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], ("ingestion-freshness/ridez".to_owned(), Counts { good: 0, total: 1 }));
    }

    #[test]
    fn samples_are_differences_and_a_restart_starts_again() {
        let slo = crate::slo::defaults().unwrap().into_iter().find(|s| s.name == "pricing-availability").unwrap();
        let a = snap("2026-11-29T00:00:00Z", 100, 1);
        let b = snap("2026-11-29T00:00:00Z", 150, 11);
        assert_eq!(sample(&slo, Some(&a), &b), Some(Counts { good: 40, total: 50 }), "health is not counted");
        let restarted = snap("2026-11-29T01:00:00Z", 5, 0);
        assert_eq!(sample(&slo, Some(&b), &restarted), Some(Counts { good: 5, total: 5 }));
        assert_eq!(sample(&slo, None, &a), Some(Counts { good: 99, total: 100 }));
    }
}
