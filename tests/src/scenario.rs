//! Setting up a marketplace through the public APIs, as a platform, a worker and insurers
//! would: a platform and a linked worker, activity sent as gig records, products, consent.

use std::time::Duration;

use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use serde_json::{Value, json};

use crate::Gigcover;

pub struct Scenario<'a> {
    pub gc: &'a Gigcover,
    pub http: reqwest::Client,
    /// A connection to the process's own cluster.
    pub pool: sqlx::PgPool,
}

impl<'a> Scenario<'a> {
    pub async fn new(gc: &'a Gigcover) -> Self {
        let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir()).expect("the process's cluster");
        let pool = sqlx::PgPool::connect(&pg.url()).await.expect("connect to the cluster");
        Self { gc, http: gigcover_kit::client::http(), pool }
    }

    pub fn url(&self, service: ServiceName, path: &str) -> String {
        self.gc.url(service, path)
    }

    pub fn platform_token(&self, platform: &str) -> String {
        self.gc.keys.token(Role::Platform, &format!("client-{platform}"), Some(platform))
    }

    pub fn insurer_token(&self, insurer: &str) -> String {
        self.gc.keys.token(Role::Insurer, &format!("client-{insurer}"), Some(insurer))
    }

    pub fn worker_token(&self, worker: &str) -> String {
        self.gc.keys.token(Role::Worker, worker, None)
    }

    /// Registers a platform speaking gig records in Berlin, in euros; returns the
    /// registration (with the platform's first webhook secret).
    pub async fn platform(&self, id: &str) -> Value {
        let res = self
            .http
            .post(self.url(ServiceName::Aggregation, "/v1/platforms"))
            .bearer_auth(self.gc.keys.ops_token())
            .json(&json!({"id": id, "name": id, "category": "food_delivery", "adapter": "gig_records",
                          "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"}}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Registers `worker_ref` on `platform` and links it to `worker` with a link code.
    pub async fn link(&self, platform: &str, worker_ref: &str, worker: &str) {
        let agg = |p: &str| self.url(ServiceName::Aggregation, p);
        let token = self.platform_token(platform);
        let res = self
            .http
            .post(agg(&format!("/v1/platforms/{platform}/workers")))
            .bearer_auth(&token)
            .json(&json!({"worker_ref": worker_ref}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let code: Value = self
            .http
            .post(agg(&format!("/v1/platforms/{platform}/workers/{worker_ref}/link-codes")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = self
            .http
            .post(agg(&format!("/v1/workers/{worker}/platform-accounts")))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"code": code["code"]}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    /// Sends gig records as one batch (with `traceparent`, if given) and waits until
    /// enrichment has applied them.
    pub async fn records(&self, platform: &str, records: &[Value], traceparent: Option<&str>) {
        let body: String = records.iter().map(|r| format!("{r}\n")).collect();
        let mut req = self
            .http
            .post(self.url(ServiceName::Aggregation, &format!("/v1/platforms/{platform}/batches")))
            .bearer_auth(self.platform_token(platform))
            .header("content-type", "application/x-ndjson");
        if let Some(t) = traceparent {
            req = req.header("traceparent", t);
        }
        let res = req.body(body).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
        self.gc.wait_for_enrichment(&self.pool, Duration::from_secs(60)).await;
    }

    /// Creates a product of `insurer`; answers it.
    pub async fn product(&self, insurer: &str, kind: &str, tariff: Value) -> Value {
        let res = self
            .http
            .post(self.url(ServiceName::Pricing, "/v1/products"))
            .bearer_auth(self.insurer_token(insurer))
            .json(&json!({"kind": kind, "name": format!("{insurer} {kind}"), "tariff": tariff}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        res.json().await.unwrap()
    }

    /// The worker grants `insurer` access with `scope`.
    pub async fn consent(&self, worker: &str, insurer: &str, scope: &str) {
        let res = self
            .http
            .put(self.url(ServiceName::Identity, &format!("/v1/workers/{worker}/consents/{insurer}")))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"scope": scope}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    /// The worker's quotes of `kind` (from `insurer` only, if given).
    pub async fn quotes(&self, worker: &str, kind: &str, insurer: Option<&str>) -> Vec<Value> {
        let res = self
            .http
            .post(self.url(ServiceName::Pricing, "/v1/quotes"))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"worker_id": worker, "kind": kind, "insurer_id": insurer}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        res.json::<Value>().await.unwrap()["quotes"].as_array().unwrap().clone()
    }

    /// The worker binds a quote; answers the policy.
    pub async fn bind(&self, worker: &str, quote: &Value) -> Value {
        let res = self
            .http
            .post(self.url(ServiceName::Pricing, "/v1/policies"))
            .bearer_auth(self.worker_token(worker))
            .json(&json!({"quote_id": quote["id"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        res.json().await.unwrap()
    }

    /// Test set-up that stands in for time passing: the policy started at `starts_at` (and
    /// runs until 20 days from now).
    pub async fn backdate_policy(&self, policy: &Value, starts_at: chrono::DateTime<chrono::Utc>) {
        sqlx::query("UPDATE pricing.policies SET starts_at = $2, ends_at = now() + interval '20 days' WHERE id = $1")
            .bind(uuid::Uuid::parse_str(policy["id"].as_str().unwrap()).unwrap())
            .bind(starts_at)
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

/// A gig record of `minutes` from `start` with `pay` and `tips` in euros.
pub fn gig(
    id: &str,
    worker_ref: &str,
    start: chrono::DateTime<chrono::Utc>,
    minutes: i64,
    pay: &str,
    tips: &str,
) -> Value {
    json!({"id": id, "worker": worker_ref, "start_datetime": start.to_rfc3339(),
           "end_datetime": (start + chrono::Duration::minutes(minutes)).to_rfc3339(),
           "income": {"pay": pay, "tips": tips}})
}
