//! A policy's statements: the finalised ones as stored, the open ones composed from the
//! insured hours enrichment holds now. Months whose grace period has passed are finalised
//! first (by the background task, and by any read that finds one due), each in one
//! transaction that stores the statement, records its days as billed and puts
//! `statement.finalized` on the feed, so a month is finalised once.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use gigcover_domain::{Currency, local_day_start};
use gigcover_feed::NewEvent;
use gigcover_kit::auth::RecordScope;
use gigcover_kit::client::ServiceClient;
use gigcover_kit::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::statement::{self, Statement, StatementStatus, Terms, month_of, next_month};
use crate::policies::{self, Policy};

/// Late data is billed as adjustments for this long after a policy's cover ends.
const LATE_DATA_DAYS: i64 = 120;

#[derive(Clone)]
pub struct Ledger {
    pub pool: PgPool,
    pub enrichment: ServiceClient,
    /// After a month's end, how long its statement stays provisional.
    pub grace: Duration,
}

/// What billing needs of a policy, or `None` when it is not billed per hour.
fn terms(policy: &Policy) -> Option<Terms> {
    let c = &policy.coverage.0;
    Some(Terms {
        policy_id: policy.id,
        insurer_id: policy.insurer_id.clone(),
        worker_id: policy.worker_id,
        currency: Currency::parse(&policy.currency).ok()?,
        hourly_rate: c.hourly_rate?,
        rounding: c.rounding,
        min_premium: c.min_premium,
        max_premium: c.max_premium,
    })
}

/// Insured hours per local day and the worker's zone, from enrichment.
struct Hours {
    tz: Tz,
    by_day: BTreeMap<NaiveDate, Decimal>,
}

impl Ledger {
    async fn hours(&self, policy: &Policy, from: NaiveDate, to: NaiveDate) -> ApiResult<Hours> {
        let definition = policy.coverage.definition.as_deref().unwrap_or(crate::DEFAULT_DEFINITION);
        let path = format!("/v1/workers/{}/hours?from={from}&to={to}&definition={definition}", policy.worker_id);
        let view: Value = self.enrichment.get_json(&path).await.map_err(|e| {
            ApiError::unavailable("hours_unavailable", format!("the worker's insured hours are unavailable: {e}"))
        })?;
        let tz: Tz = view["time_zone"]
            .as_str()
            .and_then(|z| z.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("enrichment answered hours without a time zone"))?;
        let by_day = view["periods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let day = p["start"].as_str()?.parse().ok()?;
                let hours = Decimal::from_str(p["insured_hours"].as_str()?).ok()?;
                Some((day, hours))
            })
            .collect();
        Ok(Hours { tz, by_day })
    }

    /// Every statement of the policy, finalised and provisional, oldest first; months now
    /// due are finalised on the way.
    pub async fn statements(&self, policy: &Policy, now: DateTime<Utc>) -> ApiResult<Vec<Statement>> {
        let Some(terms) = terms(policy) else {
            return Err(ApiError::unprocessable(
                "not_usage_based",
                "only policies priced per insured hour have monthly statements",
            ));
        };
        // Enrichment's days are local; a day either side of the cover in UTC holds them all.
        let end = policy.cancelled_at.unwrap_or(policy.ends_at).min(policy.ends_at);
        let hours = self
            .hours(policy, policy.starts_at.date_naive() - Duration::days(1), end.date_naive() + Duration::days(1))
            .await?;
        let covered = covered_days(hours.tz, policy.starts_at, end);
        let mut out = Vec::new();
        let mut month = month_of(covered.0);
        loop {
            if let Some(stored) = self.stored(policy.id, month).await? {
                out.push(stored);
                month = next_month(month);
                continue;
            }
            let finalizes_at = local_day_start(hours.tz, next_month(month)) + self.grace;
            let within_cover = month <= covered.1;
            // Adjustments go on the first statement still open.
            let open_is_first = out.iter().all(|s| s.status == StatementStatus::Final);
            if !within_cover && !open_is_first {
                break;
            }
            let billed = if open_is_first { self.billed(policy.id).await? } else { BTreeMap::new() };
            let s = compose(&terms, month, covered, &hours, &billed, finalizes_at);
            if !within_cover && s.adjustments.is_empty() {
                break;
            }
            if finalizes_at <= now && open_is_first {
                if let Some(done) = self.finalize(&s).await? {
                    out.push(done);
                    month = next_month(month);
                    continue;
                }
                // Finalised concurrently: read it back.
                continue;
            }
            out.push(s);
            if !within_cover {
                break;
            }
            month = next_month(month);
        }
        Ok(out)
    }

    async fn stored(&self, policy: Uuid, month: NaiveDate) -> ApiResult<Option<Statement>> {
        let doc: Option<sqlx::types::Json<Statement>> =
            sqlx::query_scalar("SELECT document FROM statements WHERE policy_id = $1 AND month = $2")
                .bind(policy)
                .bind(month)
                .fetch_optional(&self.pool)
                .await?;
        Ok(doc.map(|d| d.0))
    }

    async fn billed(&self, policy: Uuid) -> ApiResult<BTreeMap<NaiveDate, Decimal>> {
        let rows: Vec<(NaiveDate, Decimal)> = sqlx::query_as("SELECT day, hours FROM billed_days WHERE policy_id = $1")
            .bind(policy)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Stores `s` as final with its billed days and `statement.finalized`, unless another
    /// process finalised the month first (`None`).
    async fn finalize(&self, s: &Statement) -> ApiResult<Option<Statement>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM policies WHERE id = $1 FOR UPDATE").bind(s.policy_id).execute(&mut *tx).await?;
        let mut done = s.clone();
        done.status = StatementStatus::Final;
        let inserted = sqlx::query(
            "INSERT INTO statements (policy_id, month, insurer_id, worker_id, document) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(s.policy_id)
        .bind(s.month)
        .bind(&s.insurer_id)
        .bind(s.worker_id)
        .bind(sqlx::types::Json(&done))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        let days = done.lines.iter().map(|l| (l.day, l.insured_hours));
        let adjusted = done.adjustments.iter().map(|a| (a.day, a.insured_hours));
        let (d, h): (Vec<NaiveDate>, Vec<Decimal>) = days.chain(adjusted).unzip();
        sqlx::query(
            "INSERT INTO billed_days (policy_id, day, hours) SELECT $1, * FROM unnest($2::date[], $3::numeric[])
             ON CONFLICT (policy_id, day) DO UPDATE SET hours = excluded.hours",
        )
        .bind(s.policy_id)
        .bind(&d)
        .bind(&h)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent::new(
            "statement.finalized",
            serde_json::json!({"policy_id": s.policy_id, "insurer_id": s.insurer_id, "worker_id": s.worker_id,
                               "month": s.month, "total": s.total, "currency": s.currency}),
        )
        .map_err(anyhow::Error::from)?;
        gigcover_feed::publish(tx, &[event]).await?;
        crate::metrics::get().finalized(&s.insurer_id);
        Ok(Some(done))
    }

    /// Finalises every due month of every per-hour policy still within its late-data
    /// window, every `every`, until `shutdown`.
    pub async fn run(self, every: StdDuration, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.finalize_due(Utc::now()).await {
                tracing::warn!(error = %e, "finalising statements failed; retrying at the next round");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn finalize_due(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM policies WHERE coverage ? 'hourly_rate' AND starts_at < $1
               AND COALESCE(cancelled_at, ends_at) > $1 - make_interval(days => $2)",
        )
        .bind(now - self.grace)
        .bind(LATE_DATA_DAYS as i32)
        .fetch_all(&self.pool)
        .await?;
        let scope = RecordScope::everything();
        for id in ids {
            let mut conn = self.pool.acquire().await?;
            let Some(policy) =
                policies::load(&mut conn, &scope, id, false).await.map_err(|e| anyhow::anyhow!("{e}"))?
            else {
                continue;
            };
            drop(conn);
            if let Err(e) = self.statements(&policy, now).await {
                tracing::warn!(policy = %id, error = %e, "a policy's statements could not be finalised");
            }
        }
        Ok(())
    }
}

/// The local days a cover from `start` to `end` touches (inclusive).
fn covered_days(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = start.with_timezone(&tz).date_naive();
    let last = (end - Duration::milliseconds(1)).with_timezone(&tz).date_naive().max(first);
    (first, last)
}

fn compose(
    terms: &Terms,
    month: NaiveDate,
    covered: (NaiveDate, NaiveDate),
    hours: &Hours,
    billed: &BTreeMap<NaiveDate, Decimal>,
    finalizes_at: DateTime<Utc>,
) -> Statement {
    let (lines, minimum_applied, maximum_applied, adjustments, total) =
        statement::compose(terms, month, covered, &hours.by_day, billed);
    Statement {
        policy_id: terms.policy_id,
        insurer_id: terms.insurer_id.clone(),
        worker_id: terms.worker_id,
        month,
        status: StatementStatus::Provisional,
        currency: terms.currency,
        time_zone: hours.tz.name().to_owned(),
        hourly_rate: terms.hourly_rate,
        lines,
        minimum_applied,
        maximum_applied,
        adjustments,
        total,
        finalizes_at,
    }
}
