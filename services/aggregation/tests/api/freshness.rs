//! The freshness SLO's gauge: each platform's latest activity end, as the database holds it.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::harness::{Harness, gig};

/// The platform's `ingest.last_event_unix` gauge in aggregation's signals, as the ops
/// service reads them.
async fn gauge(h: &Harness, platform: &str) -> Option<f64> {
    let res = h.get("/internal/signals").bearer_auth(h.app.keys.service_token("ops")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let signals: Value = res.json().await.unwrap();
    signals["gauges"][format!("ingest.last_event_unix.{platform}")].as_f64()
}

/// Waits (10 s at most) until the platform's gauge says `end`.
async fn gauge_becomes(h: &Harness, platform: &str, end: DateTime<Utc>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = gauge(h, platform).await;
        if now == Some(end.timestamp() as f64) {
            return;
        }
        assert!(Instant::now() < deadline, "{platform}'s gauge says {now:?}, not {end}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One gig record of 30 minutes ending at `end`, as a batch line.
fn ending_at(id: &str, end: DateTime<Utc>) -> String {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    format!("{}\n", gig(id, "w1", &at(end - chrono::Duration::minutes(30)), &at(end), "5"))
}

/// Sets the platform's latest activity end in the database, as another instance's write
/// (or one before this instance started) would have.
async fn written_elsewhere(h: &Harness, platform: &str, end: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO aggregation.ingestion_status (platform_id, last_received_at, last_event_end_at) VALUES ($1, $2, $2)
         ON CONFLICT (platform_id) DO UPDATE SET last_event_end_at = EXCLUDED.last_event_end_at",
    )
    .bind(platform)
    .bind(end)
    .execute(&h.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_freshness_gauge_follows_the_latest_activity_end_in_the_database_and_late_data_does_not_set_it_back() {
    let h = Harness::start_with(|c| c.with("aggregation.freshness_refresh_secs", 1)).await;
    h.platform("fresheats", "gig_records", "Europe/Berlin", "EUR").await;
    let now = Utc::now();
    let recent = now - chrono::Duration::minutes(10);
    let res = h.batch("fresheats", "application/x-ndjson", ending_at("recent", recent), None).await;
    assert_eq!(res.status(), 200);
    gauge_becomes(&h, "fresheats", recent).await;

    // A record three days late (normal): stored, and the platform is no staler for it.
    let late = now - chrono::Duration::days(3);
    let res = h.batch("fresheats", "application/x-ndjson", ending_at("late", late), None).await;
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["inserted"], 1, "{r}");
    // Long enough for the write's wake-up and a refresh.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(gauge(&h, "fresheats").await, Some(recent.timestamp() as f64), "late data set the time back");

    // Another instance's write, as the database has it: this instance reports it too.
    let elsewhere = now - chrono::Duration::minutes(1);
    written_elsewhere(&h, "fresheats", elsewhere).await;
    gauge_becomes(&h, "fresheats", elsewhere).await;

    // A platform that went quiet before this instance started (a deploy): reported, so
    // its freshness SLO sees it stale instead of not at all.
    h.platform("quietrides", "gig_records", "Europe/Berlin", "EUR").await;
    let quiet = now - chrono::Duration::days(2);
    written_elsewhere(&h, "quietrides", quiet).await;
    gauge_becomes(&h, "quietrides", quiet).await;
}

#[tokio::test]
async fn a_write_has_the_freshness_gauge_read_again_within_seconds_without_waiting_for_the_refresh() {
    let h = Harness::start_with(|c| c.with("aggregation.freshness_refresh_secs", 3600)).await;
    h.platform("wakeeats", "gig_records", "Europe/Berlin", "EUR").await;
    let end = Utc::now() - chrono::Duration::minutes(5);
    let res = h.batch("wakeeats", "application/x-ndjson", ending_at("g1", end), None).await;
    assert_eq!(res.status(), 200);
    // The refresh is an hour away: only the write's wake-up can publish it this soon.
    gauge_becomes(&h, "wakeeats", end).await;
}
