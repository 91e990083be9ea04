//! Personal data end to end on the real binary: stored encrypted (no plaintext in the
//! database), in the worker's export, never in logs, spans, metrics or log records sent
//! to a real OTLP receiver; and after erasure gone from the export, with the data key
//! destroyed so the ciphertext taken before cannot be opened.

use std::time::Duration;

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use gigcover_testkit::OtlpReceiver;
use serde_json::{Value, json};

const NAME: &str = "Quintessa Vandermolen-Pii";
const EMAIL: &str = "quintessa.pii-canary@example.org";
const PHONE: &str = "+49 151 98765 4321";
const ADDRESS: &str = "Canarystrasse 77, 10999 Berlin";
const IBAN: &str = "DE89 3704 0044 0532 0130 00";

#[tokio::test(flavor = "multi_thread")]
async fn personal_data_is_encrypted_exported_kept_out_of_telemetry_and_erased() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let otlp = OtlpReceiver::start().await;
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
            ("OTEL_BLRP_SCHEDULE_DELAY", "200".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(90)).await;
    let http = gigcover_kit::client::http();
    let worker = uuid::Uuid::now_v7().to_string();
    let token = gc.keys.token(Role::Worker, &worker, None);
    let url = |path: &str| gc.url(ServiceName::Identity, &format!("/v1/workers/{worker}{path}"));

    let data = json!({"name": NAME, "email": EMAIL, "phone": PHONE, "date_of_birth": "1990-04-01",
                      "address": ADDRESS, "iban": IBAN});
    let res = http.put(url("/personal-data")).bearer_auth(&token).json(&data).send().await.unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    // Bad input naming the field, never echoing the value.
    let bad = json!({"email": "no-at-sign-canary", "iban": "DE00 0000 canary"});
    let res = http.put(url("/personal-data")).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let problem = res.text().await.unwrap();
    assert!(problem.contains("\"email\"") && problem.contains("\"iban\"") && !problem.contains("canary"), "{problem}");
    let other = gc.keys.token(Role::Worker, &uuid::Uuid::now_v7().to_string(), None);
    assert_eq!(http.get(url("/personal-data")).bearer_auth(&other).send().await.unwrap().status(), 404);
    let insurer = gc.keys.token(Role::Insurer, "client-acme", Some("acme"));
    assert_eq!(http.get(url("/export")).bearer_auth(&insurer).send().await.unwrap().status(), 403);

    let export: Value = http.get(url("/export")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(export["personal_data"]["email"], EMAIL, "{export}");
    assert!(export["hours"]["periods"].is_array() && export["activities"].is_array(), "{export}");
    assert!(export["insurance"]["policies"].is_array() && export["claims"].is_array(), "{export}");
    assert_eq!(export["erased"], false);

    // At rest: only ciphertext.
    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
    let worker_id: uuid::Uuid = worker.parse().unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM identity.personal_data WHERE worker_id = $1")
        .bind(worker_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("canary"));
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, ' ') FROM identity.personal_data t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!dump.contains("canary") && !dump.contains("Quintessa"));

    // Nothing of it in what telemetry carried, nor in the process's own logs.
    otlp.wait_for_spans(Duration::from_secs(20), |spans| {
        spans.iter().any(|s| s.attributes.get("http.route").is_some_and(|r| r == "/v1/workers/{id}/export"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let carried = otlp.raw();
    let logs = gc.logs();
    for secret in [NAME, EMAIL, PHONE, ADDRESS, IBAN, "canary", "Quintessa", "1990-04-01"] {
        assert!(!carried.contains(secret), "{secret} reached telemetry");
        assert!(!logs.contains(secret), "{secret} reached the logs");
    }
    assert!(!carried.is_empty());

    // Erasure: the data key goes, the rows go, the export has no personal data.
    let res = http.post(url("/erasure")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let export: Value = http.get(url("/export")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(export["personal_data"], Value::Null);
    assert_eq!(export["erased"], true);
    assert!(!export.to_string().contains("canary") && !export.to_string().contains("Quintessa"));
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM identity.worker_keys WHERE worker_id = $1")
        .bind(worker_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(keys, 0, "the data key is destroyed, so the ciphertext taken above cannot be opened");
    assert!(sealed.len() > 24, "the ciphertext taken before erasure still exists outside the database");
    let res = http.put(url("/personal-data")).bearer_auth(&token).json(&data).send().await.unwrap();
    assert_eq!(res.status(), 409, "an erased worker's personal data is not taken again");
}
