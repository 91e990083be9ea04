//! `gigcover demo`: every service, as `serve --target all`, with the development login on
//! and demo data loaded through the public APIs once the services are ready: three Berlin
//! platforms (two sending jobs, one sending shifts), twelve workers linked across them,
//! four weeks of overlapping activity, and the DoorDash sample (when present) with a few
//! drivers linked and the rest held until they link. Loading again changes nothing
//! (idempotency keys, same external ids).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{Duration as Days, NaiveDate, TimeZone as _, Utc};
use gigcover_kit::auth::Role;
use gigcover_kit::client::TokenSource as _;
use gigcover_kit::config::Settings;
use gigcover_kit::oauth::ClientCredentials;
use gigcover_kit::{Config, ServiceName};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::database;
use crate::services::Targets;
use crate::simulator::Simulator;

const DEMO_OPS: &str = "gigcover-demo-ops";
const WORKERS: usize = 12;
/// The CSV mapping of the DoorDash sample (shared with the tests that load it).
const DOORDASH_MAPPING: &str = include_str!("../../../data/doordash-mapping.json");

/// The `demo` section.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DemoSettings {
    /// Milliseconds between the simulation's rounds (jobs, quotes, claims, decisions).
    tick_ms: u64,
}

impl Default for DemoSettings {
    fn default() -> Self {
        Self { tick_ms: 5000 }
    }
}

pub async fn demo(config: &Config) -> anyhow::Result<()> {
    let demo: DemoSettings = config.section("demo")?;
    let tick = Duration::from_millis(demo.tick_ms.max(50));
    let config = config.clone().with("identity.dev_login", true);
    let settings = config.settings()?;
    if settings.environment.is_production() {
        anyhow::bail!("the demo runs only outside production");
    }
    let targets: Targets = "all".parse().map_err(anyhow::Error::msg)?;
    let seeding = tokio::spawn(async move {
        match seed(&settings).await {
            Ok((summary, simulator)) => {
                println!("{summary}");
                simulator.run(tick).await;
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "loading the demo data failed"),
        }
    });
    let served = crate::serve::serve(&config, &targets).await;
    seeding.abort();
    served
}

struct Api {
    http: reqwest::Client,
    settings: Settings,
    ops: String,
}

impl Api {
    fn url(&self, service: ServiceName, path: &str) -> String {
        format!("{}{}", self.settings.services.url(service), path)
    }

    /// Sends and returns the JSON body; a 409 (already there) counts as success.
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let res = req.send().await.with_context(|| what.to_owned())?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() && status.as_u16() != 409 {
            anyhow::bail!("{what}: {status} {body}");
        }
        Ok(body)
    }

    async fn worker_token(&self, worker: &str) -> anyhow::Result<String> {
        let body = self
            .send(
                self.http
                    .post(self.url(ServiceName::Identity, "/v1/dev/worker-login"))
                    .json(&json!({"worker_id": worker})),
                "development login",
            )
            .await?;
        Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
    }

    fn as_ops(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(&self.ops)
    }

    async fn platform(&self, id: &str, adapter: &str, category: &str, tz: &str, currency: &str) -> anyhow::Result<()> {
        let country = if tz.starts_with("America") { "US" } else { "DE" };
        self.send(
            self.http.post(self.url(ServiceName::Aggregation, "/v1/platforms")).bearer_auth(&self.ops).json(&json!({
                "id": id, "name": id, "category": category, "adapter": adapter,
                "market": {"country": country, "time_zone": tz, "currency": currency}})),
            "register a platform",
        )
        .await?;
        Ok(())
    }

    /// Links `worker_ref` on `platform` to `worker` (unless it is linked already).
    async fn link(&self, platform: &str, worker_ref: &str, worker: &str) -> anyhow::Result<()> {
        let agg = |p: &str| self.url(ServiceName::Aggregation, p);
        self.send(
            self.as_ops(self.http.post(agg(&format!("/v1/platforms/{platform}/workers"))))
                .json(&json!({"worker_ref": worker_ref})),
            "register a worker reference",
        )
        .await?;
        let token = self.worker_token(worker).await?;
        let linked = self
            .send(
                self.http.get(agg(&format!("/v1/workers/{worker}/platform-accounts"))).bearer_auth(&token),
                "list links",
            )
            .await?;
        if linked.to_string().contains(&format!("\"{worker_ref}\"")) {
            return Ok(());
        }
        let code = self
            .send(
                self.as_ops(self.http.post(agg(&format!("/v1/platforms/{platform}/workers/{worker_ref}/link-codes")))),
                "a link code",
            )
            .await?;
        self.send(
            self.http
                .post(agg(&format!("/v1/workers/{worker}/platform-accounts")))
                .bearer_auth(&token)
                .json(&json!({"code": code["code"]})),
            "redeem a link code",
        )
        .await?;
        Ok(())
    }

    async fn batch(&self, platform: &str, content_type: &str, body: String, key: &str) -> anyhow::Result<Value> {
        self.send(
            self.as_ops(
                self.http.post(self.url(ServiceName::Aggregation, &format!("/v1/platforms/{platform}/batches"))),
            )
            .header("content-type", content_type)
            .header("idempotency-key", key)
            .timeout(Duration::from_secs(600))
            .body(body),
            "load a batch",
        )
        .await
    }
}

async fn wait_ready(http: &reqwest::Client, settings: &Settings) -> anyhow::Result<()> {
    for _ in 0..600 {
        let mut ready = true;
        for s in ServiceName::ALL {
            let ok = http
                .get(format!("{}/readyz", settings.services.url(s)))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            ready &= ok;
        }
        if ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("the services did not become ready")
}

/// A small deterministic generator, so every run loads the same activity.
pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn roll(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn seed(settings: &Settings) -> anyhow::Result<(String, Simulator)> {
    let http = gigcover_kit::client::http_builder().timeout(Duration::from_secs(30)).build()?;
    wait_ready(&http, settings).await?;

    // An ops client for the demo, straight in identity's database (there is no ops token yet).
    let db = database::resolve(settings).await?;
    let pool = gigcover_kit::db::pool(&settings.database, &db.url, ServiceName::Identity.schema())?;
    let token_url = format!("{}/oauth/token", settings.services.url(ServiceName::Identity));
    let mut tokens = Vec::new();
    let mut sources = Vec::new();
    for (client, role, tenant) in [
        (DEMO_OPS, Role::Ops, None),
        ("demo-acme", Role::Insurer, Some("acme")),
        ("demo-zurich", Role::Insurer, Some("zurich")),
    ] {
        let issued = gigcover_identity::clients::bootstrap_client(&pool, client, client, role, tenant)
            .await
            .map_err(|e| anyhow::anyhow!("provision the demo client {client}: {}", e.detail()))?;
        let source =
            Arc::new(ClientCredentials::new(token_url.clone(), client, SecretString::from(issued.client_secret)));
        let token = source.token().await?.unwrap_or_default();
        tokens.push(token);
        sources.push(source);
    }
    pool.close().await;
    let ops = tokens[0].clone();
    let api = Api { http, settings: settings.clone(), ops };

    api.platform("eats-berlin", "gig_records", "food_delivery", "Europe/Berlin", "EUR").await?;
    api.platform("rides-berlin", "gig_records", "ride_hailing", "Europe/Berlin", "EUR").await?;
    api.platform("parcels-berlin", "shifts", "parcel_courier", "Europe/Berlin", "EUR").await?;

    // Workers 0..12 are on eats; even ones also on rides; every third one has shifts.
    let workers: Vec<String> = (0..WORKERS)
        .map(|i| uuid::Uuid::from_u128(0x6c0f_e200_0000_0000_0000_0000_0000_0000 + i as u128).to_string())
        .collect();
    for (i, w) in workers.iter().enumerate() {
        api.link("eats-berlin", &format!("e-{i}"), w).await?;
        if i % 2 == 0 {
            api.link("rides-berlin", &format!("r-{i}"), w).await?;
        }
        if i % 3 == 0 {
            api.link("parcels-berlin", &format!("p-{i}"), w).await?;
        }
    }

    // Four weeks up to yesterday, weekdays and some weekends, afternoons and evenings.
    let today = Utc::now().date_naive();
    let first = today - Days::days(28);
    let (mut eats, mut rides, mut shifts) = (String::new(), String::new(), String::new());
    let mut dice = Dice(0x5eed_cafe_f00d_1234);
    let berlin = chrono_tz::Europe::Berlin;
    let at = |d: NaiveDate, minutes: u64| {
        berlin
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc) + Days::minutes(minutes as i64))
            .unwrap_or_default()
            .to_rfc3339()
    };
    for (i, _) in workers.iter().enumerate() {
        for day in 0..28 {
            let d = first + Days::days(day);
            if dice.roll(7) < 2 {
                continue;
            }
            let mut minute = 11 * 60 + dice.roll(120);
            if i % 3 == 0 {
                let (login, logout) = (minute.saturating_sub(30), minute + 6 * 60);
                let shift = format!("p-{i}-{d}");
                for (kind, m, ev) in [("shift.login", login, "in"), ("shift.logout", logout, "out")] {
                    let line = json!({"event_id": format!("{shift}-{ev}"), "type": kind, "worker_id": format!("p-{i}"),
                                      "shift_id": shift, "timestamp": at(d, m)});
                    let _ = writeln!(shifts, "{line}");
                }
            }
            for job in 0..(3 + dice.roll(6)) {
                let length = 15 + dice.roll(30);
                let (platform, reference, out) = if i % 2 == 0 && dice.roll(3) == 0 {
                    ("r", format!("r-{i}"), &mut rides)
                } else {
                    ("e", format!("e-{i}"), &mut eats)
                };
                let start = if dice.roll(8) == 0 { minute.saturating_sub(10) } else { minute };
                let line = json!({"id": format!("{platform}{i}-{d}-{job}"), "worker": reference,
                    "start_datetime": at(d, start), "end_datetime": at(d, start + length),
                    "distance": format!("{}.{}", 2 + dice.roll(6), dice.roll(10)),
                    "income": {"pay": format!("{}.50", 4 + dice.roll(8)), "tips": format!("{}.00", dice.roll(4)), "fees": "0.30"}});
                let _ = writeln!(out, "{line}");
                minute = start + length + 5 + dice.roll(25);
            }
        }
    }
    let key = format!("demo-{first}");
    let e = api.batch("eats-berlin", "application/x-ndjson", eats, &key).await?;
    let r = api.batch("rides-berlin", "application/x-ndjson", rides, &key).await?;
    let s = api.batch("parcels-berlin", "application/x-ndjson", shifts, &key).await?;

    let mut summary = String::new();
    let _ = writeln!(summary, "\n== gigcover demo ==");
    let _ = writeln!(
        summary,
        "loaded: eats-berlin {} jobs, rides-berlin {} jobs, parcels-berlin {} shift events",
        e["lines"], r["lines"], s["lines"]
    );
    doordash(&api, &mut summary).await?;
    insurers(&api, &tokens[1..], &mut summary).await?;
    let w = &workers[0];
    let ui = |s: ServiceName| settings.services.url(s);
    let _ = writeln!(
        summary,
        "API docs: {}/docs (aggregation), {}/docs (enrichment), {}/docs (identity)",
        ui(ServiceName::Aggregation),
        ui(ServiceName::Enrichment),
        ui(ServiceName::Identity)
    );
    let _ = writeln!(
        summary,
        "ops dashboard (the link signs you in while its token lasts): {}/dashboard#token={}",
        ui(ServiceName::Ops),
        api.ops
    );
    let _ = writeln!(summary, "a worker: {w}; sign in as them (development login):");
    let _ = writeln!(
        summary,
        "  TOKEN=$(curl -s -X POST {}/v1/dev/worker-login -H 'content-type: application/json' \\",
        ui(ServiceName::Identity)
    );
    let _ = writeln!(
        summary,
        "          -d '{{\"worker_id\":\"{w}\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    let _ = writeln!(
        summary,
        "  curl -s -H \"Authorization: Bearer $TOKEN\" '{}/v1/workers/{w}/hours?from={first}&to={today}&granularity=week'",
        ui(ServiceName::Enrichment)
    );
    let _ = writeln!(
        summary,
        "  curl -s -H \"Authorization: Bearer $TOKEN\" '{}/v1/workers/{w}/profile'",
        ui(ServiceName::Enrichment)
    );
    let _ = writeln!(
        summary,
        "a simulation now keeps going: jobs every 5 s, quotes, claims and acme's decisions (stop with Ctrl-C)"
    );
    let simulator = Simulator {
        http: api.http.clone(),
        settings: settings.clone(),
        ops: Arc::clone(&sources[0]),
        acme: Arc::clone(&sources[1]),
        workers: workers.clone(),
    };
    Ok((summary, simulator))
}

/// Two insurers with an accident product each (per insured hour) and a liability product.
async fn insurers(api: &Api, tokens: &[String], summary: &mut String) -> anyhow::Result<()> {
    let existing = api
        .send(api.http.get(api.url(ServiceName::Pricing, "/v1/products")).bearer_auth(&api.ops), "list products")
        .await?;
    if existing.as_array().is_some_and(|p| !p.is_empty()) {
        let _ = writeln!(summary, "insurers: products already there");
        return Ok(());
    }
    for (token, (rate, night, liability)) in tokens.iter().zip([("0.38", "1.30", "9.90"), ("0.42", "1.10", "8.50")]) {
        let accident = json!({"kind": "accident", "name": "Accident cover while working", "tariff": {
            "currency": "EUR", "basis": {"per_insured_hour": {"rate": rate, "definition": "job-plus-15m"}},
            "factors": [
                {"input": "night_share", "bands": [{"from": "0", "factor": "1"}, {"from": "0.2", "factor": night}]},
                {"input": "weekly_hours", "bands": [{"from": "0", "factor": "1.1"}, {"from": "20", "factor": "1"}, {"from": "40", "factor": "0.95"}]}],
            "min_premium": "3.00", "max_premium": "150.00", "rounding": "half_up"}});
        let fixed = json!({"kind": "liability", "name": "Third-party liability", "tariff": {
            "currency": "EUR", "basis": {"fixed_monthly": {"premium": liability}},
            "factors": [{"input": "platforms", "bands": [{"from": "0", "factor": "1"}, {"from": "2", "factor": "1.15"}]}],
            "min_premium": "5.00", "max_premium": "50.00"}});
        for product in [accident, fixed] {
            api.send(
                api.http.post(api.url(ServiceName::Pricing, "/v1/products")).bearer_auth(token).json(&product),
                "a product",
            )
            .await?;
        }
    }
    let _ = writeln!(summary, "insurers: acme and zurich, each with accident (per insured hour) and liability cover");
    Ok(())
}

/// The DoorDash sample (when present): five drivers linked, the rest held until they link.
async fn doordash(api: &Api, summary: &mut String) -> anyhow::Result<()> {
    let path = std::path::Path::new("../shared/data/doordash-sample-deliveries/deliveries.csv");
    let Ok(csv) = std::fs::read_to_string(path) else {
        let _ = writeln!(summary, "the DoorDash sample is not at {} (skipped)", path.display());
        return Ok(());
    };
    api.platform("doordash-demo", "csv", "food_delivery", "America/Los_Angeles", "USD").await?;
    api.send(
        api.http
            .put(api.url(ServiceName::Aggregation, "/v1/platforms/doordash-demo/csv-mapping"))
            .bearer_auth(&api.ops)
            .header("content-type", "application/json")
            .body(DOORDASH_MAPPING),
        "the DoorDash CSV mapping",
    )
    .await?;
    for (i, driver) in ["279", "303", "17", "42", "101"].iter().enumerate() {
        let worker = uuid::Uuid::from_u128(0x6c0f_e200_d00d_0000_0000_0000_0000_0000 + i as u128).to_string();
        api.link("doordash-demo", driver, &worker).await?;
    }
    let r = api.batch("doordash-demo", "text/csv", csv, "doordash-sample-2026-10").await?;
    // A historical export, sent once: its freshness SLO is stale from the start, as it
    // should be. Silenced, as an operator would, so that it pages no one (once: the demo
    // may run again on the same database).
    let (slo, reason) =
        ("ingestion-freshness/doordash-demo", "demo: a historical export sent once, not a live platform");
    let silences =
        api.send(api.http.get(api.url(ServiceName::Ops, "/v1/silences")).bearer_auth(&api.ops), "the silences").await?;
    if !silences.as_array().into_iter().flatten().any(|s| s["slo"] == slo && s["reason"] == reason) {
        api.send(
            api.http
                .post(api.url(ServiceName::Ops, "/v1/silences"))
                .bearer_auth(&api.ops)
                .json(&json!({"slo": slo, "minutes": 7 * 24 * 60, "reason": reason})),
            "the DoorDash sample's freshness silence",
        )
        .await?;
    }
    let _ = writeln!(
        summary,
        "DoorDash sample: {} deliveries in, {} refused (named per line); 5 drivers linked, the rest held until they link; \
         its freshness SLO (a historical export) silenced for a week",
        r["inserted"].as_u64().unwrap_or(0) + r["unchanged"].as_u64().unwrap_or(0),
        r["rejected"]
    );
    Ok(())
}
