//! `POST /v1/platforms/{id}/events`: one event, or `{"events": [...]}`, signed.

use actix_web::{HttpRequest, HttpResponse, web};
use gigcover_kit::{ApiError, ApiResult};
use serde::Serialize;

use super::body::{Events, located};
use crate::adapters::ParseContext;
use crate::ingest::finish;
use crate::state::IngestState;
use gigcover_kit::signature;

pub fn configure(cfg: &mut web::ServiceConfig, limit: usize) {
    cfg.service(
        web::resource("/v1/platforms/{id}/events")
            .app_data(web::PayloadConfig::new(limit))
            .route(web::post().to(receive)),
    );
}

/// A webhook stored: its events will be applied in a moment, in the order received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookReceipt {
    /// How many events the webhook held (all of them valid, all of them stored).
    pub received: usize,
}

/// Receives platform events, signed with one of the platform's webhook secrets. Every
/// event is checked first (one invalid event refuses the webhook, none stored); the
/// webhook is answered 202 once it is durably stored, and its events are applied through
/// the one write path moments later, in the order received (a replayed event id is a
/// no-op, the same content again changes nothing). What applying did shows in the
/// platform's ingestion status.
#[utoipa::path(
    post, path = "/v1/platforms/{id}/events", tag = "ingestion",
    params(("id" = String, Path, description = "platform id"),
           ("Gigcover-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">")),
    request_body(content = Object, description = "one event in the platform's format, or {\"events\": [...]}"),
    responses(
        (status = 202, description = "stored; applied moments later", body = WebhookReceipt),
        (status = 400, description = "malformed JSON", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, wrong or stale signature", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown platform", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "body over the limit", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid events (none stored)", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "not stored (database unavailable, or the service stopping); retry", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let platform =
        state.directory.get(&path).await?.ok_or_else(|| ApiError::not_found(format!("platform {}", path.as_str())))?;
    let now = chrono::Utc::now();
    let header = req.headers().get(signature::HEADER).and_then(|v| v.to_str().ok());
    if let Err(e) =
        signature::verify(header, &body, &platform.secrets, now.timestamp(), state.settings.signature_tolerance_secs)
    {
        state.metrics.rejected(&platform.id, e.code());
        return Err(ApiError::new(actix_web::http::StatusCode::UNAUTHORIZED, e.code(), e.to_string()));
    }
    let events = Events::of(&body)?;
    let (received, many) = (events.len(), events.many());
    state.metrics.received(&platform.id, received as u64, "webhook");
    let ctx = ParseContext {
        platform: &platform,
        now,
        future_tolerance: chrono::Duration::seconds(state.settings.future_tolerance_secs),
    };
    let mut accepted = Vec::with_capacity(received);
    let mut problems = Vec::new();
    let mut code = "invalid_record";
    for (i, parsed) in events.parse(&ctx).into_iter().enumerate() {
        match parsed {
            Ok(a) => accepted.push(a),
            Err(r) => {
                state.metrics.rejected(&platform.id, r.code);
                code = r.code;
                problems.extend(located(many, i, &r));
            }
        }
    }
    if !problems.is_empty() {
        let detail =
            if many { "some events are invalid; none was stored" } else { "the event is invalid; it was not stored" };
        return Err(ApiError::unprocessable(code, detail).with_errors(problems));
    }
    // The events as read (known fields only, as archived): what the body held beyond them,
    // personal data the insurance does not need among it, is not stored.
    let (_, records) = finish::ndjson(accepted.iter().map(|a| &a.raw));
    state.inbox.store(&platform.id, now, records).await?;
    Ok(HttpResponse::Accepted().json(WebhookReceipt { received }))
}
