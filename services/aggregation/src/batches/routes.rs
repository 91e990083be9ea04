//! `POST /v1/platforms/{id}/batches`: NDJSON (`application/x-ndjson`) or CSV (`text/csv`,
//! read with the platform's mapping), streamed in chunks, all in one transaction: the
//! batch is applied whole or not at all, so a client whose connection broke replays it
//! with the same `Idempotency-Key` and every record ends up stored exactly once.
//! Stripe semantics: a replay returns the first response; the same key with another body
//! is refused.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt as _;
use gigcover_domain::FieldProblem;
use gigcover_kit::auth::{Authorized, Role, roles};
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use super::lines::{Line, LineSplitter};
use crate::adapters::csv::Resolved;
use crate::adapters::{self, Accepted, ParseContext, Rejected};
use crate::ingest::engine::{self, Counts, Outcome};
use crate::ingest::finish;
use crate::platforms::directory::PlatformInfo;
use crate::state::IngestState;

/// Lines written per statement group.
const CHUNK: usize = 4096;
/// Most per-line errors listed in a response.
const MAX_ERRORS: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/platforms/{id}/batches", web::post().to(upload));
}

/// One refused line.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: usize,
    pub code: String,
    pub problems: Vec<FieldProblem>,
}

/// What a batch did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchResult {
    /// Non-blank lines read (the CSV header included).
    pub lines: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// The first refused lines, with reasons.
    pub errors: Vec<LineError>,
    pub errors_truncated: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Ok(Format::Ndjson),
        "text/csv" => Ok(Format::Csv),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/x-ndjson (one record per line) or text/csv",
        )),
    }
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key =
        v.to_str().map_err(|_| ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key must be text"))?;
    if key.is_empty() || key.len() > 255 || key.chars().any(|c| c.is_control()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Loads activity in bulk. Valid lines are written, invalid ones reported by line number.
#[utoipa::path(
    post, path = "/v1/platforms/{id}/batches", tag = "ingestion",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "platform id"),
           ("Idempotency-Key" = Option<String>, Header, description = "replaying a key returns the first response")),
    request_body(content = String, content_type = "application/x-ndjson", description = "one record per line in the platform's format, or text/csv with the platform's mapping"),
    responses(
        (status = 200, body = BatchResult),
        (status = 403, description = "a platform writing for another", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency key reused with another body", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "body over the limit (nothing written)", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "neither NDJSON nor CSV", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    caller: Authorized<roles::PlatformOrOps>,
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    if caller.role == Role::Platform && caller.tenant.as_deref() != Some(path.as_str()) {
        return Err(ApiError::forbidden("a platform may write only its own activity"));
    }
    let platform =
        state.directory.get(&path).await?.ok_or_else(|| ApiError::not_found(format!("platform {}", path.as_str())))?;
    let format = format_of(&req)?;
    if format == Format::Csv && platform.csv_mapping.is_none() {
        return Err(ApiError::unprocessable("no_csv_mapping", "this platform has no CSV mapping; register one first"));
    }
    let key = idempotency_key(&req)?;
    let limit = state.settings.batch_limit_bytes;

    let mut tx = state.pool.begin().await?;
    if let Some(key) = &key {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))")
            .bind(platform.id.as_str())
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let first: Option<(Vec<u8>, i32, serde_json::Value)> = sqlx::query_as(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE platform_id = $1 AND key = $2",
        )
        .bind(platform.id.as_str())
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((hash, status, response)) = first {
            let mut hasher = Sha256::new();
            let mut size = 0usize;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e.to_string()))?;
                size += chunk.len();
                if size > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                hasher.update(&chunk);
            }
            if hasher.finalize().as_slice() != hash.as_slice() {
                return Err(ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different body",
                ));
            }
            let status = StatusCode::from_u16(u16::try_from(status).unwrap_or(200)).unwrap_or(StatusCode::OK);
            return Ok(HttpResponse::build(status).insert_header(("idempotent-replayed", "true")).json(response));
        }
    }

    let ctx = ParseContext {
        platform: &platform,
        now: chrono::Utc::now(),
        future_tolerance: chrono::Duration::seconds(state.settings.future_tolerance_secs),
    };
    let mut run = Run {
        state: &state,
        platform: &platform,
        format,
        ctx,
        header: None,
        outcome: Outcome::default(),
        counts: Counts::default(),
        errors: Vec::new(),
        error_count: 0,
        lines: 0,
        written: 0,
    };
    let mut hasher = Sha256::new();
    let mut splitter = LineSplitter::new(format == Format::Csv);
    let mut pending: Vec<Line> = Vec::new();
    let mut size = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e.to_string()))?;
        size += chunk.len();
        if size > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        hasher.update(&chunk);
        splitter.push(&chunk, &mut pending);
        if pending.len() >= CHUNK {
            run.chunk(&mut tx, std::mem::take(&mut pending)).await?;
        }
    }
    splitter.finish(&mut pending);
    run.chunk(&mut tx, pending).await?;

    finish::record_status(&mut tx, &platform, &run.counts, run.outcome.last_end).await?;
    let result = BatchResult {
        lines: run.lines,
        counts: run.counts,
        errors: run.errors,
        errors_truncated: run.error_count > MAX_ERRORS,
    };
    state.metrics.accepted(&platform.id, result.counts.accepted());
    if let Some(end) = run.outcome.last_end {
        state.metrics.last_event(&platform.id, end.timestamp() as f64);
    }
    let response = serde_json::to_value(&result).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        sqlx::query("INSERT INTO idempotency_keys (platform_id, key, request_hash, status, response) VALUES ($1, $2, $3, 200, $4)")
            .bind(platform.id.as_str())
            .bind(key)
            .bind(hasher.finalize().to_vec())
            .bind(&response)
            .execute(&mut *tx)
            .await?;
    }
    let events = finish::events(&platform, &run.outcome, |_| None)?;
    gigcover_feed::publish(tx, &events).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// The state of one batch while it streams in.
struct Run<'a> {
    state: &'a IngestState,
    platform: &'a PlatformInfo,
    format: Format,
    ctx: ParseContext<'a>,
    header: Option<(csv::StringRecord, Resolved)>,
    outcome: Outcome,
    counts: Counts,
    errors: Vec<LineError>,
    error_count: usize,
    lines: usize,
    written: usize,
}

impl Run<'_> {
    fn refuse(&mut self, line: usize, r: Rejected) {
        self.state.metrics.rejected(&self.platform.id, r.code);
        self.counts.rejected += 1;
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(LineError { line, code: r.code.to_owned(), problems: r.problems });
        }
    }

    fn parse(&mut self, line: &Line) -> Result<Option<Accepted>, Rejected> {
        match self.format {
            Format::Ndjson => {
                let value: serde_json::Value = serde_json::from_slice(&line.bytes)
                    .map_err(|e| Rejected::one("malformed_json", "(line)", format!("not valid JSON: {e}")))?;
                adapters::parse_json(value, &self.ctx).map(Some)
            }
            Format::Csv => {
                let record = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(line.bytes.as_slice())
                    .records()
                    .next()
                    .transpose()
                    .map_err(|e| Rejected::one("malformed_csv", "(line)", e.to_string()))?
                    .unwrap_or_default();
                let Some(mapping) = self.platform.csv_mapping.as_ref() else {
                    return Err(Rejected::one("no_csv_mapping", "(line)", "no CSV mapping"));
                };
                match &self.header {
                    None => {
                        let resolved = mapping.resolve(&record)?;
                        self.header = Some((record, resolved));
                        Ok(None)
                    }
                    Some((header, resolved)) => mapping.parse(resolved, header, &record, &self.ctx).map(Some),
                }
            }
        }
    }

    async fn chunk(&mut self, tx: &mut Transaction<'static, Postgres>, lines: Vec<Line>) -> ApiResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.lines += lines.len();
        self.state.metrics.received(&self.platform.id, lines.len() as u64, "batch");
        let mut accepted = Vec::with_capacity(lines.len());
        let mut numbers = Vec::with_capacity(lines.len());
        for line in &lines {
            match self.parse(line) {
                Ok(Some(a)) => {
                    accepted.push(a);
                    numbers.push(line.number);
                }
                Ok(None) => {}
                Err(r) if self.format == Format::Csv && self.header.is_none() => {
                    return Err(ApiError::unprocessable(
                        "invalid_header",
                        format!("the CSV header does not fit the mapping: {}", r.describe()),
                    )
                    .with_errors(r.problems));
                }
                Err(r) => self.refuse(line.number, r),
            }
        }
        if accepted.is_empty() {
            return Ok(());
        }
        let outcome = engine::write(tx, self.platform, &accepted, &self.state.metrics).await?;
        finish::archive(tx, self.platform, "batch", finish::kept(&accepted, &outcome)).await?;
        let mut counts = outcome.counts();
        counts.rejected = 0;
        self.counts.add(counts);
        for (i, r) in outcome.rejected.clone() {
            self.refuse(numbers[i], r);
        }
        let offset = self.written;
        self.written += accepted.len();
        self.outcome.absorb(outcome, offset);
        Ok(())
    }
}
