//! `gigcover demo` (what `scripts/run` starts): every service comes up, the demo data loads
//! through the APIs with the services calling each other on identity-issued tokens, a demo
//! worker signs in with the development login and reads their hours; loading again after a
//! restart changes nothing.

use std::time::{Duration, Instant};

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_localpg::LocalPostgres;
use serde_json::{Value, json};

const DEMO_WORKER: &str = "6c0fe200-0000-0000-0000-000000000000";

async fn wait_for_summary(gc: &Gigcover, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(240);
    while gc.logs().matches("== gigcover demo ==").count() < times {
        assert!(Instant::now() < deadline, "the demo data did not load:\n{}", gc.logs());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_loads_its_data_once_and_a_demo_worker_reads_their_hours() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("demo", &[("GIGCOVER_DEMO__TICK_MS", "200".into())]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    wait_for_summary(&gc, 1).await;
    let http = gigcover_kit::client::http();
    let login: Value = http
        .post(gc.url(ServiceName::Identity, "/v1/dev/worker-login"))
        .json(&json!({"worker_id": DEMO_WORKER}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(28);
    let path = format!("/v1/workers/{DEMO_WORKER}/hours?from={from}&to={today}&granularity=week");
    // Enrichment catches up with aggregation's feed on its own.
    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
    gc.wait_for_enrichment(&pool, Duration::from_secs(120)).await;
    let res = http.get(gc.url(ServiceName::Enrichment, &path)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let hours: Value = res.json().await.unwrap();
    assert!(hours["periods"].as_array().is_some_and(|p| p.len() >= 4), "{hours}");
    let platforms: Vec<&str> =
        hours["periods"][1]["platforms"].as_array().unwrap().iter().map(|p| p["platform"].as_str().unwrap()).collect();
    assert_eq!(platforms, vec!["eats-berlin", "parcels-berlin", "rides-berlin"], "{hours}");

    // The simulation keeps going: jobs, quotes, claims and acme's decisions.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (jobs, quotes, decided): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM aggregation.activities WHERE external_id LIKE 'sim-%'),
                    (SELECT count(*) FROM pricing.quotes),
                    (SELECT count(*) FROM claims.outbox WHERE event_type = 'claim.decided')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if jobs > 0 && quotes > 0 && decided > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the simulation did not get going: {jobs} jobs, {quotes} quotes, {decided} decisions\n{}",
            gc.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM aggregation.activities WHERE external_id NOT LIKE 'sim-%'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = count().await;
    assert!(before > 1000, "{before}");
    gc.kill();
    gc.restart();
    wait_for_summary(&gc, 2).await;
    assert_eq!(count().await, before, "loading the demo again changes nothing");
}
