//! What every write does after the records themselves: keep the raw records, update the
//! platform's ingestion status, and announce the change.

use gigcover_feed::NewEvent;
use gigcover_telemetry::TraceParent;
use sqlx::PgConnection;

use super::engine::{Counts, ItemStatus, Outcome};
use super::events::activity_changed;
use super::sql::{insert_archive, upsert_status};
use crate::adapters::{Accepted, RawRecord};
use crate::platforms::directory::PlatformInfo;

/// The raw records of the items this write took in (not replays, not refused ones).
pub fn kept<'a>(items: &'a [Accepted], outcome: &'a Outcome) -> impl Iterator<Item = &'a RawRecord> {
    items
        .iter()
        .zip(&outcome.statuses)
        .filter(|(_, s)| !matches!(s, ItemStatus::Duplicate | ItemStatus::Rejected))
        .map(|(i, _)| &i.raw)
}

/// The records as NDJSON, and how many there are.
pub(super) fn ndjson<'a>(raws: impl Iterator<Item = &'a RawRecord>) -> (i32, Vec<u8>) {
    let mut body = Vec::with_capacity(64 * 1024);
    let mut records = 0i32;
    for raw in raws {
        body.extend_from_slice(raw.json().as_bytes());
        body.push(b'\n');
        records += 1;
    }
    (records, body)
}

/// Stores the accepted records, as read (known fields only), as NDJSON (PostgreSQL
/// compresses the column).
pub async fn archive<'a>(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    source: &'static str,
    raws: impl Iterator<Item = &'a RawRecord>,
) -> anyhow::Result<()> {
    let (records, body) = ndjson(raws);
    if records == 0 {
        return Ok(());
    }
    sqlx::query(insert_archive!("$1", "$2", "$3", "$4", "true"))
        .bind(platform.id.as_str())
        .bind(source)
        .bind(records)
        .bind(body)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores `raws` as [`archive`] does and moves the platform's ingestion status forward, in
/// one statement (a round trip less for each webhook group). The status row stays locked
/// until the commit, so call this at the end of a write.
pub async fn record_status<'a>(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    source: &'static str,
    raws: impl Iterator<Item = &'a RawRecord>,
    counts: &Counts,
    last_end: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let (records, body) = ndjson(raws);
    sqlx::query(concat!(
        "WITH archived AS (",
        insert_archive!("$1", "$2", "$3", "$4", "true"),
        ") ",
        upsert_status!("$1", "$5", "$6", "$7", "true")
    ))
    .bind(platform.id.as_str())
    .bind(source)
    .bind(records)
    .bind(body)
    .bind(last_end)
    .bind(i64::try_from(counts.accepted()).unwrap_or(i64::MAX))
    .bind(i64::try_from(counts.rejected).unwrap_or(i64::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

/// `activity.changed` for each worker touched; `trace_of(i)` is the trace of input record `i`.
pub fn events(
    platform: &PlatformInfo,
    outcome: &Outcome,
    trace_of: impl Fn(usize) -> Option<TraceParent>,
) -> anyhow::Result<Vec<NewEvent>> {
    outcome
        .affected
        .iter()
        .map(|(worker, touched)| {
            activity_changed(*worker, &platform.id, platform.time_zone.name(), &touched.days, trace_of(touched.first))
        })
        .collect()
}
