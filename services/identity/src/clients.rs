//! OAuth2 clients: created by ops (or the CLI for the first ops client), the secret shown
//! once and kept only as an argon2id hash, rotatable, revocable at once.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use gigcover_kit::auth::Role;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// A client as listed (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub role: Role,
    pub tenant: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A client with its new secret, shown this once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedSecret {
    #[serde(flatten)]
    pub client: Client,
    pub client_secret: String,
}

/// What a new client is.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub role: Role,
    /// The insurer or platform id, for those roles.
    pub tenant: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

type Row =
    (String, String, String, Option<String>, Vec<String>, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
const COLUMNS: &str = "client_id, name, role, tenant, scopes, created_at, rotated_at, revoked_at";

fn from_row((client_id, name, role, tenant, scopes, created_at, rotated_at, revoked_at): Row) -> ApiResult<Client> {
    let role: Role = serde_json::from_value(serde_json::Value::String(role)).map_err(anyhow::Error::from)?;
    Ok(Client { client_id, name, role, tenant, scopes, created_at, rotated_at, revoked_at })
}

/// 32 random bytes, base64url.
fn new_secret() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a client secret: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(secret: &str) -> ApiResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default().hash_password(secret.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hash: {e}"))?.to_string())
}

/// Checks `new` field by field.
pub fn problems(new: &NewClient) -> Vec<gigcover_domain::FieldProblem> {
    use gigcover_domain::FieldProblem;
    let mut p = Vec::new();
    let id_ok = (3..=64).contains(&new.client_id.len())
        && new.client_id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && new.client_id.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !id_ok {
        p.push(FieldProblem::new("client_id", "3 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"));
    }
    if new.name.trim().is_empty() || new.name.len() > 200 {
        p.push(FieldProblem::new("name", "1 to 200 characters"));
    }
    match (new.role, &new.tenant) {
        (Role::Worker, _) => p.push(FieldProblem::new("role", "workers sign in through the identity provider")),
        (Role::Insurer | Role::Platform, None) => {
            p.push(FieldProblem::new("tenant", "an insurer or platform client names its tenant"))
        }
        (Role::Ops | Role::Service, Some(_)) => {
            p.push(FieldProblem::new("tenant", "only insurers and platforms have one"))
        }
        _ => {}
    }
    if new.scopes.iter().any(|s| s.is_empty() || s.len() > 64 || s.contains(char::is_whitespace)) {
        p.push(FieldProblem::new("scopes", "each scope is 1 to 64 characters without spaces"));
    }
    p
}

pub async fn create(pool: &PgPool, new: &NewClient) -> ApiResult<IssuedSecret> {
    let problems = problems(new);
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_client", "the client has problems").with_errors(problems));
    }
    let secret = new_secret()?;
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO clients (client_id, name, role, tenant, scopes, secret_hash) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (client_id) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(&new.client_id)
    .bind(new.name.trim())
    .bind(new.role.as_str())
    .bind(&new.tenant)
    .bind(&new.scopes)
    .bind(hash(&secret)?)
    .fetch_optional(pool)
    .await?;
    let row = row.ok_or_else(|| ApiError::conflict("client_exists", format!("client {} exists", new.client_id)))?;
    Ok(IssuedSecret { client: from_row(row)?, client_secret: secret })
}

pub async fn list(pool: &PgPool) -> ApiResult<Vec<Client>> {
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM clients ORDER BY client_id")))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(from_row).collect()
}

/// A new secret; the old one stops working at once.
pub async fn rotate(pool: &PgPool, client_id: &str) -> ApiResult<IssuedSecret> {
    let secret = new_secret()?;
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE clients SET secret_hash = $2, rotated_at = now() WHERE client_id = $1 AND revoked_at IS NULL
         RETURNING {COLUMNS}"
    )))
    .bind(client_id)
    .bind(hash(&secret)?)
    .fetch_optional(pool)
    .await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("active client {client_id}")))?;
    Ok(IssuedSecret { client: from_row(row)?, client_secret: secret })
}

/// Revokes: no new token from now on.
pub async fn revoke(pool: &PgPool, client_id: &str) -> ApiResult<Client> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE clients SET revoked_at = COALESCE(revoked_at, now()) WHERE client_id = $1 RETURNING {COLUMNS}"
    )))
    .bind(client_id)
    .fetch_optional(pool)
    .await?;
    from_row(row.ok_or_else(|| ApiError::not_found(format!("client {client_id}")))?)
}

/// The client, if `secret` is its current secret and it is not revoked. The hash is
/// checked even for an unknown client, so timing does not tell which ids exist.
pub async fn authenticate(pool: &PgPool, client_id: &str, secret: &str) -> ApiResult<Option<Client>> {
    type WithHash = (
        String,
        String,
        String,
        String,
        Option<String>,
        Vec<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("not a secret anyone has").unwrap_or_default());
    let row: Option<WithHash> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT secret_hash, {COLUMNS} FROM clients WHERE client_id = $1 AND revoked_at IS NULL"
    )))
    .bind(client_id)
    .fetch_optional(pool)
    .await?;
    let stored = row.as_ref().map_or(DUMMY.as_str(), |r| r.0.as_str());
    let ok = PasswordHash::new(stored)
        .map(|parsed| Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
        .unwrap_or(false);
    match row {
        Some((_, id, name, role, tenant, scopes, created, rotated, revoked)) if ok => {
            Ok(Some(from_row((id, name, role, tenant, scopes, created, rotated, revoked))?))
        }
        _ => Ok(None),
    }
}

/// For a process that runs identity itself (the embedded default and the demo): a client
/// of `role` (for `tenant`, when an insurer or platform) with a fresh secret each start,
/// created or re-activated.
pub async fn bootstrap_client(
    pool: &PgPool,
    client_id: &str,
    name: &str,
    role: Role,
    tenant: Option<&str>,
) -> ApiResult<IssuedSecret> {
    let new = NewClient {
        client_id: client_id.to_owned(),
        name: name.to_owned(),
        role,
        tenant: tenant.map(str::to_owned),
        scopes: Vec::new(),
    };
    match create(pool, &new).await {
        Ok(issued) => Ok(issued),
        Err(e) if e.code() == "client_exists" => {
            sqlx::query("UPDATE clients SET revoked_at = NULL WHERE client_id = $1 AND role = $2")
                .bind(client_id)
                .bind(role.as_str())
                .execute(pool)
                .await?;
            rotate(pool, client_id).await
        }
        Err(e) => Err(e),
    }
}
