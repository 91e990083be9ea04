//! Killing the service (SIGKILL) while platforms send webhooks loses none it answered 202
//! and applies none twice: after a restart the inbox is applied, and the platforms'
//! retries of what was never answered change nothing more.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use gigcover_e2e::{Gigcover, Scenario};
use gigcover_kit::ServiceName;
use gigcover_localpg::LocalPostgres;
use serde_json::json;

/// Webhooks the platform has to send, each one event with its own event id.
const EVENTS: usize = 20_000;
/// Concurrent senders.
const SENDERS: usize = 16;

fn event(i: usize) -> Vec<u8> {
    let minute = i % 600;
    json!({"id": format!("g{i}"), "event_id": format!("ev{i}"), "worker": format!("w{}", i % 200),
           "start_datetime": format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i % 20, 6 + minute / 60, minute % 60),
           "end_datetime": format!("2026-11-{:02}T{:02}:{:02}:30Z", 1 + i % 20, 6 + minute / 60, minute % 60),
           "income": {"pay": "4.00"}})
    .to_string()
    .into_bytes()
}

/// Posts webhook `i`, signed now; true when it was answered 202.
async fn send(http: &reqwest::Client, url: &str, secret: &str, i: usize) -> bool {
    let body = event(i);
    let signature = gigcover_kit::signature::sign(secret.as_bytes(), chrono::Utc::now().timestamp(), &body);
    let res = http
        .post(url)
        .header("content-type", "application/json")
        .header(gigcover_kit::signature::HEADER, signature)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    matches!(res, Ok(r) if r.status() == 202)
}

async fn scalar(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_cut_by_sigkill_lose_nothing_answered_and_apply_nothing_twice() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("aggregation", &[]);
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let registered = Scenario::new(&gc).await.platform("rush").await;
    let secret = registered["webhook_secret"]["secret"].as_str().unwrap().to_owned();
    let http = gigcover_kit::client::http();
    let url = gc.url(ServiceName::Aggregation, "/v1/platforms/rush/events");

    // Senders take the next event until the service is gone.
    let next = Arc::new(Mutex::new(0usize));
    let answered = Arc::new(Mutex::new(HashSet::new()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
            let (next, answered) = (Arc::clone(&next), Arc::clone(&answered));
            tokio::spawn(async move {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    if i >= EVENTS || !send(&http, &url, &secret, i).await {
                        return;
                    }
                    answered.lock().unwrap().insert(i);
                }
            })
        })
        .collect();
    // Kill once a good part is answered (some applied, some waiting in the inbox).
    while answered.lock().unwrap().len() < EVENTS / 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gc.kill();
    for s in senders {
        s.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let sent = (*next.lock().unwrap()).min(EVENTS);
    assert!(answered.len() < EVENTS, "the kill came too late to cut anything");

    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
    let waiting = scalar(&pool, "SELECT count(*) FROM aggregation.webhook_inbox").await;
    assert!(waiting > 0, "the kill should find webhooks stored and not yet applied (the applier lingers)");
    gc.restart();
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let applied = async |pool: &sqlx::PgPool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while scalar(pool, "SELECT count(*) FROM aggregation.webhook_inbox").await > 0 {
            assert!(std::time::Instant::now() < deadline, "the inbox was not applied after the restart");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    applied(&pool).await;

    // Every webhook answered 202 is stored, once.
    let stored: HashSet<usize> =
        sqlx::query_scalar::<_, String>("SELECT external_id FROM aggregation.activities WHERE platform_id = 'rush'")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.trim_start_matches('g').parse().unwrap())
            .collect();
    let lost: Vec<&usize> = answered.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} answered webhooks lost (of {}), e.g. {:?}",
        lost.len(),
        answered.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(stored.iter().all(|i| *i < sent), "only what was sent is stored");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM aggregation.activities WHERE version <> 1").await, 0);
    eprintln!(
        "{} sent, {} answered 202 before the kill, {} waiting in the inbox at the kill, {} stored",
        sent,
        answered.len(),
        waiting,
        stored.len()
    );

    // The platform retries what was not answered, and everything else once more: nothing
    // is applied twice.
    let retried: Vec<bool> =
        futures::stream::iter(0..sent).map(|i| send(&http, &url, &secret, i)).buffer_unordered(SENDERS).collect().await;
    assert!(retried.iter().all(|ok| *ok), "every retry is answered 202 after the restart");
    applied(&pool).await;
    assert_eq!(scalar(&pool, "SELECT count(*) FROM aggregation.activities").await, sent as i64);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM aggregation.activities WHERE version <> 1").await, 0);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM aggregation.webhook_events").await, sent as i64);
    let status: (i64, i64) = sqlx::query_as(
        "SELECT inserted_total, duplicates_total FROM aggregation.ingestion_status WHERE platform_id = 'rush'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        status,
        (sent as i64, stored.len() as i64),
        "each inserted once; what was stored came again as a duplicate"
    );
    pool.close().await;
}
