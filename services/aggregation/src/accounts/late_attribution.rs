//! Held activity that its account's link could not see. A write's statement reads the
//! account links as of its start; when a link commits while a write of that account (read
//! unlinked) is still running, the link attributes the held activity it can see, and the
//! write then commits its own activity held, of an account now linked. Only a later link
//! change or a correction of that activity would attribute it. So every
//! `held_sweep_secs` this sweep attributes the held activity of linked accounts and
//! announces it, as the link does.
//!
//! The first sweep of a process looks at every linked account; each later one at the
//! accounts linked since a day before the previous successful sweep began, so a link whose
//! write runs long, or a sweep that failed or did not run for a while, is still covered.
//!
//! It never waits: rows and accounts that another transaction holds (a write, a link, an
//! unlink) are left to the next sweep. So it cannot deadlock with a writer, and it uses
//! each account's link as committed now: an account unlinked meanwhile is not attributed.
//! A link and a sweep never announce one activity twice: each attributes only rows still
//! held.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gigcover_domain::{Interval, WorkerId};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::ingest::events;
use crate::platforms::directory::Directory;

/// How long before the previous successful sweep a link may have been made and still be
/// looked at: longer than any write runs.
const LINK_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::hours(24);

pub async fn run(pool: PgPool, directory: Arc<Directory>, every: Duration, shutdown: CancellationToken) {
    let mut last_success: Option<DateTime<Utc>> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let started = Utc::now();
        let since = last_success.map_or(DateTime::UNIX_EPOCH, |t| t - LINK_OVERLAP);
        match sweep(&pool, &directory, since).await {
            Ok(attributed) => {
                last_success = Some(started);
                if attributed > 0 {
                    tracing::info!(attributed, "held activity of linked accounts attributed");
                }
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "sweep of held activity failed; will retry"),
        }
    }
}

/// An activity the sweep attributed: worker, platform, start, end, retracted.
type AttributedRow = (Uuid, String, DateTime<Utc>, DateTime<Utc>, bool);

/// Attributes the held activity of the accounts linked after `since` (and linked still),
/// and publishes `activity.changed` for it, in one transaction; returns how many
/// activities it attributed.
pub async fn sweep(pool: &PgPool, directory: &Directory, since: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let rows: Vec<AttributedRow> = sqlx::query_as(
        "WITH picked AS (
             SELECT a.platform_id, a.external_id, pa.worker_id
             FROM activities a
             JOIN platform_accounts pa ON pa.platform_id = a.platform_id AND pa.worker_ref = a.worker_ref
             WHERE a.worker_id IS NULL AND pa.worker_id IS NOT NULL
               AND (pa.platform_id, pa.worker_ref) IN
                   (SELECT platform_id, worker_ref FROM account_links WHERE linked_at > $1)
             ORDER BY a.platform_id, a.external_id
             FOR UPDATE OF a SKIP LOCKED
             FOR SHARE OF pa SKIP LOCKED)
         UPDATE activities a SET worker_id = picked.worker_id
         FROM picked
         WHERE a.platform_id = picked.platform_id AND a.external_id = picked.external_id
         RETURNING a.worker_id, a.platform_id, a.starts_at, a.ends_at, a.retracted",
    )
    .bind(since)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // A retracted activity is attributed but, as at the link, announces nothing.
    let mut intervals: BTreeMap<(Uuid, &str), Vec<Interval>> = BTreeMap::new();
    for (worker, platform, starts, ends, retracted) in &rows {
        let entry = intervals.entry((*worker, platform.as_str())).or_default();
        if !retracted {
            entry.push(Interval::new(*starts, *ends)?);
        }
    }
    let mut announced = Vec::new();
    for ((worker, platform), intervals) in intervals {
        let info = directory.get(platform).await?.ok_or_else(|| anyhow::anyhow!("platform {platform} is gone"))?;
        announced.extend(events::attributed(WorkerId::from_uuid(worker), &info, &intervals)?);
    }
    gigcover_feed::publish(tx, &announced).await?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use gigcover_kit::crypto::Sealer;

    use super::*;

    const LINKED: &str = "0190f5a2-0000-7000-8000-00000000000a";
    const BUSY: &str = "0190f5a2-0000-7000-8000-00000000000b";
    const LOCKED_ROW: &str = "0190f5a2-0000-7000-8000-00000000000c";
    const WAS_LINKED: &str = "0190f5a2-0000-7000-8000-00000000000d";

    /// Accounts `linked`, `busy` and `locked-row` (linked), `unlinked` (linked once, unlinked
    /// since) and `never` (never linked), each with one held activity on 2 November.
    async fn setup() -> (PgPool, Directory, gigcover_testkit::TestDatabase) {
        let (pool, db) = crate::adapters::testing::database_with_platform().await;
        for (account, worker, linked_now) in [
            ("linked", Some(LINKED), true),
            ("busy", Some(BUSY), true),
            ("locked-row", Some(LOCKED_ROW), true),
            ("unlinked", Some(WAS_LINKED), false),
            ("never", None, false),
        ] {
            sqlx::query("INSERT INTO platform_accounts (platform_id, worker_ref, worker_id) VALUES ('test-platform', $1, $2::uuid)")
                .bind(account)
                .bind(worker.filter(|_| linked_now))
                .execute(&pool)
                .await
                .unwrap();
            if let Some(w) = worker {
                sqlx::query(
                    "INSERT INTO account_links (platform_id, worker_ref, worker_id, unlinked_at)
                     VALUES ('test-platform', $1, $2::uuid, CASE WHEN $3 THEN NULL ELSE now() END)",
                )
                .bind(account)
                .bind(w)
                .bind(linked_now)
                .execute(&pool)
                .await
                .unwrap();
            }
            hold(&pool, &format!("{account}-1"), account).await;
        }
        let directory = Directory::new(pool.clone(), Sealer::from_key(&[7; 32]));
        (pool, directory, db)
    }

    async fn hold(pool: &PgPool, external_id: &str, account: &str) {
        sqlx::query(
            "INSERT INTO activities (platform_id, external_id, worker_ref, kind, status, starts_at, ends_at, content_hash)
             VALUES ('test-platform', $1, $2, 'engagement', 'completed', '2026-11-02T08:00:00Z', '2026-11-02T08:30:00Z', '\\x00')",
        )
        .bind(external_id)
        .bind(account)
        .execute(pool)
        .await
        .unwrap();
    }

    async fn workers(pool: &PgPool) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT external_id, worker_id::text FROM activities ORDER BY external_id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    async fn announced(pool: &PgPool) -> Vec<serde_json::Value> {
        sqlx::query_scalar("SELECT payload FROM outbox ORDER BY position").fetch_all(pool).await.unwrap()
    }

    /// A sweep that must not wait for anyone.
    async fn sweep_now(pool: &PgPool, directory: &Directory, since: DateTime<Utc>) -> usize {
        tokio::time::timeout(Duration::from_secs(10), sweep(pool, directory, since))
            .await
            .expect("the sweep waited for a lock")
            .unwrap()
    }

    #[tokio::test]
    async fn held_activity_of_linked_accounts_is_attributed_once_and_what_others_hold_is_left_for_later() {
        let (pool, directory, _db) = setup().await;
        // Another transaction holds one account (as a link or an unlink in progress does)
        // and one held activity (as a correction in progress does).
        let mut other = pool.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM platform_accounts WHERE worker_ref = 'busy' FOR UPDATE")
            .execute(&mut *other)
            .await
            .unwrap();
        sqlx::query("SELECT 1 FROM activities WHERE external_id = 'locked-row-1' FOR UPDATE")
            .execute(&mut *other)
            .await
            .unwrap();

        assert_eq!(sweep_now(&pool, &directory, DateTime::UNIX_EPOCH).await, 1);
        let held_but = |attributed: &[(&str, &str)]| {
            ["busy-1", "linked-1", "locked-row-1", "never-1", "unlinked-1"]
                .map(|id| (id.to_owned(), attributed.iter().find(|(a, _)| *a == id).map(|(_, w)| (*w).to_owned())))
                .to_vec()
        };
        assert_eq!(workers(&pool).await, held_but(&[("linked-1", LINKED)]));
        let events = announced(&pool).await;
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0]["worker_id"].clone(), events[0]["days"].clone()),
            (LINKED.into(), serde_json::json!(["2026-11-02"]))
        );

        other.commit().await.unwrap();
        assert_eq!(sweep_now(&pool, &directory, DateTime::UNIX_EPOCH).await, 2);
        assert_eq!(
            workers(&pool).await,
            held_but(&[("busy-1", BUSY), ("linked-1", LINKED), ("locked-row-1", LOCKED_ROW)]),
            "the unlinked and the never linked account's activity stays held"
        );
        assert_eq!(sweep_now(&pool, &directory, DateTime::UNIX_EPOCH).await, 0, "nothing twice");
        assert_eq!(announced(&pool).await.len(), 3);
    }

    #[tokio::test]
    async fn a_later_sweep_looks_only_at_accounts_linked_since() {
        let (pool, directory, _db) = setup().await;
        assert_eq!(sweep_now(&pool, &directory, DateTime::UNIX_EPOCH).await, 3);
        hold(&pool, "linked-2", "linked").await;
        assert_eq!(sweep_now(&pool, &directory, Utc::now()).await, 0, "linked before `since`");
        assert_eq!(sweep_now(&pool, &directory, Utc::now() - LINK_OVERLAP).await, 1);
    }
}
