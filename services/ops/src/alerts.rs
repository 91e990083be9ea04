//! Evaluating every SLO's burn-rate rules and keeping the alerts' lifecycle: `pending`
//! when a severity's rule first holds, `firing` once it held for `pending_secs`,
//! `resolved` when no rule of that severity holds. One open alert per SLO and severity
//! (deduplicated by a unique index). Firing and resolution are notified to every receiver
//! unless a silence matches (the alert is still tracked and shown, marked silenced).
//! Several ops replicas may run: each round takes an advisory lock, so one evaluates.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::burn::{self, Counts, RULES, Severity, WindowBurn};
use crate::settings::{Format, OpsSettings};
use crate::slo::Slo;
use crate::source::SignalSource;

pub struct Evaluator {
    pub pool: PgPool,
    pub source: Arc<dyn SignalSource>,
    pub slos: Arc<Vec<Slo>>,
    pub settings: OpsSettings,
}

/// One severity's evaluation of one SLO.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub holds: bool,
    /// Every rule of the severity: its long and short window.
    pub windows: Vec<(WindowBurn, WindowBurn)>,
}

impl Evaluator {
    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.settings.time_scale.max(1e-6))
    }

    pub async fn evaluate(&self, slo: &Slo, severity: Severity, now: DateTime<Utc>) -> anyhow::Result<Evaluation> {
        let mut holds = false;
        let mut windows = Vec::new();
        for rule in RULES.iter().filter(|r| r.severity == severity) {
            let (long, short) = (self.scaled(rule.long), self.scaled(rule.short));
            let lc = self.source.counts(slo, long, now).await?;
            let sc = self.source.counts(slo, short, now).await?;
            holds |= burn::holds(rule, slo.target, lc, sc);
            let window =
                |d: Duration, c: Counts| WindowBurn { seconds: d.as_secs_f64(), counts: c, burn: c.burn(slo.target) };
            windows.push((window(long, lc), window(short, sc)));
        }
        Ok(Evaluation { holds, windows })
    }

    /// The SLOs to evaluate: each defined one, a per-key one as each of its instances the
    /// source saw within the longest window or that is named with its own age.
    pub async fn instances(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Slo>> {
        let longest = self.scaled(RULES.iter().map(|r| r.long).max().unwrap_or(Duration::from_secs(3 * 86400)));
        let mut out = Vec::new();
        for slo in self.slos.iter() {
            if matches!(slo.indicator, crate::slo::Indicator::FreshnessPerKey { .. }) {
                let keys = slo.instance_keys(self.source.keys(slo, longest, now).await?);
                out.extend(keys.iter().map(|k| slo.instance(&format!("{}/{k}", slo.name))));
            } else {
                out.push(slo.clone());
            }
        }
        Ok(out)
    }

    pub async fn round(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('ops.evaluator'))")
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(());
        }
        for slo in self.instances(now).await? {
            for severity in [Severity::Page, Severity::Ticket] {
                let eval = self.evaluate(&slo, severity, now).await?;
                self.step(&mut tx, &slo, severity, &eval, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn step(
        &self,
        conn: &mut PgConnection,
        slo: &Slo,
        severity: Severity,
        eval: &Evaluation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let open: Option<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, state, opened_at FROM alerts WHERE slo = $1 AND severity = $2 AND state <> 'resolved' FOR UPDATE",
        )
        .bind(&slo.name)
        .bind(severity.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let burn = serde_json::to_value(&eval.windows)?;
        let silenced: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM silences WHERE $1 >= starts_at AND $1 < ends_at
                              AND (slo IS NULL OR slo = $2) AND (severity IS NULL OR severity = $3))",
        )
        .bind(now)
        .bind(&slo.name)
        .bind(severity.as_str())
        .fetch_one(&mut *conn)
        .await?;
        let pending = chrono::Duration::from_std(self.scaled(Duration::from_secs_f64(self.settings.pending_secs)))?;
        match (open, eval.holds) {
            (None, true) => {
                let id = Uuid::now_v7();
                let fire = pending.is_zero();
                sqlx::query(
                    "INSERT INTO alerts (id, slo, severity, state, opened_at, fired_at, burn, silenced)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&slo.name)
                .bind(severity.as_str())
                .bind(if fire { "firing" } else { "pending" })
                .bind(now)
                .bind(fire.then_some(now))
                .bind(&burn)
                .bind(silenced)
                .execute(&mut *conn)
                .await?;
                if fire && !silenced {
                    self.notify(conn, id, slo, severity, true, &eval.windows).await?;
                }
            }
            (Some((id, state, opened_at)), true) => {
                let fire = state == "pending" && now - opened_at >= pending;
                sqlx::query(
                    "UPDATE alerts SET burn = $2, silenced = $3, state = CASE WHEN $4 THEN 'firing' ELSE state END,
                            fired_at = CASE WHEN $4 THEN $5 ELSE fired_at END WHERE id = $1",
                )
                .bind(id)
                .bind(&burn)
                .bind(silenced)
                .bind(fire)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                if fire && !silenced {
                    self.notify(conn, id, slo, severity, true, &eval.windows).await?;
                }
            }
            (Some((id, _, _)), false) => {
                sqlx::query("UPDATE alerts SET state = 'resolved', resolved_at = $2, burn = $3 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .bind(&burn)
                    .execute(&mut *conn)
                    .await?;
                // Resolution is told to whoever was told it fired.
                let told: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notifications WHERE alert_id = $1)")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                if told {
                    self.notify(conn, id, slo, severity, false, &eval.windows).await?;
                }
            }
            (None, false) => {}
        }
        Ok(())
    }

    async fn notify(
        &self,
        conn: &mut PgConnection,
        alert: Uuid,
        slo: &Slo,
        severity: Severity,
        firing: bool,
        windows: &[(WindowBurn, WindowBurn)],
    ) -> anyhow::Result<()> {
        for r in &self.settings.receivers {
            let payload =
                payload(&self.settings, r.format, r.routing_key.as_ref(), alert, slo, severity, firing, windows);
            sqlx::query("INSERT INTO notifications (id, alert_id, receiver, payload) VALUES ($1, $2, $3, $4)")
                .bind(Uuid::now_v7())
                .bind(alert)
                .bind(&r.name)
                .bind(&payload)
                .execute(&mut *conn)
                .await?;
        }
        tracing::warn!(slo = %slo.name, severity = severity.as_str(), firing, "alert state changed");
        Ok(())
    }
}

/// The message: Slack-style text or a PagerDuty Events v2 event, with the dashboard and
/// runbook links.
#[allow(clippy::too_many_arguments)]
pub fn payload(
    settings: &OpsSettings,
    format: Format,
    routing_key: Option<&secrecy::SecretString>,
    alert: Uuid,
    slo: &Slo,
    severity: Severity,
    firing: bool,
    windows: &[(WindowBurn, WindowBurn)],
) -> Value {
    use secrecy::ExposeSecret as _;
    let dashboard = format!("{}#slo-{}", settings.dashboard_url, slo.name);
    let runbook = format!("{}#{}", settings.runbook_url, slo.runbook_anchor());
    let worst = windows.iter().map(|(l, _)| l.burn).fold(0.0, f64::max);
    let state = if firing { "FIRING" } else { "RESOLVED" };
    let summary = format!(
        "[{state}] {} {}: {} (burn rate {worst:.1}x, target {})",
        severity.as_str(),
        slo.name,
        slo.description,
        slo.target
    );
    match format {
        Format::Slack => json!({
            "text": format!("{summary}\nDashboard: {dashboard}\nRunbook: {runbook}"),
            "gigcover": {"alert_id": alert, "slo": slo.name, "severity": severity, "state": state.to_lowercase(),
                         "windows": windows},
        }),
        Format::Pagerduty => json!({
            "routing_key": routing_key.map(|k| k.expose_secret().to_owned()),
            "event_action": if firing { "trigger" } else { "resolve" },
            "dedup_key": alert.to_string(),
            "payload": {"summary": summary, "source": "gigcover-ops", "component": slo.service,
                        "severity": if severity == Severity::Page { "critical" } else { "warning" },
                        "custom_details": {"slo": slo.name, "windows": windows}},
            "links": [{"href": dashboard, "text": "Dashboard"}, {"href": runbook, "text": "Runbook"}],
        }),
    }
}
