//! Moving a claim through its lifecycle: the insurer reviews, approves with an amount,
//! rejects with a reason code, asks for information and reports the payment it made (we
//! move no money ourselves); the worker answers a request for information. Every move is
//! checked by the state machine and recorded with its actor, reason and evidence.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use gigcover_domain::{Currency, FieldProblem};
use gigcover_kit::auth::{Authorized, RecordScope, Role, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::events;
use crate::lifecycle::{self, Actor, Status};
use crate::store::{self, Change, Claim};

/// One move. The body names the action; the status follows from it (a caller never sets
/// a status, an insurer or a tenant).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Insurer: take a verified or flagged claim (or one whose information arrived) into review.
    StartReview { note: Option<String> },
    /// Insurer: approve, with the amount it will pay (in the policy's currency).
    Approve {
        #[schema(value_type = String)]
        amount: Decimal,
        note: Option<String>,
    },
    /// Insurer: reject, with a reason code the worker is shown (e.g. `not_insured_at_incident`).
    Reject { reason_code: String, note: Option<String> },
    /// Insurer: ask the worker for information (what is needed, in `note`).
    RequestInfo { note: String },
    /// Worker: answer a request for information (attachments go separately).
    ProvideInfo { note: String },
    /// Insurer: report the payment it made.
    ReportPayment {
        #[schema(value_type = String)]
        amount: Decimal,
        payment_reference: String,
    },
    /// Insurer: close a paid or rejected claim.
    Close { note: Option<String> },
}

impl Action {
    fn target(&self) -> Status {
        match self {
            Action::StartReview { .. } | Action::ProvideInfo { .. } => Status::UnderReview,
            Action::Approve { .. } => Status::Approved,
            Action::Reject { .. } => Status::Rejected,
            Action::RequestInfo { .. } => Status::NeedsInfo,
            Action::ReportPayment { .. } => Status::Paid,
            Action::Close { .. } => Status::Closed,
        }
    }

    /// The reason recorded with the move.
    fn reason(&self) -> Option<String> {
        match self {
            Action::StartReview { note } | Action::Close { note } => note.clone(),
            Action::Approve { amount, note } => {
                Some(format!("approved {amount}{}", note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()))
            }
            Action::Reject { reason_code, note } => {
                Some(format!("{reason_code}{}", note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()))
            }
            Action::RequestInfo { note } | Action::ProvideInfo { note } => Some(note.clone()),
            Action::ReportPayment { amount, payment_reference } => {
                Some(format!("paid {amount}, reference {payment_reference}"))
            }
        }
    }
}

fn problems(action: &Action, claim: &Claim, currency: Option<Currency>) -> Vec<FieldProblem> {
    let mut p = Vec::new();
    let text = |p: &mut Vec<FieldProblem>, field: &str, s: &str, max: usize| {
        if s.trim().is_empty() || s.chars().count() > max {
            p.push(FieldProblem::new(field, format!("1 to {max} characters")));
        }
    };
    let money = |p: &mut Vec<FieldProblem>, amount: &Decimal| {
        let places = currency.map_or(2, |c| c.minor_units());
        if *amount <= Decimal::ZERO || *amount > Decimal::from(1_000_000) {
            p.push(FieldProblem::new("amount", "must be above 0 and at most 1000000"));
        } else if amount.normalize().scale() > places {
            p.push(FieldProblem::new("amount", format!("at most {places} decimal places in the policy's currency")));
        }
    };
    match action {
        Action::StartReview { note } | Action::Close { note } | Action::Approve { note, .. } => {
            if let Some(n) = note {
                text(&mut p, "note", n, 2000);
            }
        }
        Action::Reject { reason_code, note } => {
            if reason_code.is_empty()
                || reason_code.len() > 64
                || !reason_code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            {
                p.push(FieldProblem::new("reason_code", "1 to 64 characters of a-z, 0-9 and _"));
            }
            if let Some(n) = note {
                text(&mut p, "note", n, 2000);
            }
        }
        Action::RequestInfo { note } | Action::ProvideInfo { note } => text(&mut p, "note", note, 2000),
        Action::ReportPayment { amount, payment_reference } => {
            text(&mut p, "payment_reference", payment_reference, 64);
            if claim.approved_amount.is_some_and(|a| *amount > a.amount()) {
                p.push(FieldProblem::new("amount", "more than the approved amount"));
            }
        }
    }
    if let Action::Approve { amount, .. } | Action::ReportPayment { amount, .. } = action {
        money(&mut p, amount);
    }
    p
}

/// Moves a claim (its insurer; or its worker answering a request for information).
#[utoipa::path(post, path = "/v1/claims/{id}/actions", tag = "claims", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Action,
    responses((status = 200, body = Claim),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "not allowed from the claim's status; the allowed ones are named", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn act(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    body: Json<Action>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let actor = match caller.role {
        Role::Insurer => Actor::Insurer,
        Role::Worker => Actor::Worker,
        _ => return Err(ApiError::forbidden("claims are decided by their insurer (a person there, not gigcover)")),
    };
    let scope = RecordScope::of(&caller);
    let mut tx = pool.begin().await?;
    let claim = store::load(&mut tx, &scope, *id, true).await?.ok_or_else(|| ApiError::not_found("claim"))?;
    let to = body.target();
    lifecycle::check(claim.status, to, actor).map_err(|e| ApiError::conflict("invalid_transition", e.to_string()))?;
    let problems = problems(&body, &claim, claim.currency);
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_action", "the action has problems").with_errors(problems));
    }
    match &*body {
        Action::Approve { amount, .. } => {
            sqlx::query("UPDATE claims SET approved_amount = $2 WHERE id = $1")
                .bind(claim.id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
        }
        Action::ReportPayment { amount, payment_reference } => {
            sqlx::query("UPDATE claims SET paid_amount = $2, payment_reference = $3 WHERE id = $1")
                .bind(claim.id)
                .bind(amount)
                .bind(payment_reference.trim())
                .execute(&mut *tx)
                .await?;
        }
        _ => {}
    }
    let reason = body.reason();
    // What the decision saw: the automatic recommendation and its reasons at that moment.
    let evidence = serde_json::json!({"recommendation": claim.recommendation, "reasons": claim.reasons,
                                      "benefit": claim.benefit, "decided_at": Utc::now()});
    let change = Change {
        claim: claim.id,
        to,
        actor,
        subject: Some(&caller.subject),
        reason: reason.as_deref(),
        evidence: Some(&evidence),
    };
    store::record(&mut tx, change).await?;
    let claim = store::load(&mut tx, &scope, claim.id, false).await?.ok_or_else(|| ApiError::not_found("claim"))?;
    let event = match to {
        Status::Approved | Status::Rejected => Some(events::DECIDED),
        Status::Paid => Some(events::PAID),
        _ => None,
    };
    let events = event.map(|e| events::of(&claim, e)).transpose()?;
    gigcover_feed::publish(tx, events.as_slice()).await?;
    if to == Status::Paid {
        crate::metrics::get().paid(&claim.insurer_id);
    }
    if matches!(to, Status::Approved | Status::Rejected) {
        let filed = claim.history.first().map_or_else(Utc::now, |h| h.at);
        let seconds = (Utc::now() - filed).num_milliseconds() as f64 / 1000.0;
        let within_sla = Utc::now() <= claim.decision_due;
        crate::metrics::get().decided(&claim.insurer_id, to.as_str(), seconds, within_sla);
        // The decision SLO's signals: decided, and decided by the deadline.
        let signals = gigcover_kit::signals::of(gigcover_kit::ServiceName::Claims.as_str());
        signals.add("claims.decided", 1.0);
        if within_sla {
            signals.add("claims.decided_within_sla", 1.0);
        }
    }
    Ok(HttpResponse::Ok().json(claim))
}
