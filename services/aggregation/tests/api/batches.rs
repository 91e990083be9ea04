//! Batches: NDJSON and CSV, counts, per-line reasons, idempotency keys.

use serde_json::{Value, json};

use crate::harness::{Harness, gig};

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

#[tokio::test]
async fn a_batch_reports_what_it_inserted_updated_left_unchanged_and_rejected_by_line() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    h.batch(
        "eats",
        "application/x-ndjson",
        ndjson(&[gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")]),
        None,
    )
    .await;
    let mut bad_distance = gig("g4", "w1", "2026-11-02T12:00:00Z", "2026-11-02T12:30:00Z", "5");
    bad_distance["distance"] = json!("-1");
    let body = format!(
        "{}{}\n{{not json\n{}",
        ndjson(&[
            gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5"),
            gig("g2", "w1", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "6"),
            gig("g3", "w2", "2026-11-02T10:00:00Z", "2026-11-02T09:30:00Z", "6"),
        ]),
        bad_distance,
        ndjson(&[gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:35:00Z", "5")])
    );
    let res = h.batch("eats", "application/x-ndjson", body, None).await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["lines"], 6, "{r}");
    assert_eq!(r["inserted"], 1, "{r}");
    // g1 appears twice: unchanged, then corrected in the same batch.
    assert_eq!(r["updated"], 2, "{r}");
    assert_eq!(r["rejected"], 3, "{r}");
    let lines: Vec<(i64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        lines,
        vec![(3, "invalid_record".to_owned()), (4, "invalid_record".to_owned()), (5, "malformed_json".to_owned())]
    );
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 2);
    assert_eq!(
        h.count("SELECT count(*) FROM aggregation.activities WHERE external_id IN ('g3', 'g4')").await,
        0,
        "rejected lines write nothing"
    );
}

#[tokio::test]
async fn a_large_batch_of_new_records_then_one_mixing_old_new_and_corrected_counts_each_exactly() {
    // Large writes of new ids take a plain INSERT; a write that meets an existing id falls
    // back to the conflict-aware path. Both must count and store every record once.
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let record = |i: usize, minutes: usize| {
        let start = format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i / 100, 6 + (i % 100) / 10, (i % 10) * 5);
        let end = format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i / 100, 7 + (i % 100) / 10, minutes);
        gig(&format!("g{i}"), &format!("w{}", i % 7), &start, &end, "5")
    };
    let first: Vec<Value> = (0..400).map(|i| record(i, 0)).collect();
    let res = h.batch("eats", "application/x-ndjson", ndjson(&first), None).await;
    let r: Value = res.json().await.unwrap();
    assert_eq!((r["inserted"].as_u64(), r["rejected"].as_u64()), (Some(400), Some(0)), "{r}");

    // 300 unchanged, 50 corrected (a new end), 50 new.
    let second: Vec<Value> = (50..450).map(|i| record(i, if i < 100 { 10 } else { 0 })).collect();
    let res = h.batch("eats", "application/x-ndjson", ndjson(&second), None).await;
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["inserted"], 50, "{r}");
    assert_eq!(r["updated"], 50, "{r}");
    assert_eq!(r["unchanged"], 300, "{r}");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 450);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities WHERE version = 2").await, 50);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activity_history").await, 50);
    assert_eq!(
        h.count("SELECT count(*) FROM aggregation.activities WHERE external_id IN ('g50', 'g99') AND extract(minute FROM ends_at) = 10").await,
        2,
        "the corrections are stored"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let body = ndjson(&[
        gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5"),
        gig("g2", "w1", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "6"),
    ]);
    let first = h.batch("eats", "application/x-ndjson", body.clone(), Some("load-42")).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let replay = h.batch("eats", "application/x-ndjson", body.clone(), Some("load-42")).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first, "the first answer, not a new count of unchanged rows");
    let other = h.batch("eats", "application/x-ndjson", format!("{body}{body}"), Some("load-42")).await;
    assert_eq!(other.status(), 409);
    assert_eq!(other.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 2);
}

#[tokio::test]
async fn a_platform_cannot_write_another_platforms_batch_and_limits_hold() {
    let h = Harness::start().await;
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    h.platform("rides", "gig_records", "Europe/Berlin", "EUR").await;
    let body = ndjson(&[gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")]);
    let res = h
        .as_platform("rides", h.post("/v1/platforms/eats/batches"))
        .header("content-type", "application/x-ndjson")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = h.batch("eats", "application/xml", body.clone(), None).await;
    assert_eq!(res.status(), 415);
    let res = h.batch("eats", "text/csv", "a,b\n1,2\n".into(), None).await;
    assert_eq!(res.status(), 422, "no CSV mapping registered");
    let unauthenticated = h
        .post("/v1/platforms/eats/batches")
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 0);
}

#[tokio::test]
async fn a_batch_over_the_limit_writes_nothing() {
    let db = gigcover_testkit::TestDatabase::create().await;
    let app = gigcover_testkit::TestApp::spawn_with(&gigcover_aggregation::SPEC, &db, |c| {
        c.with("crypto.master_key", crate::harness::MASTER_KEY).with("aggregation.batch_limit_bytes", 20_000)
    })
    .await;
    let h = Harness { pool: db.pool().await, app, _db: db };
    h.platform("eats", "gig_records", "Europe/Berlin", "EUR").await;
    let records: Vec<Value> =
        (0..200).map(|i| gig(&format!("g{i}"), "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5")).collect();
    let res = h.batch("eats", "application/x-ndjson", ndjson(&records), None).await;
    assert_eq!(res.status(), 413);
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await, 0);
}

fn doordash_mapping() -> Value {
    serde_json::from_str(include_str!("../../../../data/doordash-mapping.json")).unwrap()
}

#[tokio::test]
async fn the_doordash_sample_loads_through_its_csv_mapping() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/doordash-sample-deliveries/deliveries.csv");
    let Ok(csv) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: the DoorDash sample is not at {}", path.display());
        return;
    };
    let h = Harness::start().await;
    h.platform("doordash", "csv", "America/Los_Angeles", "USD").await;
    let res = h
        .as_platform("doordash", h.app.http.put(h.app.url("/v1/platforms/doordash/csv-mapping")))
        .json(&doordash_mapping())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rows = csv.lines().count() - 1;
    let res = h.batch("doordash", "text/csv", csv.clone(), Some("may-2026")).await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    let (inserted, updated, rejected) =
        (r["inserted"].as_u64().unwrap(), r["updated"].as_u64().unwrap(), r["rejected"].as_u64().unwrap());
    assert_eq!(inserted + updated + rejected, rows as u64, "every row is accounted for: {r}");
    // Real exports are messy: rows without a start, deliveries 'ending' before they start,
    // the hand-appended rows spanning days. Each is refused, named; the rest load.
    assert!(rejected * 100 < rows as u64, "fewer than 1% of rows refused: {r}");
    assert_eq!(h.count("SELECT count(*) FROM aggregation.activities").await as u64, inserted);
    let refused: std::collections::HashSet<u64> =
        r["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    let drivers: std::collections::HashSet<&str> = csv
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| !refused.contains(&(*i as u64 + 1)))
        .map(|(_, l)| l.split(',').nth(4).unwrap())
        .collect();
    assert_eq!(h.count("SELECT count(DISTINCT worker_ref) FROM aggregation.activities").await as usize, drivers.len());
    assert!(drivers.len() > 290, "nearly all 297 drivers have deliveries stored");
    for e in r["errors"].as_array().unwrap() {
        let field = e["problems"][0]["field"].as_str().unwrap();
        assert!(field == "end" || field == "Placed_order_with_restaurant_datetime", "{e}");
    }
    let lines: Vec<u64> = r["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert!(lines.ends_with(&[rows as u64, rows as u64 + 1]), "the two hand-appended multi-day rows are refused");
}

#[tokio::test]
async fn a_csv_whose_header_misses_a_mapped_column_is_refused_whole() {
    let h = Harness::start().await;
    h.platform("doordash", "csv", "America/Los_Angeles", "USD").await;
    h.as_platform("doordash", h.app.http.put(h.app.url("/v1/platforms/doordash/csv-mapping")))
        .json(&doordash_mapping())
        .send()
        .await
        .unwrap();
    let res = h.batch("doordash", "text/csv", "Driver_ID,Foo\n1,2\n".into(), None).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_header");
    assert!(body["errors"].as_array().unwrap().iter().any(|e| e["field"] == "Customer_placed_order_datetime"));
}
