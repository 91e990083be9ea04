//! `Idempotency-Key` with Stripe's semantics, one mechanism for every service: the first
//! answer to a key is stored with the hash of its request in the same transaction as the
//! change; a replay with the same request gets that answer again (marked
//! `Idempotent-Replayed: true`), the same key with another request a 409.
//!
//! A service using it has the table (in its own schema):
//! `idempotency_keys (scope text, key text, request_hash bytea, status integer,
//! response jsonb, created_at timestamptz default now(), primary key (scope, key))`,
//! where `scope` is whose keys they are (a platform, a worker, an insurer).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use sqlx::PgConnection;

use crate::error::{ApiError, ApiResult};

/// The header (names are case-insensitive).
pub const HEADER: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if it sent one (1 to 255 printable characters).
pub fn key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get(HEADER) else {
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

/// The first answer to a key.
pub struct Stored {
    request_hash: Vec<u8>,
    status: i32,
    response: serde_json::Value,
}

impl Stored {
    /// The stored answer if `request_hash` is the first request's; a 409 if not.
    pub fn replay(self, request_hash: &[u8]) -> ApiResult<HttpResponse> {
        if self.request_hash != request_hash {
            return Err(ApiError::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let status = StatusCode::from_u16(u16::try_from(self.status).unwrap_or(200)).unwrap_or(StatusCode::OK);
        Ok(HttpResponse::build(status).insert_header(("idempotent-replayed", "true")).json(self.response))
    }
}

/// Takes the key for this transaction (a concurrent request with it waits) and returns its
/// first answer, if there was one.
pub async fn find(conn: &mut PgConnection, scope: &str, key: &str) -> ApiResult<Option<Stored>> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('idempotency:' || $1 || '/' || $2))")
        .bind(scope)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    let row: Option<(Vec<u8>, i32, serde_json::Value)> =
        sqlx::query_as("SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(request_hash, status, response)| Stored { request_hash, status, response }))
}

/// Stores the first answer, in the transaction of the change it answers.
pub async fn remember(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    request_hash: &[u8],
    status: StatusCode,
    response: &serde_json::Value,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, response) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(i32::from(status.as_u16()))
    .bind(response)
    .execute(conn)
    .await?;
    Ok(())
}
