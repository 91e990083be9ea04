//! Migrations applied to a schema that already holds data keep every figure.

use std::borrow::Cow;

use gigcover_enrichment::job_column;
use gigcover_kit::db::{DatabaseSettings, migrate, pool};
use gigcover_testkit::TestDatabase;
use rust_decimal::Decimal;
use sqlx::PgPool;

/// The migration that folds an interval's job figures into `job`.
const INTERVAL_JOB: i64 = 20261130000001;

/// The migration that makes a worker-day's JSON columns `text`.
const WORKER_DAYS_TEXT: i64 = 20261130000002;

/// A pool on a new database whose enrichment schema has the migrations before `version`.
async fn migrated_before(db: &TestDatabase, version: i64) -> PgPool {
    let pool = pool(&DatabaseSettings::default(), &db.secret_url(), "enrichment").unwrap();
    let mut before = sqlx::migrate!("../../migrations/enrichment");
    before.migrations = Cow::Owned(before.migrations.iter().filter(|m| m.version < version).cloned().collect());
    migrate(&pool, "enrichment", before).await.unwrap();
    pool
}

#[tokio::test]
async fn folding_job_figures_into_one_column_keeps_every_value_and_its_scale() {
    let db = TestDatabase::create().await;
    let pool = migrated_before(&db, INTERVAL_JOB).await;
    sqlx::query(
        "INSERT INTO intervals (worker_id, platform_id, external_id, kind, starts_at, ends_at, distance_km, currency,
                                pay, tips, bonus, fees, version)
         VALUES (gen_random_uuid(), 'eats', 'session', 'session', now() - interval '2 hours', now(),
                 NULL, NULL, NULL, NULL, NULL, NULL, 1),
                (gen_random_uuid(), 'eats', 'paid', 'engagement', now() - interval '1 hour', now(),
                 3.50, 'EUR', 12.50, 0.00, NULL, 1.2, 2),
                (gen_random_uuid(), 'rides', 'distance-only', 'engagement', now() - interval '1 hour', now(),
                 99999999.9999, NULL, NULL, NULL, NULL, NULL, 1)",
    )
    .execute(&pool)
    .await
    .unwrap();

    (gigcover_enrichment::SPEC.migrate)(pool.clone()).await.unwrap();

    let jobs: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT external_id, job FROM intervals ORDER BY external_id").fetch_all(&pool).await.unwrap();
    assert_eq!(
        jobs,
        [
            ("distance-only".to_owned(), Some("- 99999999.9999 - - - -".to_owned())),
            ("paid".to_owned(), Some("EUR 3.50 12.50 0.00 - 1.2".to_owned())),
            ("session".to_owned(), None),
        ]
    );
    let paid = job_column::parse(jobs[1].1.as_deref().unwrap()).unwrap();
    let amount = |s: &str| Some(s.parse::<Decimal>().unwrap());
    assert_eq!((paid.currency, paid.distance_km), (Some("EUR"), amount("3.50")));
    assert_eq!(paid.earnings, [amount("12.50"), amount("0.00"), None, amount("1.2")]);
    assert_eq!(paid.earnings[1].unwrap().scale(), 2, "0.00 keeps its scale");

    // The old columns are gone, and the check holds new rows to the format.
    let old = sqlx::query("SELECT pay FROM intervals").execute(&pool).await.unwrap_err();
    assert!(old.to_string().contains("pay"), "{old}");
    for bad in ["EUR 1 2 3 4", "eur 1 2 3 4 5", "EUR 1 2 3 4 5 ", "EUR 1e3 2 3 4 5", "EUR NaN 2 3 4 5"] {
        let refused = sqlx::query(
            "INSERT INTO intervals (worker_id, platform_id, external_id, kind, starts_at, ends_at, job, version)
             VALUES (gen_random_uuid(), 'eats', 'bad', 'engagement', now() - interval '1 hour', now(), $1, 1)",
        )
        .bind(bad)
        .execute(&pool)
        .await
        .unwrap_err();
        assert!(refused.to_string().contains("intervals_job_format"), "{bad:?}: {refused}");
    }
}

#[tokio::test]
async fn a_worker_days_json_columns_become_text_with_the_same_bytes() {
    let db = TestDatabase::create().await;
    let pool = migrated_before(&db, WORKER_DAYS_TEXT).await;
    let earnings = r#"{"EUR":{"pay":"12.50","tips":"0.00","bonus":"0","fees":"1.2"}}"#;
    let platforms = r#"{"eats":{"online_ms":3600000,"engaged_ms":1800000}}"#;
    sqlx::query(
        "INSERT INTO worker_days VALUES (gen_random_uuid(), '2026-11-10', 'Europe/Berlin', 3600000, 1800000, 0, 0, 0,
                                         false, 1, 3.50, $1::json, $2::json)",
    )
    .bind(earnings)
    .bind(platforms)
    .execute(&pool)
    .await
    .unwrap();

    (gigcover_enrichment::SPEC.migrate)(pool.clone()).await.unwrap();

    let (types, stored): (String, (String, String)) = (
        sqlx::query_scalar(
            "SELECT string_agg(data_type, ',' ORDER BY column_name) FROM information_schema.columns
             WHERE table_schema = 'enrichment' AND table_name = 'worker_days' AND column_name IN ('earnings', 'platforms')",
        )
        .fetch_one(&pool)
        .await
        .unwrap(),
        sqlx::query_as("SELECT earnings, platforms FROM worker_days").fetch_one(&pool).await.unwrap(),
    );
    assert_eq!(types, "text,text");
    assert_eq!(stored, (earnings.to_owned(), platforms.to_owned()));
}
