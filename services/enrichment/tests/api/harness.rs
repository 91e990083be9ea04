//! Aggregation and enrichment running side by side on one test database, enrichment
//! consuming aggregation's feed over HTTP as in production.

use std::time::Duration;

use gigcover_kit::auth::Role;
use gigcover_testkit::{TestApp, TestDatabase};
use reqwest::RequestBuilder;
use serde_json::{Value, json};
use sqlx::PgPool;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Harness {
    pub identity: TestApp,
    pub aggregation: TestApp,
    pub enrichment: TestApp,
    pub _db: TestDatabase,
    pub pool: PgPool,
}

impl Harness {
    pub async fn start() -> Self {
        let db = TestDatabase::create().await;
        let identity = TestApp::spawn_with(&gigcover_identity::SPEC, &db, |c| c.with("identity.dev_login", true)).await;
        let id_url = identity.address.clone();
        let aggregation = TestApp::spawn_with(&gigcover_aggregation::SPEC, &db, |c| {
            c.with("crypto.master_key", MASTER_KEY).with("services.identity.url", id_url.clone())
        })
        .await;
        let url = aggregation.address.clone();
        let enrichment = TestApp::spawn_with(&gigcover_enrichment::SPEC, &db, |c| {
            c.with("services.aggregation.url", url)
                .with("services.identity.url", id_url)
                .with("enrichment.feed_batch", 50)
        })
        .await;
        let pool = db.pool().await;
        Self { identity, aggregation, enrichment, _db: db, pool }
    }

    pub fn platform_token(&self, platform: &str) -> String {
        self.aggregation.keys.token(Role::Platform, &format!("client-{platform}"), Some(platform))
    }

    pub fn worker_token(&self, worker: &str) -> String {
        self.aggregation.keys.token(Role::Worker, worker, None)
    }

    pub fn agg(&self, req: fn(&reqwest::Client, String) -> RequestBuilder, path: &str) -> RequestBuilder {
        req(&self.aggregation.http, self.aggregation.url(path))
    }

    pub async fn platform(&self, id: &str, adapter: &str, time_zone: &str, currency: &str) {
        let res = self
            .agg(reqwest::Client::post, "/v1/platforms")
            .bearer_auth(self.aggregation.keys.ops_token())
            .json(
                &json!({"id": id, "name": id, "market": {"country": "DE", "time_zone": time_zone, "currency": currency},
                          "category": "food_delivery", "adapter": adapter}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    /// Links `worker_ref` on `platform` to `worker`.
    pub async fn link(&self, platform: &str, worker_ref: &str, worker: &str) {
        let token = self.platform_token(platform);
        let res = self
            .agg(reqwest::Client::post, &format!("/v1/platforms/{platform}/workers"))
            .bearer_auth(&token)
            .json(&json!({"worker_ref": worker_ref}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let code: Value = self
            .agg(reqwest::Client::post, &format!("/v1/platforms/{platform}/workers/{worker_ref}/link-codes"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = self
            .agg(reqwest::Client::post, &format!("/v1/workers/{worker}/platform-accounts"))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"code": code["code"]}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    /// Posts a batch as the platform; asserts it was taken.
    pub async fn batch(&self, platform: &str, content_type: &str, body: String) -> Value {
        let res = self
            .agg(reqwest::Client::post, &format!("/v1/platforms/{platform}/batches"))
            .bearer_auth(self.platform_token(platform))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    pub async fn records(&self, platform: &str, records: &[Value]) -> Value {
        let body: String = records.iter().map(|r| format!("{r}\n")).collect();
        self.batch(platform, "application/x-ndjson", body).await
    }

    /// Waits until enrichment has applied everything aggregation published.
    pub async fn settle(&self) {
        for _ in 0..400 {
            let head: i64 = sqlx::query_scalar("SELECT COALESCE(max(position), 0) FROM aggregation.outbox")
                .fetch_one(&self.pool)
                .await
                .unwrap();
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT position FROM enrichment.feed_cursors WHERE source = 'aggregation'")
                    .fetch_optional(&self.pool)
                    .await
                    .unwrap();
            if applied.unwrap_or(0) >= head {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("enrichment did not catch up with aggregation's feed");
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.enrichment.http.get(self.enrichment.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let res = self.get(token, path).await;
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }

    /// The worker grants `insurer` consent of `scope` (through identity, as the worker).
    pub async fn consent(&self, worker: &str, insurer: &str, scope: &str) {
        let res = self
            .identity
            .http
            .put(self.identity.url(&format!("/v1/workers/{worker}/consents/{insurer}")))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"scope": scope}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    pub async fn revoke(&self, worker: &str, insurer: &str) {
        let res = self
            .identity
            .http
            .delete(self.identity.url(&format!("/v1/workers/{worker}/consents/{insurer}")))
            .bearer_auth(self.worker_token(worker))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }

    /// Every stored worker-day, as text, in a fixed order.
    pub async fn days_dump(&self) -> String {
        sqlx::query_scalar::<_, String>(
            "SELECT string_agg(d::text, E'\\n' ORDER BY d.worker_id, d.day) FROM enrichment.worker_days d",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap_or_default()
    }
}
