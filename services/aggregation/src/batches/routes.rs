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
use gigcover_kit::{ApiError, ApiResult, idempotency};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use super::lines::{Line, LineSplitter};
use super::parse::{Format, ParseStage, Parsed};
use crate::adapters::Rejected;
use crate::ingest::engine::{self, Counts, Outcome};
use crate::ingest::{finish, plain};
use crate::platforms::directory::PlatformInfo;
use crate::state::IngestState;

/// Lines written per statement group (with the plain-insert budget, a batch's first
/// 56 x 16,384 new records take the plain `INSERT`; 28 x 16,384 when they carry event ids).
const CHUNK: usize = 16_384;
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
    let key = idempotency::key(&req)?;
    let limit = state.settings.batch_limit_bytes;

    let mut tx = state.pool.begin().await?;
    if let Some(key) = &key
        && let Some(first) = idempotency::find(&mut tx, platform.id.as_str(), key).await?
    {
        // A replay: hash the body as it streams (never parse it) and answer the first answer.
        let mut body = HashedBody::new(limit);
        while body.next(&mut payload).await?.is_some() {}
        return first.replay(body.hasher.finalize().as_slice());
    }

    let mut stage = ParseStage::start(
        platform.clone(),
        format,
        chrono::Utc::now(),
        chrono::Duration::seconds(state.settings.future_tolerance_secs),
    );
    let mut run = Run {
        state: &state,
        platform: &platform,
        outcome: Outcome::default(),
        counts: Counts::default(),
        errors: Vec::new(),
        error_count: 0,
        lines: 0,
        written: 0,
        plain: plain::PlainInserts::per_transaction(),
    };
    let mut body = HashedBody::new(limit);
    let mut splitter = LineSplitter::new(format == Format::Csv);
    let mut pending: Vec<Line> = Vec::new();
    while let Some(chunk) = body.next(&mut payload).await? {
        splitter.push(&chunk, &mut pending);
        if pending.len() >= CHUNK {
            stage.send(std::mem::take(&mut pending)).await?;
            // One chunk parses while the one before it is written.
            if stage.in_flight() > 1 {
                run.write(&mut tx, stage.next().await?).await?;
            }
        }
    }
    splitter.finish(&mut pending);
    if !pending.is_empty() {
        stage.send(pending).await?;
    }
    while stage.in_flight() > 0 {
        run.write(&mut tx, stage.next().await?).await?;
    }

    finish::record_status(&mut tx, &platform, "batch", std::iter::empty(), &run.counts, run.outcome.last_end).await?;
    let result = BatchResult {
        lines: run.lines,
        counts: run.counts,
        errors: run.errors,
        errors_truncated: run.error_count > MAX_ERRORS,
    };
    let response = serde_json::to_value(&result).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        idempotency::remember(
            &mut tx,
            platform.id.as_str(),
            key,
            body.hasher.finalize().as_slice(),
            StatusCode::OK,
            &response,
        )
        .await?;
    }
    let events = finish::events(&platform, &run.outcome, |_| None)?;
    gigcover_feed::publish(tx, &events).await?;
    // Committed: counted, and the platform's latest activity read again (`freshness`).
    state.metrics.stored(&platform.id, &result.counts, run.outcome.last_end);
    Ok(HttpResponse::Ok().json(response))
}

/// The body as it streams in: size-limited, hashed (for `Idempotency-Key`).
struct HashedBody {
    hasher: Sha256,
    size: usize,
    limit: usize,
}

impl HashedBody {
    fn new(limit: usize) -> Self {
        Self { hasher: Sha256::new(), size: 0, limit }
    }

    /// The next chunk; a 413 once the body passes the limit.
    async fn next(&mut self, payload: &mut web::Payload) -> ApiResult<Option<web::Bytes>> {
        let Some(chunk) = payload.next().await else { return Ok(None) };
        let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e.to_string()))?;
        self.size += chunk.len();
        if self.size > self.limit {
            return Err(ApiError::payload_too_large(self.limit));
        }
        self.hasher.update(&chunk);
        Ok(Some(chunk))
    }
}

/// The state of one batch while it streams in.
struct Run<'a> {
    state: &'a IngestState,
    platform: &'a PlatformInfo,
    outcome: Outcome,
    counts: Counts,
    errors: Vec<LineError>,
    error_count: usize,
    lines: usize,
    written: usize,
    plain: plain::PlainInserts,
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

    /// Writes one parsed chunk in the batch's transaction.
    async fn write(&mut self, tx: &mut Transaction<'static, Postgres>, parsed: Parsed) -> ApiResult<()> {
        self.lines += parsed.lines;
        self.state.metrics.received(&self.platform.id, parsed.lines as u64, "batch");
        for (line, r) in parsed.refused {
            self.refuse(line, r);
        }
        if parsed.accepted.is_empty() {
            return Ok(());
        }
        let (accepted, numbers) = (parsed.accepted, parsed.numbers);
        let outcome = engine::write(tx, self.platform, &accepted, &self.state.metrics, &mut self.plain).await?;
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
