//! Extractors whose failures are problem+json naming what is wrong: bad JSON (with line and
//! column), a wrong type or a missing field (with the field's path), an oversized body, a
//! wrong content type, a bad query parameter. Services use these, not `web::Json`/`web::Query`.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;
use gigcover_domain::FieldProblem;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body a JSON extractor reads, as app data (set by the kit from `http.json_limit_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body deserialised into `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(256 * 1024, |l| l.0);
        let json = is_json(req);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body must be JSON (Content-Type: application/json)",
                ));
            }
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            let mut body = Vec::with_capacity(declared.unwrap_or(1024).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request("unreadable_body", format!("the body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Strips serde_json's " at line L column C" suffix (we report the position separately).
pub fn without_position(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}

/// Joins a path from `serde_path_to_error` (`.` for the root) with a field name.
fn field_path(path: &str, message: &str) -> String {
    let base = if path == "." || path.is_empty() { "" } else { path };
    match message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
        Some(field) if base.is_empty() => field.to_owned(),
        Some(field) => format!("{base}.{field}"),
        None if base.is_empty() => "(body)".to_owned(),
        None => base.to_owned(),
    }
}

/// Deserialises one JSON value and nothing after it; on failure, the path of the problem
/// (from `serde_path_to_error`; empty when it lies after the value) and serde_json's error.
pub fn deserialize_tracked<'de, R: serde_json::de::Read<'de>, T: DeserializeOwned>(
    mut de: serde_json::Deserializer<R>,
) -> Result<T, (String, serde_json::Error)> {
    serde_path_to_error::deserialize(&mut de)
        .map_err(|err| (err.path().to_string(), err.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e)))
}

/// Deserialises JSON, telling apart malformed JSON (400) from valid JSON of the wrong shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = deserialize_tracked(serde_json::Deserializer::from_slice(bytes));
    value.map_err(|(path, inner)| match inner.classify() {
        serde_json::error::Category::Data => {
            let message = without_position(&inner.to_string()).to_owned();
            let field = field_path(&path, &message);
            ApiError::unprocessable("invalid_body", format!("{field}: {message}"))
                .with_errors(vec![FieldProblem::new(field, message)])
        }
        _ => ApiError::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON: {} (line {}, column {})",
                without_position(&inner.to_string()),
                inner.line(),
                inner.column()
            ),
        )
        .with("line", inner.line())
        .with("column", inner.column()),
    })
}

/// Query-string parameters deserialised into `T`; a bad one is a 400 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// Parses the request's query string. Routes whose caller check is asynchronous
    /// (`ReadsWorker` asks identity) call this after it, so that validation never answers
    /// before authorisation: actix polls sibling extractors together, and a synchronous
    /// one's error would win.
    pub fn parse(req: &HttpRequest) -> Result<Self, ApiError> {
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(req.query_string().as_bytes()));
        serde_path_to_error::deserialize(pairs).map(Query).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = field_path(&path, &message);
            ApiError::bad_request("invalid_query", format!("query parameter {field}: {message}"))
                .with_errors(vec![FieldProblem::new(field, message)])
        })
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::parse(req))
    }
}
