//! The claim events on the claims feed (and, signed, to insurers' webhooks): ids, status
//! and amounts only; no description, no bank reference.

use gigcover_feed::NewEvent;
use gigcover_kit::ApiResult;
use serde_json::json;

use crate::store::Claim;

pub const FILED: &str = "claim.filed";
pub const VERIFIED: &str = "claim.verified";
pub const DECIDED: &str = "claim.decided";
pub const PAID: &str = "claim.paid";
pub const SLA_BREACHED: &str = "claim.sla_breached";

pub fn of(claim: &Claim, event_type: &'static str) -> ApiResult<NewEvent> {
    Ok(NewEvent::new(
        event_type,
        json!({
            "claim_id": claim.id, "worker_id": claim.worker_id, "insurer_id": claim.insurer_id,
            "policy_id": claim.policy_id, "claim_type": claim.claim_type, "status": claim.status,
            "recommendation": claim.recommendation, "approved_amount": claim.approved_amount,
            "paid_amount": claim.paid_amount, "decision_due": claim.decision_due,
        }),
    )
    .map_err(anyhow::Error::from)?)
}
