//! `POST /v1/platforms/{id}/events`: one event, or `{"events": [...]}`, signed.

use actix_web::{HttpRequest, HttpResponse, web};
use gigcover_domain::FieldProblem;
use gigcover_kit::http::parse_json;
use gigcover_kit::{ApiError, ApiResult};
use serde::Serialize;

use crate::adapters::{self, ParseContext, Rejected};
use crate::ingest::engine::Counts;
use crate::state::IngestState;
use gigcover_kit::signature;

pub fn configure(cfg: &mut web::ServiceConfig, limit: usize) {
    cfg.service(
        web::resource("/v1/platforms/{id}/events")
            .app_data(web::PayloadConfig::new(limit))
            .route(web::post().to(receive)),
    );
}

/// What happened to a webhook's events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookResult {
    pub received: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// Events refused while writing (for example a retraction of an unknown activity).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

fn located(index: usize, many: bool, r: &Rejected) -> Vec<FieldProblem> {
    r.problems
        .iter()
        .map(|p| {
            FieldProblem::new(
                if many { format!("events[{index}].{}", p.field) } else { p.field.clone() },
                p.message.clone(),
            )
        })
        .collect()
}

/// Receives platform events, signed with one of the platform's webhook secrets. Answers
/// 200 only once every accepted event is durably stored; a replayed event id is a no-op.
#[utoipa::path(
    post, path = "/v1/platforms/{id}/events", tag = "ingestion",
    params(("id" = String, Path, description = "platform id"),
           ("Gigcover-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">")),
    request_body(content = Object, description = "one event in the platform's format, or {\"events\": [...]}"),
    responses(
        (status = 200, body = WebhookResult),
        (status = 400, description = "malformed JSON", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, wrong or stale signature", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown platform", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "body over the limit", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid events (none written)", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
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
    let value: serde_json::Value = parse_json(&body)?;
    let (events, many) = match value {
        serde_json::Value::Object(mut o) if o.contains_key("events") => match o.remove("events") {
            Some(serde_json::Value::Array(a)) => (a, true),
            _ => return Err(ApiError::unprocessable("invalid_body", "events must be an array")),
        },
        v @ serde_json::Value::Object(_) => (vec![v], false),
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "the body must be an event object or {\"events\": [...]}",
            ));
        }
    };
    if events.is_empty() {
        return Err(ApiError::unprocessable("invalid_body", "events is empty"));
    }
    state.metrics.received(&platform.id, events.len() as u64, "webhook");
    let ctx = ParseContext {
        platform: &platform,
        now,
        future_tolerance: chrono::Duration::seconds(state.settings.future_tolerance_secs),
    };
    let received = events.len();
    let mut accepted = Vec::with_capacity(received);
    let mut problems = Vec::new();
    let mut code = "invalid_record";
    for (i, event) in events.into_iter().enumerate() {
        match adapters::parse_json(event, &ctx) {
            Ok(a) => accepted.push(a),
            Err(r) => {
                state.metrics.rejected(&platform.id, r.code);
                code = r.code;
                problems.extend(located(i, many, &r));
            }
        }
    }
    if !problems.is_empty() {
        let detail =
            if many { "some events are invalid; none was written" } else { "the event is invalid; it was not written" };
        return Err(ApiError::unprocessable(code, detail).with_errors(problems));
    }
    let outcome = state.committer.submit(platform.clone(), accepted).await?;
    let counts = outcome.counts();
    state.metrics.accepted(&platform.id, counts.accepted());
    if let Some(end) = outcome.last_end {
        state.metrics.last_event(&platform.id, end.timestamp() as f64);
    }
    let errors: Vec<FieldProblem> = outcome.rejected.iter().flat_map(|(i, r)| located(*i, many, r)).collect();
    for (_, r) in &outcome.rejected {
        state.metrics.rejected(&platform.id, r.code);
    }
    if counts.rejected as usize == received {
        return Err(
            ApiError::unprocessable(outcome.rejected[0].1.code, "no event could be applied").with_errors(errors)
        );
    }
    Ok(HttpResponse::Ok().json(WebhookResult { received, counts, errors }))
}
