//! Platforms in the aggregation schema.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::adapters::csv::CsvMapping;

use super::model::{NewPlatform, Platform};

type Row = (String, String, String, String, String, serde_json::Value, serde_json::Value, DateTime<Utc>);

fn from_row((id, name, country, time_zone, currency, category, adapter, created_at): Row) -> anyhow::Result<Platform> {
    Ok(Platform {
        id: id.parse()?,
        name,
        market: super::model::Market {
            country,
            time_zone: time_zone.parse().map_err(|e| anyhow::anyhow!("stored time zone {time_zone}: {e}"))?,
            currency: currency.parse()?,
        },
        category: serde_json::from_value(category)?,
        adapter: serde_json::from_value(adapter)?,
        created_at,
    })
}

const SELECT: &str =
    "SELECT id, name, country, time_zone, currency, to_jsonb(category), to_jsonb(adapter), created_at FROM platforms";

/// Inserts the platform; `None` when the id is taken.
pub async fn insert(conn: &mut PgConnection, p: &NewPlatform) -> anyhow::Result<Option<Platform>> {
    let row: Option<Row> = sqlx::query_as(
        "INSERT INTO platforms (id, name, country, time_zone, currency, category, adapter)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO NOTHING
         RETURNING id, name, country, time_zone, currency, to_jsonb(category), to_jsonb(adapter), created_at",
    )
    .bind(p.id.as_str())
    .bind(p.name.trim())
    .bind(&p.market.country)
    .bind(p.market.time_zone.name())
    .bind(p.market.currency.code())
    .bind(serde_json::to_value(p.category)?.as_str().unwrap_or_default())
    .bind(serde_json::to_value(p.adapter)?.as_str().unwrap_or_default())
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Sets (or clears) the platform's CSV mapping; false when there is no such platform.
pub async fn set_csv_mapping(pool: &PgPool, id: &str, mapping: Option<&CsvMapping>) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE platforms SET csv_mapping = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(mapping.map(serde_json::to_value).transpose()?)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(pool: &PgPool, id: &str) -> anyhow::Result<Option<Platform>> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"))).bind(id).fetch_optional(pool).await?;
    row.map(from_row).transpose()
}

pub async fn list(pool: &PgPool) -> anyhow::Result<Vec<Platform>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY id"))).fetch_all(pool).await?;
    rows.into_iter().map(from_row).collect()
}
