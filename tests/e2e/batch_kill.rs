//! Killing the service (SIGKILL) in the middle of a large batch and replaying the batch with
//! the same idempotency key leaves every record stored exactly once.

use std::time::Duration;

use futures::StreamExt as _;
use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use serde_json::{Value, json};

const RECORDS: usize = 150_000;

fn body() -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORDS * 220);
    for i in 0..RECORDS {
        let day = 1 + (i % 28);
        let minute = i % 600;
        let line = json!({"id": format!("g{i}"), "worker": format!("w{}", i % 500),
            "start_datetime": format!("2026-10-{day:02}T{:02}:{:02}:00Z", 6 + minute / 60, minute % 60),
            "end_datetime": format!("2026-10-{day:02}T{:02}:{:02}:30Z", 6 + minute / 60, minute % 60),
            "distance": "2.5", "income": {"pay": "4.10", "tips": "0.50"}});
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

async fn count(url: &str, sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_cut_by_sigkill_and_replayed_with_its_key_is_stored_exactly_once() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("aggregation", &[]);
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let http = gigcover_kit::client::http();
    let res = http
        .post(gc.url(ServiceName::Aggregation, "/v1/platforms"))
        .bearer_auth(gc.keys.ops_token())
        .json(&json!({"id": "bulk", "name": "Bulk", "market": {"country": "NL", "time_zone": "Europe/Amsterdam", "currency": "EUR"},
                      "category": "parcel_courier", "adapter": "gig_records"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = gc.keys.token(Role::Platform, "bulk-client", Some("bulk"));
    let url = gc.url(ServiceName::Aggregation, "/v1/platforms/bulk/batches");
    let body = body();

    // Stream the batch slowly enough that the kill lands in the middle of it.
    let chunks: Vec<Vec<u8>> = body.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
    let total_chunks = chunks.len();
    let slow = futures::stream::iter(chunks).then(|c| async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        Ok::<_, std::io::Error>(c)
    });
    let send = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .header("idempotency-key", "october-load")
        .body(reqwest::Body::wrap_stream(slow))
        .send();
    let cut = tokio::spawn(send);
    tokio::time::sleep(Duration::from_millis(40 * total_chunks as u64 / 2)).await;
    gc.kill();
    let first = cut.await.unwrap();
    assert!(first.is_err() || !first.unwrap().status().is_success(), "the first attempt must not have completed");

    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM aggregation.activities").await,
        0,
        "the cut batch left nothing behind"
    );

    gc.restart();
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let send = || {
        http.post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "october-load")
            .body(body.clone())
            .timeout(Duration::from_secs(300))
            .send()
    };
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 200);
    let result: Value = replay.json().await.unwrap();
    assert_eq!(result["inserted"], RECORDS, "{result}");
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), result);

    let url = pg.url();
    assert_eq!(count(&url, "SELECT count(*) FROM aggregation.activities").await, RECORDS as i64);
    assert_eq!(
        count(&url, "SELECT count(*) FROM aggregation.activities WHERE version <> 1").await,
        0,
        "no record applied twice"
    );
    assert_eq!(count(&url, "SELECT count(*) FROM aggregation.activity_history").await, 0);
    assert_eq!(count(&url, "SELECT count(*) FROM aggregation.idempotency_keys").await, 1);
}
