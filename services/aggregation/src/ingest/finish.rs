//! What every write does after the records themselves: keep the raw records, update the
//! platform's ingestion status, and announce the change.

use gigcover_feed::NewEvent;
use gigcover_telemetry::TraceParent;
use sqlx::PgConnection;

use super::engine::{Counts, ItemStatus, Outcome};
use super::events::activity_changed;
use crate::adapters::{Accepted, RawRecord};
use crate::platforms::directory::PlatformInfo;

/// The raw records of the items this write took in (not replays, not refused ones).
pub fn kept<'a>(items: &'a [Accepted], outcome: &'a Outcome) -> impl Iterator<Item = &'a RawRecord> + Clone {
    items
        .iter()
        .zip(&outcome.statuses)
        .filter(|(_, s)| !matches!(s, ItemStatus::Duplicate | ItemStatus::Rejected))
        .map(|(i, _)| &i.raw)
}

/// The records as NDJSON, and how many there are. The buffer is sized to the records: a
/// webhook's few hundred bytes are held until their group commits.
pub fn ndjson<'a>(raws: impl Iterator<Item = &'a RawRecord> + Clone) -> (i32, Vec<u8>) {
    let mut body = Vec::with_capacity(raws.clone().map(|raw| raw.json().len() + 1).sum());
    let mut records = 0i32;
    for raw in raws {
        body.extend_from_slice(raw.json().as_bytes());
        body.push(b'\n');
        records += 1;
    }
    (records, body)
}

/// Archives `$3` records (NDJSON `$4`) of platform `$1` from source `$2`, when there are any.
macro_rules! insert_archive {
    () => {
        "INSERT INTO raw_archive (platform_id, source, records, body) SELECT $1, $2, $3, $4 WHERE $3 > 0"
    };
}

/// Stores the accepted records, as read (known fields only), as NDJSON (PostgreSQL
/// compresses the column).
pub async fn archive<'a>(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    source: &'static str,
    raws: impl Iterator<Item = &'a RawRecord> + Clone,
) -> anyhow::Result<()> {
    let (records, body) = ndjson(raws);
    if records == 0 {
        return Ok(());
    }
    sqlx::query(insert_archive!())
        .bind(platform.id.as_str())
        .bind(source)
        .bind(records)
        .bind(body)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores `raws` as [`archive`] does and moves the platform's ingestion status forward, in
/// one statement (a round trip less for each write). The status row stays locked
/// until the commit, so call this at the end of a write.
pub async fn record_status<'a>(
    conn: &mut PgConnection,
    platform: &PlatformInfo,
    source: &'static str,
    raws: impl Iterator<Item = &'a RawRecord> + Clone,
    counts: &Counts,
    last_end: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let (records, body) = ndjson(raws);
    sqlx::query(concat!(
        "WITH archived AS (",
        insert_archive!(),
        ")
         INSERT INTO ingestion_status AS s (platform_id, last_received_at, last_event_end_at, accepted_total, rejected_total,
                                            inserted_total, updated_total, unchanged_total, retracted_total,
                                            pending_total, duplicates_total)
         VALUES ($1, now(), $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (platform_id) DO UPDATE SET
             last_received_at = now(),
             last_event_end_at = GREATEST(s.last_event_end_at, EXCLUDED.last_event_end_at),
             accepted_total = s.accepted_total + EXCLUDED.accepted_total,
             rejected_total = s.rejected_total + EXCLUDED.rejected_total,
             inserted_total = s.inserted_total + EXCLUDED.inserted_total,
             updated_total = s.updated_total + EXCLUDED.updated_total,
             unchanged_total = s.unchanged_total + EXCLUDED.unchanged_total,
             retracted_total = s.retracted_total + EXCLUDED.retracted_total,
             pending_total = s.pending_total + EXCLUDED.pending_total,
             duplicates_total = s.duplicates_total + EXCLUDED.duplicates_total"
    ))
    .bind(platform.id.as_str())
    .bind(source)
    .bind(records)
    .bind(body)
    .bind(last_end)
    .bind(total(counts.accepted()))
    .bind(total(counts.rejected))
    .bind(total(counts.inserted))
    .bind(total(counts.updated))
    .bind(total(counts.unchanged))
    .bind(total(counts.retracted))
    .bind(total(counts.pending))
    .bind(total(counts.duplicates))
    .execute(conn)
    .await?;
    Ok(())
}

/// A count as a column's `bigint`.
fn total(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
