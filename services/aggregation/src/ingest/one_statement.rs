//! New webhook records in one statement. Most webhooks bring records never seen before;
//! for a group of them, the general write costs a transaction of six round trips (begin,
//! event ids, activities, archive and status, feed, commit), each a wake-up on both sides.
//! This writes the same rows with one statement, which Postgres runs as one transaction:
//! the event ids, the activities, the archive, the ingestion status and `activity.changed`.
//!
//! It writes only when that is the whole story: every event id and external id is new and
//! every account link it names its events by still holds. Otherwise it writes nothing and
//! says why; the caller then takes the general path, which handles replays, corrections
//! and pieces.

use std::collections::HashSet;
use std::sync::LazyLock;

use gigcover_telemetry::TraceParent;
use sqlx::PgConnection;

use super::engine::{ItemStatus, Outcome};
use super::finish;
use super::rows::{ActivityColumns, ActivityRow};
use super::sql::{insert_activities, insert_archive, upsert_status};
use super::worker_links::WorkerLinks;
use crate::adapters::{Accepted, Change};
use crate::metrics::IngestMetrics;
use crate::platforms::directory::PlatformInfo;

/// Why the statement wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declined {
    /// Not only new, complete records, each with its own event id and external id.
    NotEligible,
    /// An event id was seen before (a replay).
    KnownEvent,
    /// An external id exists (a correction).
    KnownActivity,
    /// An account was linked or unlinked since its link was read.
    LinkChanged,
}

/// What everything is written under: the checks all passed.
macro_rules! all_new {
    () => {
        "(SELECT new_events AND new_activities AND links_hold FROM checks)"
    };
}

/// Each check looks its rows up one by one by primary key (as the activities insert looks
/// up workers): a set-wise `= ANY` let the planner, with statistics from when the tables
/// were small, scan every row of the platform instead (milliseconds a group, growing).
///
/// The events are published once everything else is stored (`stored` reads every other
/// write, so Postgres runs them first): the status row is then locked before the feed's
/// advisory lock, in the order the general write takes them. In any other order two
/// writers could each hold one lock and wait for the other's.
///
/// Parameters: the platform $1, the activities $2..$14 (`ActivityColumns`), the event ids
/// $15, the worker each activity's account is expected to be linked to $16, the archive
/// (records $17, body $18), the status (latest end $19, accepted $20), the events $21..$25.
static STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH checks AS MATERIALIZED (
             SELECT coalesce(bool_and((SELECT true FROM webhook_events w
                                       WHERE w.platform_id = $1 AND w.event_id = i.event_id) IS NULL), true) AS new_events,
                    coalesce(bool_and((SELECT true FROM activities a
                                       WHERE a.platform_id = $1 AND a.external_id = i.external_id) IS NULL), true) AS new_activities,
                    coalesce(bool_and(i.expected IS NOT DISTINCT FROM
                                      (SELECT pa.worker_id FROM platform_accounts pa
                                       WHERE pa.platform_id = $1 AND pa.worker_ref = i.worker_ref)), true) AS links_hold
             FROM unnest($15::text[], $2::text[], $3::text[], $16::uuid[]) AS i(event_id, external_id, worker_ref, expected)),
         seen AS (INSERT INTO webhook_events (platform_id, event_id)
                  SELECT $1, e.id FROM unnest($15::text[]) AS e(id) WHERE {all_new} ORDER BY e.id RETURNING 1),
         written AS ({insert} RETURNING 1),
         archived AS ({archive} RETURNING 1),
         status AS ({status} RETURNING 1),
         stored AS MATERIALIZED (
             SELECT (SELECT count(*) FROM seen) + (SELECT count(*) FROM written)
                    + (SELECT count(*) FROM archived) + (SELECT count(*) FROM status) AS rows),
         {publish}
         SELECT new_events, new_activities, links_hold FROM checks",
        all_new = all_new!(),
        insert = insert_activities!(concat!("WHERE ", all_new!())),
        archive = insert_archive!("$1", "'webhook'", "$17", "$18", all_new!()),
        status = upsert_status!("$1", "$19", "$20", "0", all_new!()),
        publish = gigcover_feed::publish_ctes(21, "(SELECT rows FROM stored) > 0"),
    )
});

/// Writes `items` (one platform's records) in one statement when they are all new;
/// `Err(why)` when it wrote nothing. `trace_of(i)` is the trace of record `i`.
pub async fn write(
    conn: &mut PgConnection,
    links: &WorkerLinks,
    platform: &PlatformInfo,
    items: &[Accepted],
    metrics: &IngestMetrics,
    trace_of: impl Fn(usize) -> Option<TraceParent>,
) -> anyhow::Result<Result<Outcome, Declined>> {
    let Some((event_ids, activities)) = eligible(items) else { return Ok(Err(Declined::NotEligible)) };
    let refs: Vec<&str> = activities.iter().map(|a| a.worker_ref.as_str()).collect();
    let workers = links.resolve(conn, platform.id.as_str(), &refs).await?;

    let mut outcome = Outcome { statuses: vec![ItemStatus::Inserted; items.len()], ..Outcome::default() };
    let mut columns = ActivityColumns::default();
    for (i, (activity, worker)) in activities.iter().zip(&workers).enumerate() {
        outcome.touch(i, *worker, activity.interval, platform.time_zone);
        outcome.last_end = outcome.last_end.max(Some(activity.interval.end()));
        columns.push(ActivityRow::from(*activity));
    }
    let events = finish::events(platform, &outcome, trace_of)?;
    let event_columns = gigcover_feed::EventColumns::of(&events);
    let (records, body) = finish::ndjson(items.iter().map(|i| &i.raw));
    let query = columns.bind_to(sqlx::query_as(STATEMENT.as_str()).bind(platform.id.as_str()));
    let query = query
        .bind(&event_ids)
        .bind(&workers)
        .bind(records)
        .bind(body)
        .bind(outcome.last_end)
        .bind(i64::try_from(items.len()).unwrap_or(i64::MAX));
    let (new_events, new_activities, links_hold): (bool, bool, bool) =
        event_columns.bind_to(query).fetch_one(&mut *conn).await?;
    if !links_hold {
        links.forget(platform.id.as_str(), &refs);
    }
    if !new_events {
        return Ok(Err(Declined::KnownEvent));
    }
    if !new_activities {
        return Ok(Err(Declined::KnownActivity));
    }
    if !links_hold {
        return Ok(Err(Declined::LinkChanged));
    }
    let now = chrono::Utc::now();
    for a in &activities {
        metrics.lag(&platform.id, a.interval.end(), now);
    }
    Ok(Ok(outcome))
}

/// The event ids and activities of `items` when each is a complete record with an event
/// id, and no event id or external id comes twice.
fn eligible(items: &[Accepted]) -> Option<(Vec<&str>, Vec<&gigcover_domain::Activity>)> {
    let mut event_ids = Vec::with_capacity(items.len());
    let mut activities = Vec::with_capacity(items.len());
    let mut seen_events = HashSet::with_capacity(items.len());
    let mut seen_ids = HashSet::with_capacity(items.len());
    for item in items {
        let (Some(event_id), Change::Upsert(activity)) = (item.event_id.as_deref(), &item.change) else { return None };
        if !seen_events.insert(event_id) || !seen_ids.insert(activity.external_id.as_str()) {
            return None;
        }
        event_ids.push(event_id);
        activities.push(activity);
    }
    Some((event_ids, activities))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use sqlx::PgPool;

    use super::*;
    use crate::adapters::parse_json;
    use crate::adapters::testing::{ctx, database_with_platform, platform};
    use crate::platforms::model::Adapter;

    struct Setup {
        pool: PgPool,
        platform: Arc<PlatformInfo>,
        links: WorkerLinks,
        metrics: IngestMetrics,
        _db: gigcover_testkit::TestDatabase,
    }

    const WORKER_A: &str = "0190f5a2-0000-7000-8000-00000000000a";
    const WORKER_B: &str = "0190f5a2-0000-7000-8000-00000000000b";

    async fn setup() -> Setup {
        let (pool, db) = database_with_platform().await;
        sqlx::query("INSERT INTO platform_accounts (platform_id, worker_ref, worker_id) VALUES ('test-platform', 'w1', $1::uuid)")
            .bind(WORKER_A)
            .execute(&pool)
            .await
            .unwrap();
        let platform = platform(Adapter::GigRecords);
        Setup { pool, platform, links: WorkerLinks::new(100), metrics: IngestMetrics::new(), _db: db }
    }

    /// A gig of worker `w1` on 2 November, with an event id unless `event` is empty.
    fn gig(s: &Setup, id: &str, event: &str, hour: u32) -> Accepted {
        let mut record = json!({"id": id, "worker": "w1",
            "start_datetime": format!("2026-11-02T{hour:02}:00:00Z"), "end_datetime": format!("2026-11-02T{hour:02}:30:00Z"),
            "income": {"currency": "EUR", "pay": "7.50"}});
        if !event.is_empty() {
            record["event_id"] = json!(event);
        }
        parse_json(record, &ctx(&s.platform)).unwrap()
    }

    async fn write_now(s: &Setup, items: &[Accepted]) -> Result<Outcome, Declined> {
        let mut conn = s.pool.acquire().await.unwrap();
        write(&mut conn, &s.links, &s.platform, items, &s.metrics, |_| None).await.unwrap()
    }

    /// Rows of every table the statement writes, and the status's accepted total.
    async fn stored(s: &Setup) -> [i64; 5] {
        let count = |table: &'static str| {
            let pool = s.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let accepted: Option<i64> =
            sqlx::query_scalar("SELECT accepted_total FROM ingestion_status").fetch_optional(&s.pool).await.unwrap();
        [
            count("activities").await,
            count("webhook_events").await,
            count("raw_archive").await,
            count("outbox").await,
            accepted.unwrap_or(0),
        ]
    }

    async fn changes_of(s: &Setup, worker: &str) -> Vec<Value> {
        sqlx::query_scalar("SELECT payload FROM outbox WHERE payload->>'worker_id' = $1 ORDER BY position")
            .bind(worker)
            .fetch_all(&s.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn new_records_are_written_whole_with_their_archive_status_and_event() {
        let s = setup().await;
        let outcome = write_now(&s, &[gig(&s, "g1", "e1", 8), gig(&s, "g2", "e2", 9)]).await.unwrap();
        assert_eq!(outcome.statuses, [ItemStatus::Inserted, ItemStatus::Inserted]);
        assert_eq!(stored(&s).await, [2, 2, 1, 1, 2], "activities, event ids, one archive, one event, status");
        let workers: Vec<Option<uuid::Uuid>> =
            sqlx::query_scalar("SELECT worker_id FROM activities ORDER BY external_id")
                .fetch_all(&s.pool)
                .await
                .unwrap();
        assert_eq!(workers, vec![Some(WORKER_A.parse().unwrap()); 2]);
        let archived: (String, i32, Vec<u8>) =
            sqlx::query_as("SELECT source, records, body FROM raw_archive").fetch_one(&s.pool).await.unwrap();
        assert_eq!((archived.0.as_str(), archived.1), ("webhook", 2));
        assert_eq!(String::from_utf8(archived.2).unwrap().lines().count(), 2);
        let last_end: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT last_event_end_at FROM ingestion_status").fetch_one(&s.pool).await.unwrap();
        assert_eq!(last_end.to_rfc3339(), "2026-11-02T09:30:00+00:00");
        let changes = changes_of(&s, WORKER_A).await;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["days"], json!(["2026-11-02"]));
        assert_eq!(changes[0]["platform"], "test-platform");
    }

    #[tokio::test]
    async fn anything_but_new_records_is_declined_with_nothing_written() {
        let s = setup().await;
        write_now(&s, &[gig(&s, "g1", "e1", 8)]).await.unwrap();
        let before = stored(&s).await;
        let declined = [
            (vec![gig(&s, "g2", "e1", 9)], Declined::KnownEvent),
            (vec![gig(&s, "g1", "e2", 10)], Declined::KnownActivity),
            (vec![gig(&s, "g3", "", 11)], Declined::NotEligible),
            (vec![gig(&s, "g4", "e4", 12), gig(&s, "g4", "e5", 13)], Declined::NotEligible),
            (vec![gig(&s, "g6", "e6", 14), gig(&s, "g7", "e6", 15)], Declined::NotEligible),
            // A new record beside a known one: the group is declined whole.
            (vec![gig(&s, "g8", "e8", 16), gig(&s, "g1", "e9", 17)], Declined::KnownActivity),
        ];
        for (items, why) in declined {
            assert_eq!(write_now(&s, &items).await.unwrap_err(), why);
            assert_eq!(stored(&s).await, before, "{why:?} wrote nothing");
        }
    }

    #[tokio::test]
    async fn a_concurrent_write_of_the_same_event_fails_the_statement_whole() {
        let s = setup().await;
        // Another writer has inserted the event id and not committed yet: the checks cannot
        // see it, so the statement's insert waits for it and then fails.
        let mut other = s.pool.begin().await.unwrap();
        sqlx::query("INSERT INTO webhook_events (platform_id, event_id) VALUES ('test-platform', 'e1')")
            .execute(&mut *other)
            .await
            .unwrap();
        let racing = {
            let s = &s;
            async move {
                let mut conn = s.pool.acquire().await.unwrap();
                write(&mut conn, &s.links, &s.platform, &[gig(s, "g1", "e1", 8)], &s.metrics, |_| None).await
            }
        };
        let commit_once_it_waits = async {
            // Commit only once the statement waits for this transaction's row.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&s.pool)
            .await
            .unwrap()
                == 0
            {
                assert!(std::time::Instant::now() < deadline, "the statement never waited for the other writer");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            other.commit().await.unwrap();
        };
        let (result, ()) = tokio::join!(racing, commit_once_it_waits);
        let error = result.expect_err("the statement fails whole");
        assert!(format!("{error:#}").contains("webhook_events_pkey"), "{error:#}");
        assert_eq!(stored(&s).await, [0, 1, 0, 0, 0], "only the other writer's event id");
    }

    #[tokio::test]
    async fn a_link_changed_since_it_was_read_declines_and_is_read_again() {
        let s = setup().await;
        write_now(&s, &[gig(&s, "g1", "e1", 8)]).await.unwrap();
        // The account moves to another worker after its link was read.
        sqlx::query("UPDATE platform_accounts SET worker_id = $1::uuid WHERE worker_ref = 'w1'")
            .bind(WORKER_B)
            .execute(&s.pool)
            .await
            .unwrap();
        let before = stored(&s).await;
        let next = [gig(&s, "g2", "e2", 9)];
        assert_eq!(write_now(&s, &next).await.unwrap_err(), Declined::LinkChanged);
        assert_eq!(stored(&s).await, before);
        write_now(&s, &next).await.unwrap();
        let worker: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT worker_id FROM activities WHERE external_id = 'g2'")
                .fetch_one(&s.pool)
                .await
                .unwrap();
        assert_eq!(worker, Some(WORKER_B.parse().unwrap()));
        assert_eq!(changes_of(&s, WORKER_B).await.len(), 1, "the event names the worker linked now");
        assert_eq!(changes_of(&s, WORKER_A).await.len(), 1, "only g1's");
    }
}
