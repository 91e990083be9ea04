//! The stored insured-time definitions: named, versioned, append-only.

use gigcover_kit::{ApiError, ApiResult};
use serde::Serialize;
use sqlx::PgPool;

use crate::engine::definitions::DefinitionSpec;

/// One version of a definition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub name: String,
    pub version: i32,
    pub description: String,
    pub spec: DefinitionSpec,
}

type Row = (String, i32, String, sqlx::types::Json<DefinitionSpec>);

fn from_row((name, version, description, spec): Row) -> Definition {
    Definition { name, version, description, spec: spec.0 }
}

/// The latest version of every definition.
pub async fn latest(db: impl sqlx::PgExecutor<'_>) -> ApiResult<Vec<Definition>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT DISTINCT ON (name) name, version, description, spec FROM insured_time_definitions
         ORDER BY name, version DESC",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// `name` (its latest version) or `name@version`.
pub async fn resolve(db: impl sqlx::PgExecutor<'_>, reference: &str) -> ApiResult<Definition> {
    let (name, version) = match reference.split_once('@') {
        Some((n, v)) => (
            n,
            Some(v.parse::<i32>().map_err(|_| {
                ApiError::bad_request("invalid_query", "definition is name or name@version (a whole number)")
            })?),
        ),
        None => (reference, None),
    };
    let row: Option<Row> = sqlx::query_as(
        "SELECT name, version, description, spec FROM insured_time_definitions
         WHERE name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
    )
    .bind(name)
    .bind(version)
    .fetch_optional(db)
    .await?;
    row.map(from_row).ok_or_else(|| ApiError::not_found(format!("insured-time definition {reference}")))
}

/// Resolved definitions, kept by one service instance: a `name@version` never changes; a
/// bare `name` (its latest version) is read again after `LATEST_TTL`, so a version added by
/// another replica is used within that time (one added here is used at once).
#[derive(Default)]
pub struct Resolved {
    cache: std::sync::Mutex<std::collections::HashMap<String, (Definition, std::time::Instant)>>,
}

const LATEST_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Resolved {
    pub async fn resolve(&self, db: impl sqlx::PgExecutor<'_>, reference: &str) -> ApiResult<Definition> {
        let fresh = |at: &std::time::Instant| reference.contains('@') || at.elapsed() < LATEST_TTL;
        if let Ok(cache) = self.cache.lock()
            && let Some((def, at)) = cache.get(reference)
            && fresh(at)
        {
            return Ok(def.clone());
        }
        let def = resolve(db, reference).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(reference.to_owned(), (def.clone(), std::time::Instant::now()));
        }
        Ok(def)
    }

    /// Forgets every bare name (after a version was added here).
    pub fn forget_latest(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|reference, _| reference.contains('@'));
        }
    }
}

/// Adds the next version of `name` (version 1 for a new name).
pub async fn add(pool: &PgPool, name: &str, description: &str, spec: &DefinitionSpec) -> ApiResult<Definition> {
    let spec_json = serde_json::to_value(spec).map_err(anyhow::Error::from)?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('definition:' || $1))").bind(name).execute(&mut *tx).await?;
    let row: Row = sqlx::query_as(
        "INSERT INTO insured_time_definitions (name, version, description, spec)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM insured_time_definitions WHERE name = $1
         RETURNING name, version, description, spec",
    )
    .bind(name)
    .bind(description)
    .bind(spec_json)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(from_row(row))
}
