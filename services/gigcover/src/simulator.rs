//! The living demo: after `gigcover demo` loaded its data, a gentle simulation keeps every
//! page, metric and alert fed: every few seconds a platform reports jobs that just ended
//! (now and then a corrected record, and the odd bad one, refused by line), quotes are
//! asked for, workers with a policy file claims (some during a job, some not), and acme's
//! claims handler reviews, decides and reports payments. It runs until the demo stops;
//! its failures are logged and the next round goes on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gigcover_kit::ServiceName;
use gigcover_kit::client::TokenSource as _;
use gigcover_kit::config::Settings;
use gigcover_kit::oauth::ClientCredentials;
use serde_json::{Value, json};

use crate::demo::Dice;

pub struct Simulator {
    pub http: reqwest::Client,
    pub settings: Settings,
    pub ops: Arc<ClientCredentials>,
    pub acme: Arc<ClientCredentials>,
    pub workers: Vec<String>,
}

/// A job the simulation reported (corrected later now and then).
struct Job {
    platform: &'static str,
    line: Value,
}

impl Simulator {
    fn url(&self, service: ServiceName, path: &str) -> String {
        format!("{}{}", self.settings.services.url(service), path)
    }

    async fn token(source: &ClientCredentials) -> anyhow::Result<String> {
        source.token().await?.ok_or_else(|| anyhow::anyhow!("no token"))
    }

    async fn worker_token(&self, worker: &str) -> anyhow::Result<String> {
        let (_, body) = self
            .send(
                self.http
                    .post(self.url(ServiceName::Identity, "/v1/dev/worker-login"))
                    .json(&json!({"worker_id": worker})),
            )
            .await?;
        Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    pub async fn run(self, tick_every: Duration) {
        let mut dice = Dice(Utc::now().timestamp_nanos_opt().unwrap_or(7) as u64 | 1);
        let mut holders: Vec<(usize, String)> = Vec::new();
        let mut jobs: Vec<Job> = Vec::new();
        let mut tick = 0u64;
        loop {
            tokio::time::sleep(tick_every).await;
            tick += 1;
            // The policies are bound once enrichment has the demo's history (a quote needs it).
            if holders.is_empty() {
                match self.bind_policies().await {
                    Ok(bound) => holders = bound,
                    Err(e) if tick.is_multiple_of(120) => {
                        tracing::warn!(error = format!("{e:#}"), "the demo simulation cannot bind its policies yet");
                    }
                    Err(_) => {}
                }
            }
            if let Err(e) = self.step(tick, &mut dice, &holders, &mut jobs).await {
                tracing::warn!(error = format!("{e:#}"), "a demo simulation round failed");
            }
        }
    }

    /// The first four workers take acme's accident cover (those whose history enrichment
    /// already holds; an error only when none could).
    async fn bind_policies(&self) -> anyhow::Result<Vec<(usize, String)>> {
        let mut out = Vec::new();
        let mut last_error = None;
        for (i, w) in self.workers.iter().enumerate().take(4) {
            match self.bind_one(w).await {
                Ok(policy) => out.push((i, policy)),
                Err(e) => last_error = Some(e),
            }
        }
        match (out.is_empty(), last_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(out),
        }
    }

    async fn bind_one(&self, worker: &str) -> anyhow::Result<String> {
        let token = self.worker_token(worker).await?;
        let (_, market) = self
            .send(
                self.http
                    .post(self.url(ServiceName::Pricing, "/v1/quotes"))
                    .bearer_auth(&token)
                    .json(&json!({"worker_id": worker, "kind": "accident", "insurer_id": "acme"})),
            )
            .await?;
        let Some(quote) = market["quotes"].get(0) else {
            anyhow::bail!("no accident quote from acme for a demo worker: {market}");
        };
        let (status, policy) = self
            .send(
                self.http
                    .post(self.url(ServiceName::Pricing, "/v1/policies"))
                    .bearer_auth(&token)
                    .json(&json!({"quote_id": quote["id"]})),
            )
            .await?;
        anyhow::ensure!(status < 300, "binding a demo policy failed: {status} {policy}");
        Ok(policy["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn step(
        &self,
        tick: u64,
        dice: &mut Dice,
        holders: &[(usize, String)],
        jobs: &mut Vec<Job>,
    ) -> anyhow::Result<()> {
        let ops = Self::token(&self.ops).await?;
        // Jobs that just ended; a correction every 7th round, a bad record every 11th.
        let i = dice.roll(self.workers.len() as u64) as usize;
        let (platform, reference) = if i.is_multiple_of(2) && dice.roll(2) == 0 {
            ("rides-berlin", format!("r-{i}"))
        } else {
            ("eats-berlin", format!("e-{i}"))
        };
        let start = Utc::now() - chrono::Duration::minutes(20 + dice.roll(20) as i64);
        let end = start + chrono::Duration::minutes(8 + dice.roll(15) as i64);
        let line = json!({"id": format!("sim-{}-{tick}", Utc::now().timestamp()), "worker": reference,
            "start_datetime": start.to_rfc3339(), "end_datetime": end.to_rfc3339(),
            "distance": format!("{}.{}", 1 + dice.roll(6), dice.roll(10)),
            "income": {"pay": format!("{}.50", 4 + dice.roll(6)), "tips": format!("{}.00", dice.roll(3))}});
        let mut body = format!("{line}\n");
        if tick.is_multiple_of(7)
            && let Some(last) = jobs.iter().rev().find(|j| j.platform == platform)
        {
            let mut corrected = last.line.clone();
            let longer = corrected["end_datetime"].as_str().and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok());
            if let Some(t) = longer {
                corrected["end_datetime"] = json!((t + chrono::Duration::minutes(3)).to_rfc3339());
                body.push_str(&format!("{corrected}\n"));
            }
        }
        if tick.is_multiple_of(11) {
            body.push_str(&format!("{}\n", json!({"id": format!("sim-bad-{tick}"), "worker": reference})));
        }
        self.send(
            self.http
                .post(self.url(ServiceName::Aggregation, &format!("/v1/platforms/{platform}/batches")))
                .bearer_auth(&ops)
                .header("content-type", "application/x-ndjson")
                .header("idempotency-key", format!("sim-{}-{tick}", Utc::now().timestamp()))
                .body(body),
        )
        .await?;
        jobs.push(Job { platform, line });
        if jobs.len() > 200 {
            jobs.remove(0);
        }
        if tick.is_multiple_of(6) {
            let w = &self.workers[dice.roll(self.workers.len() as u64) as usize];
            self.send(
                self.http
                    .post(self.url(ServiceName::Pricing, "/v1/quotes"))
                    .bearer_auth(&ops)
                    .json(&json!({"worker_id": w, "kind": "accident"})),
            )
            .await?;
        }
        if tick.is_multiple_of(12) && !holders.is_empty() {
            self.claim(tick, dice, holders, &ops).await?;
        }
        if tick % 12 == 6 {
            self.handle_a_claim().await?;
        }
        Ok(())
    }

    /// A policy holder files an accident claim: two in three during a job of theirs that
    /// just ended (reported first, so the claim may be verified at once or, if enrichment is
    /// behind, flagged and then verified again when the job's hours arrive), one in three
    /// at a moment they were not working.
    async fn claim(&self, tick: u64, dice: &mut Dice, holders: &[(usize, String)], ops: &str) -> anyhow::Result<()> {
        let (worker, policy) = &holders[(tick / 12) as usize % holders.len()];
        let end = Utc::now() - chrono::Duration::seconds(1);
        let incident = if dice.roll(3) > 0 {
            let start = end - chrono::Duration::minutes(12);
            let line = json!({"id": format!("sim-{}-{tick}-claim", Utc::now().timestamp()), "worker": format!("e-{worker}"),
                "start_datetime": start.to_rfc3339(), "end_datetime": end.to_rfc3339(), "income": {"pay": "6.50"}});
            self.send(
                self.http
                    .post(self.url(ServiceName::Aggregation, "/v1/platforms/eats-berlin/batches"))
                    .bearer_auth(ops)
                    .header("content-type", "application/x-ndjson")
                    .body(format!("{line}\n")),
            )
            .await?;
            end - chrono::Duration::seconds(30)
        } else {
            end
        };
        let token = self.worker_token(&self.workers[*worker]).await?;
        let (status, answer) = self
            .send(
                self.http
                    .post(self.url(ServiceName::Claims, "/v1/claims"))
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("sim-claim-{}-{tick}", Utc::now().timestamp()))
                    .json(&json!({"policy_id": policy, "claim_type": "accident", "incident_at": incident,
                                  "description": "Fell while delivering (demo simulation)"})),
            )
            .await?;
        anyhow::ensure!(status < 300, "a simulated claim was refused: {status} {answer}");
        Ok(())
    }

    /// acme reviews its oldest verified or flagged claim: approves and pays a verified one,
    /// rejects a flagged one.
    async fn handle_a_claim(&self) -> anyhow::Result<()> {
        let acme = Self::token(&self.acme).await?;
        for (status, approve) in [("verified", true), ("flagged", false)] {
            let (_, list) = self
                .send(
                    self.http
                        .get(self.url(ServiceName::Claims, &format!("/v1/claims?status={status}&limit=200")))
                        .bearer_auth(&acme),
                )
                .await?;
            let Some(claim) = list.as_array().and_then(|l| l.last()) else { continue };
            let url = self
                .url(ServiceName::Claims, &format!("/v1/claims/{}/actions", claim["id"].as_str().unwrap_or_default()));
            let act = |body: Value| self.send(self.http.post(&url).bearer_auth(&acme).json(&body));
            act(json!({"action": "start_review"})).await?;
            if approve {
                act(json!({"action": "approve", "amount": "120.00", "note": "Covered: in insured time"})).await?;
                act(json!({"action": "report_payment", "amount": "120.00", "payment_reference": "DEMO-SEPA"})).await?;
            } else {
                act(json!({"action": "reject", "reason_code": "not_insured_at_incident"})).await?;
            }
            return Ok(());
        }
        Ok(())
    }
}
