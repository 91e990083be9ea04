//! The one error type of every service, answered as `application/problem+json` (RFC 9457)
//! with a stable machine `code`. Handlers return `ApiResult<T>` and use `?`: database and
//! internal errors convert themselves, and an internal failure is logged once, here, with
//! its cause, while the client gets a bare 500 that leaks nothing.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use gigcover_domain::FieldProblem;
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// A problem to answer with. Build one with the constructors; `code` is part of the API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldProblem>,
    extensions: serde_json::Map<String, serde_json::Value>,
    source: Option<anyhow::Error>,
}

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind: `urn:gigcover:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_body`.
    pub code: String,
    /// One entry per offending field, where the problem is in the input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<serde_json::Value>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), errors: Vec::new(), extensions: Default::default(), source: None }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404 for something that does not exist *for this caller* (never confirms other tenants' ids).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{} not found", what.into()))
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// An internal failure: logged with its cause, answered as a bare 500.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut e =
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it has been logged");
        e.source = Some(source.into());
        e
    }

    /// Adds the per-field problems (`errors` in the body).
    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member to the body (RFC 9457 section 3.2).
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(v) = serde_json::to_value(value) {
            self.extensions.insert(key.to_owned(), v);
        }
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn field_errors(&self) -> &[FieldProblem] {
        &self.errors
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:gigcover:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.iter().filter_map(|e| serde_json::to_value(e).ok()).collect(),
            extensions: self.extensions.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            tracing::error!(error = format!("{source:#}"), code = self.code, "request failed");
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(code = self.code, detail = %self.detail, "dependency unavailable");
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\"")));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        res.json(self.problem())
    }
}

/// Postgres SQLSTATE classes that mean "the database is not there right now": the
/// connection broke or the server closed it, or no connection could be had.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// 55P03: a wait for a lock ran past `lock_timeout`: other work holds the data, and the
/// same request later succeeds.
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

/// The 503 for a database error that passes: the database away, or the data locked.
fn retry_later(e: &sqlx::Error) -> Option<ApiError> {
    if is_unavailable(e) {
        Some(ApiError::unavailable("database_unavailable", "the database is unavailable; retry shortly"))
    } else if is_busy(e) {
        Some(ApiError::unavailable("busy", "the data is in use by other work; retry shortly"))
    } else {
        None
    }
}

/// A text the database cannot store (a NUL character, `\u0000`, in text or JSON): the
/// caller's input, refused as malformed. The detail names no value: it may be personal.
fn unstorable_text(e: &sqlx::Error) -> Option<ApiError> {
    let sqlx::Error::Database(db) = e else { return None };
    matches!(db.code().as_deref(), Some("22021" | "22P05")).then(|| {
        ApiError::bad_request("invalid_text", "a text holds a character that cannot be stored (such as NUL, \\u0000)")
    })
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(unavailable) = retry_later(&e) {
            return unavailable;
        }
        if let Some(refused) = unstorable_text(&e) {
            return refused;
        }
        if let sqlx::Error::Database(db) = &e {
            let constraint = db.constraint().unwrap_or("a constraint").to_owned();
            match db.code().as_deref() {
                Some("23505") => {
                    return ApiError::conflict(
                        "conflict",
                        format!("this would duplicate an existing record ({constraint})"),
                    )
                    .with("constraint", constraint);
                }
                Some("23503") => {
                    return ApiError::unprocessable(
                        "unknown_reference",
                        format!("a referenced record does not exist ({constraint})"),
                    )
                    .with("constraint", constraint);
                }
                Some("23514") | Some("23502") => {
                    return ApiError::unprocessable(
                        "constraint_violated",
                        format!("the record breaks a rule ({constraint})"),
                    )
                    .with("constraint", constraint);
                }
                _ => {}
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return ApiError::not_found("record");
        }
        ApiError::internal(e)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        // Context added with `.context()` must not hide a database outage behind a 500.
        let database = e.chain().find_map(|c| c.downcast_ref::<sqlx::Error>());
        if let Some(unavailable) = database.and_then(retry_later) {
            return unavailable;
        }
        if let Some(refused) = database.and_then(unstorable_text) {
            return refused;
        }
        ApiError::internal(e)
    }
}

impl From<gigcover_domain::MoneyError> for ApiError {
    fn from(e: gigcover_domain::MoneyError) -> Self {
        ApiError::unprocessable("invalid_money", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body(e: ApiError) -> (StatusCode, String, serde_json::Value) {
        let res = e.error_response();
        let ct = res.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
        let status = res.status();
        let bytes = to_bytes(res.into_body()).await.unwrap();
        (status, ct, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn an_internal_error_leaks_nothing() {
        let (status, ct, json) = body(ApiError::internal(anyhow::anyhow!("password=hunter2 at db.internal"))).await;
        assert_eq!(status, 500);
        assert_eq!(ct, "application/problem+json");
        assert!(!json.to_string().contains("hunter2"));
        assert_eq!(json["code"], "internal");
    }

    #[actix_web::test]
    async fn a_nul_the_database_cannot_store_is_a_400_naming_no_value_also_behind_context() {
        let db = gigcover_testkit::TestDatabase::create().await;
        let pool = db.pool().await;
        sqlx::query("CREATE TABLE short (s varchar(3))").execute(&pool).await.unwrap();
        let refused = |sql: &'static str, value: String| {
            let pool = pool.clone();
            async move { sqlx::query(sql).bind(value).execute(&pool).await.unwrap_err() }
        };
        let nul = refused("SELECT $1::text", "acme\0secret".to_owned()).await;
        let nul_json = refused("SELECT $1::jsonb", r#"{"name": "a\u0000secret"}"#.to_owned()).await;
        let behind =
            anyhow::Error::new(refused("SELECT $1::text", "\0secret".to_owned()).await).context("record status");
        for e in [ApiError::from(nul), ApiError::from(nul_json), ApiError::from(behind)] {
            let (status, ct, json) = body(e).await;
            assert_eq!((status.as_u16(), json["code"].as_str()), (400, Some("invalid_text")), "{json}");
            assert_eq!(ct, "application/problem+json");
            assert!(!json.to_string().contains("secret"), "{json}");
        }
        // A value too long for its column is the server's to prevent (ours are checked
        // before they are written): a logged 500, not the caller's fault.
        let long = refused("INSERT INTO short VALUES ($1)", "secret".to_owned()).await;
        assert_eq!(body(ApiError::from(long)).await.2["code"], "internal");
    }

    #[actix_web::test]
    async fn a_pool_timeout_is_a_503_even_behind_context() {
        let wrapped = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("load tariff");
        let (status, _, json) = body(ApiError::from(wrapped)).await;
        assert_eq!(status, 503);
        assert_eq!(json["code"], "database_unavailable");
    }

    #[actix_web::test]
    async fn field_problems_and_extensions_appear_in_the_body() {
        let e = ApiError::unprocessable("invalid_body", "bad")
            .with_errors(vec![FieldProblem::new("end", "must be after start")])
            .with("line", 3);
        let (status, _, json) = body(e).await;
        assert_eq!(status, 422);
        assert_eq!(json["errors"][0]["field"], "end");
        assert_eq!(json["line"], 3);
        assert_eq!(json["type"], "urn:gigcover:problem:invalid_body");
    }
}
