//! Insurers' webhooks: an insurer registers a URL and receives the claim events of its own
//! claims (`claim.filed`, `claim.verified`, `claim.decided`, `claim.paid`,
//! `claim.sla_breached`), signed with the same scheme platforms sign theirs with
//! (`Gigcover-Signature`, see `gigcover_kit::signature`).
//!
//! - `routes`: register (the secret is shown once), list, delete, replay, attempts;
//! - `delivery`: the background deliverer: in feed order, at least once (receivers
//!   de-duplicate by `Gigcover-Event-Id`), retried with exponential backoff;
//! - `target`: which URLs may be called (https in production, no private addresses).

pub mod delivery;
pub mod routes;
pub mod target;

/// The associated data a webhook's sealed secret is bound to.
pub(crate) fn aad(insurer: &str, id: uuid::Uuid) -> Vec<u8> {
    format!("insurer-webhook:{insurer}:{id}").into_bytes()
}
