//! Verification again when new evidence arrives: an attachment, or a change to the
//! worker's hours (enrichment's `hours.changed`, consumed exactly once). The new
//! recommendation replaces the old; a claim not yet in review moves between `verified`
//! and `flagged` with it; `claim.verified` goes on the feed.

use actix_web::web;
use chrono::{Duration, NaiveDate};
use futures::future::BoxFuture;
use gigcover_feed::{EventHandler, FeedEvent};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::RecordScope;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::events;
use crate::evidence::{self, Facts};
use crate::lifecycle::Status;
use crate::state::ClaimsState;
use crate::store::{self, Change, Claim};

/// Re-verifies `claim` (read for update in the caller's transaction) after `trigger`.
pub async fn reverify(state: &ClaimsState, conn: &mut PgConnection, claim: &Claim, trigger: &str) -> ApiResult<()> {
    if !claim.status.open_to_evidence() {
        return Ok(());
    }
    let facts = Facts {
        id: Some(claim.id),
        worker: claim.worker_id,
        policy_id: claim.policy_id,
        claim_type: claim.claim_type,
        incident_at: claim.incident_at,
        period_start: claim.period_start,
        period_end: claim.period_end,
    };
    let v = evidence::verify(&state.sources(), conn, &facts).await?;
    sqlx::query(
        "UPDATE claims SET recommendation = $2, reasons = $3, evidence = $4, benefit = $5, verified_at = now() WHERE id = $1",
    )
    .bind(claim.id)
    .bind(v.recommendation.as_str())
    .bind(sqlx::types::Json(&v.reasons))
    .bind(&v.evidence)
    .bind(v.benefit.as_ref().map(sqlx::types::Json))
    .execute(&mut *conn)
    .await?;
    let now = v.status();
    if matches!(claim.status, Status::Verified | Status::Flagged) && claim.status != now {
        let why = format!("re-verified on {trigger}; {}", v.summary());
        let change = Change {
            claim: claim.id,
            to: now,
            actor: crate::lifecycle::Actor::System,
            subject: None,
            reason: Some(&why),
            evidence: Some(&v.evidence),
        };
        store::record(conn, change).await?;
    }
    let updated = store::load(conn, &RecordScope::everything(), claim.id, false)
        .await?
        .ok_or_else(|| anyhow::anyhow!("claim vanished"))?;
    gigcover_feed::publish_within(conn, &[events::of(&updated, events::VERIFIED)?]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct HoursChanged {
    worker_id: Uuid,
    days: Vec<NaiveDate>,
}

/// Enrichment's `hours.changed`: claims of the worker whose incident or incapacity falls
/// on (or a day around) a changed day are verified again.
pub struct HoursFeed {
    pub state: web::Data<ClaimsState>,
}

impl HoursFeed {
    async fn apply(&self, conn: &mut PgConnection, event: &FeedEvent) -> anyhow::Result<()> {
        if event.event_type != "hours.changed" {
            return Ok(());
        }
        let change: HoursChanged = serde_json::from_value(event.payload.clone())?;
        let (Some(first), Some(last)) = (change.days.iter().min(), change.days.iter().max()) else { return Ok(()) };
        let from = first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::days(1);
        let to = last.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::days(2);
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM claims WHERE worker_id = $1
               AND status IN ('submitted', 'verified', 'flagged', 'under_review', 'needs_info')
               AND COALESCE(period_start, incident_at) < $3 AND COALESCE(period_end, incident_at) >= $2
             ORDER BY id",
        )
        .bind(change.worker_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        for id in ids {
            if let Some(claim) = store::load(conn, &RecordScope::everything(), id, true).await.map_err(anyhow_of)? {
                reverify(&self.state, conn, &claim, "late activity").await.map_err(anyhow_of)?;
            }
        }
        Ok(())
    }
}

fn anyhow_of(e: gigcover_kit::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl EventHandler for HoursFeed {
    /// Verification reads claims and evidence together, in the transaction.
    type Prepared = ();

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a FeedEvent,
        _: (),
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }
}
