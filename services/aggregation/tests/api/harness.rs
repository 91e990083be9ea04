//! A running aggregation service with helpers to act as ops, platforms and workers.

use gigcover_kit::Config;
use gigcover_kit::auth::Role;
use gigcover_testkit::{TestApp, TestDatabase};
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use sqlx::PgPool;

pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Harness {
    pub app: TestApp,
    /// Kept so the database lives (and is dropped) with the harness.
    pub _db: TestDatabase,
    pub pool: PgPool,
}

pub struct Platform {
    pub id: String,
    pub secret: String,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    /// [`Harness::start`] with settings of the test's own.
    pub async fn start_with(adjust: impl FnOnce(Config) -> Config) -> Self {
        let db = TestDatabase::create().await;
        let app =
            TestApp::spawn_with(&gigcover_aggregation::SPEC, &db, |c| adjust(c.with("crypto.master_key", MASTER_KEY)))
                .await;
        let pool = db.pool().await;
        Self { app, _db: db, pool }
    }

    pub fn ops(&self, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(self.app.keys.ops_token())
    }

    pub fn as_platform(&self, platform: &str, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(self.app.keys.token(Role::Platform, &format!("client-{platform}"), Some(platform)))
    }

    pub fn as_worker(&self, worker: &str, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(self.app.keys.token(Role::Worker, worker, None))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.app.http.get(self.app.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.app.http.post(self.app.url(path))
    }

    /// Registers a platform speaking `adapter` in `time_zone`/`currency`; returns its secret.
    pub async fn platform(&self, id: &str, adapter: &str, time_zone: &str, currency: &str) -> Platform {
        let res = self
            .ops(self.post("/v1/platforms"))
            .json(
                &json!({"id": id, "name": id, "market": {"country": "DE", "time_zone": time_zone, "currency": currency},
                          "category": "food_delivery", "adapter": adapter}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        Platform { id: id.to_owned(), secret: body["webhook_secret"]["secret"].as_str().unwrap().to_owned() }
    }

    /// Posts `body` as a webhook of `platform`, signed now with its secret; once it is
    /// stored (202), waits until it is applied.
    pub async fn webhook(&self, platform: &Platform, body: &Value) -> Response {
        let res = self.webhook_signed(&platform.id, &platform.secret, body, chrono::Utc::now().timestamp()).await;
        if res.status() == 202 {
            self.applied().await;
        }
        res
    }

    /// Waits until every stored webhook is applied (or kept with its failure).
    pub async fn applied(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.count("SELECT count(*) FROM aggregation.webhook_inbox WHERE failed_at IS NULL").await > 0 {
            assert!(std::time::Instant::now() < deadline, "stored webhooks were not applied within 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The platform's ingestion status (as ops).
    pub async fn status(&self, platform: &str) -> Value {
        let res = self.ops(self.get(&format!("/v1/platforms/{platform}/ingestion"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    pub async fn webhook_signed(&self, platform_id: &str, secret: &str, body: &Value, t: i64) -> Response {
        let bytes = serde_json::to_vec(body).unwrap();
        let header = gigcover_kit::signature::sign(secret.as_bytes(), t, &bytes);
        self.post(&format!("/v1/platforms/{platform_id}/events"))
            .header("content-type", "application/json")
            .header("gigcover-signature", header)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Posts a batch as the platform itself.
    pub async fn batch(&self, platform: &str, content_type: &str, body: String, key: Option<&str>) -> Response {
        let mut req = self
            .as_platform(platform, self.post(&format!("/v1/platforms/{platform}/batches")))
            .header("content-type", content_type)
            .body(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.send().await.unwrap()
    }

    /// Registers `worker_ref` on `platform` and links it to a new worker; returns the worker id.
    pub async fn link_new_worker(&self, platform: &str, worker_ref: &str) -> String {
        let worker = uuid::Uuid::now_v7().to_string();
        self.link(platform, worker_ref, &worker).await;
        worker
    }

    pub async fn link(&self, platform: &str, worker_ref: &str, worker: &str) {
        let code = self.link_code(platform, worker_ref).await;
        let res = self
            .as_worker(worker, self.post(&format!("/v1/workers/{worker}/platform-accounts")))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    /// The worker unlinks `worker_ref` on `platform`; the answer.
    pub async fn unlink(&self, worker: &str, platform: &str, worker_ref: &str) -> Response {
        let url = self.app.url(&format!("/v1/workers/{worker}/platform-accounts/{platform}/{worker_ref}"));
        self.as_worker(worker, self.app.http.delete(url)).send().await.unwrap()
    }

    pub async fn link_code(&self, platform: &str, worker_ref: &str) -> String {
        let res = self
            .as_platform(platform, self.post(&format!("/v1/platforms/{platform}/workers")))
            .json(&json!({"worker_ref": worker_ref}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        let res = self
            .as_platform(platform, self.post(&format!("/v1/platforms/{platform}/workers/{worker_ref}/link-codes")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned()
    }

    /// The worker's activities in November 2026 (as the worker).
    pub async fn activities(&self, worker: &str) -> Vec<Value> {
        let res = self
            .as_worker(
                worker,
                self.get(&format!(
                    "/v1/workers/{worker}/activities?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=1000"
                )),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["activities"].as_array().unwrap().clone()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool).await.unwrap()
    }

    /// `activity.changed` payloads published so far.
    pub async fn changes(&self) -> Vec<Value> {
        sqlx::query_scalar(
            "SELECT payload FROM aggregation.outbox WHERE event_type = 'activity.changed' ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

/// A gig record (gig_records adapter).
pub fn gig(id: &str, worker: &str, start: &str, end: &str, pay: &str) -> Value {
    json!({"id": id, "worker": worker, "start_datetime": start, "end_datetime": end,
           "distance": "3.0", "income": {"currency": "EUR", "pay": pay, "tips": "0.50", "fees": "0.20"}})
}
