//! The DoorDash sample: per-driver engaged hours for the month equal an independent
//! computation in PostgreSQL (`range_agg` over the stored activities).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::Harness;

#[tokio::test]
async fn per_driver_engaged_hours_match_range_agg() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/doordash-sample-deliveries/deliveries.csv");
    let Ok(csv) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: the DoorDash sample is not at {}", path.display());
        return;
    };
    let h = Harness::start().await;
    h.platform("doordash", "csv", "America/Los_Angeles", "USD").await;
    let mapping: Value = serde_json::from_str(include_str!("../../../../data/doordash-mapping.json")).unwrap();
    let res = h
        .agg(reqwest::Client::put, "/v1/platforms/doordash/csv-mapping")
        .bearer_auth(h.platform_token("doordash"))
        .json(&mapping)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let drivers: std::collections::BTreeSet<&str> =
        csv.lines().skip(1).filter_map(|l| l.split(',').nth(4)).filter(|d| !d.is_empty()).collect();
    let mut workers = BTreeMap::new();
    for d in &drivers {
        let worker = uuid::Uuid::now_v7().to_string();
        h.link("doordash", d, &worker).await;
        workers.insert(worker, *d);
    }
    let r: Value = h.batch("doordash", "text/csv", csv.clone()).await;
    assert!(r["inserted"].as_u64().unwrap() > 15_000, "{r}");
    h.settle().await;

    let expected: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT worker_id, (sum(extract(epoch FROM upper(r) - lower(r))) * 1000)::bigint
         FROM (SELECT worker_id, unnest(range_agg(tstzrange(starts_at, ends_at))) AS r
               FROM aggregation.activities WHERE NOT retracted AND worker_id IS NOT NULL GROUP BY worker_id) u
         GROUP BY worker_id ORDER BY worker_id",
    )
    .fetch_all(&h.pool)
    .await
    .unwrap();
    assert!(expected.len() > 290);
    let ops = h.enrichment.keys.ops_token();
    let mut checked = 0;
    for (worker, ms) in expected {
        // Through the API: the month (and its edges) in the drivers' local time.
        let v = h
            .get_json(&ops, &format!("/v1/workers/{worker}/hours?from=2026-09-30&to=2026-11-02&granularity=month"))
            .await;
        let total: rust_decimal::Decimal = v["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["engaged_hours"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        let stored: i64 =
            sqlx::query_scalar("SELECT sum(engaged_ms)::bigint FROM enrichment.worker_days WHERE worker_id = $1")
                .bind(worker)
                .fetch_one(&h.pool)
                .await
                .unwrap();
        assert_eq!(stored, ms, "driver {}", workers[&worker.to_string()]);
        let want = (rust_decimal::Decimal::from(ms) / rust_decimal::Decimal::from(3_600_000)).round_dp(4);
        assert!(
            (total - want).abs() <= rust_decimal::Decimal::new(3, 4),
            "driver {}: {total} vs {want}",
            workers[&worker.to_string()]
        );
        checked += 1;
    }
    assert!(checked > 290);
}
