//! Sealing and opening a worker's personal data with their data key.

use chrono::NaiveDate;
use gigcover_domain::{FieldProblem, Pii};
use gigcover_kit::crypto::Sealer;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::keys::KeyWrapper;

/// A worker's personal data. Every field is `Pii`: it prints `***` in logs and traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    #[schema(value_type = Option<String>)]
    pub name: Option<Pii<String>>,
    #[schema(value_type = Option<String>)]
    pub email: Option<Pii<String>>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Pii<String>>,
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Pii<NaiveDate>>,
    #[schema(value_type = Option<String>)]
    pub address: Option<Pii<String>>,
    /// Where benefits are paid.
    #[schema(value_type = Option<String>)]
    pub iban: Option<Pii<String>>,
}

impl PersonalData {
    /// Every problem, field by field (values are never echoed back).
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut p = Vec::new();
        let text = |v: &Option<Pii<String>>| v.as_ref().map(|s| s.expose().trim().to_owned());
        for (field, value, max) in
            [("name", text(&self.name), 200), ("address", text(&self.address), 500), ("phone", text(&self.phone), 32)]
        {
            if value.as_ref().is_some_and(|v| v.is_empty() || v.len() > max) {
                p.push(FieldProblem::new(field, format!("1 to {max} characters")));
            }
        }
        if text(&self.email).is_some_and(|e| !(3..=254).contains(&e.len()) || !e.contains('@') || e.contains(' ')) {
            p.push(FieldProblem::new("email", "an email address"));
        }
        if text(&self.iban).is_some_and(|i| !valid_iban(&i)) {
            p.push(FieldProblem::new(
                "iban",
                "an IBAN (country code, check digits, account; the check digits must match)",
            ));
        }
        if self.date_of_birth.as_ref().is_some_and(|d| {
            let today = chrono::Utc::now().date_naive();
            *d.expose() > today || *d.expose() < today - chrono::Duration::days(120 * 366)
        }) {
            p.push(FieldProblem::new("date_of_birth", "a date in the past 120 years"));
        }
        p
    }
}

/// ISO 13616: letters and digits, 15 to 34 long, mod-97 of the rearranged number is 1.
fn valid_iban(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if !(15..=34).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let digits = if c.is_ascii_digit() { c.to_string() } else { (c as u32 - 'A' as u32 + 10).to_string() };
        for d in digits.chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap_or(0)) % 97;
        }
    }
    rem == 1
}

fn aad(worker: Uuid) -> Vec<u8> {
    format!("personal-data:{worker}").into_bytes()
}

/// Stores `data`, creating the worker's data key on first use.
pub async fn put(pool: &PgPool, wrapper: &dyn KeyWrapper, worker: Uuid, data: &PersonalData) -> ApiResult<()> {
    let mut tx = pool.begin().await?;
    let erased: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erasures WHERE worker_id = $1)")
        .bind(worker)
        .fetch_one(&mut *tx)
        .await?;
    if erased {
        return Err(ApiError::conflict("erased", "this worker's personal data was erased"));
    }
    let wrapped: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT wrapped_key FROM worker_keys WHERE worker_id = $1 FOR UPDATE")
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
    let key = match wrapped {
        Some(w) => wrapper.unwrap(worker, &w).await?,
        None => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for a data key: {e}"))?;
            sqlx::query("INSERT INTO worker_keys (worker_id, wrapped_key) VALUES ($1, $2)")
                .bind(worker)
                .bind(wrapper.wrap(worker, &key).await?)
                .execute(&mut *tx)
                .await?;
            key
        }
    };
    let plain = serde_json::to_vec(data).map_err(anyhow::Error::from)?;
    let sealed = Sealer::from_key(&key).seal(&plain, &aad(worker))?;
    sqlx::query(
        "INSERT INTO personal_data (worker_id, sealed) VALUES ($1, $2)
         ON CONFLICT (worker_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()",
    )
    .bind(worker)
    .bind(sealed)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The worker's personal data (`None` when none was given or it was erased).
pub async fn get(pool: &PgPool, wrapper: &dyn KeyWrapper, worker: Uuid) -> ApiResult<Option<PersonalData>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT k.wrapped_key, p.sealed FROM personal_data p JOIN worker_keys k USING (worker_id) WHERE worker_id = $1",
    )
    .bind(worker)
    .fetch_optional(pool)
    .await?;
    let Some((wrapped, sealed)) = row else { return Ok(None) };
    let key = wrapper.unwrap(worker, &wrapped).await?;
    let plain = Sealer::from_key(&key).open(&sealed, &aad(worker))?;
    Ok(Some(serde_json::from_slice(&plain).map_err(anyhow::Error::from)?))
}

/// Crypto-shredding: the data key goes first (so any copy of the ciphertext is unreadable),
/// then the rows; the erasure itself is recorded.
pub async fn erase(pool: &PgPool, worker: Uuid) -> ApiResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM personal_data WHERE worker_id = $1").bind(worker).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM worker_keys WHERE worker_id = $1").bind(worker).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO erasures (worker_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_iban;

    #[test]
    fn iban_check_digits_are_checked() {
        assert!(valid_iban("DE89 3704 0044 0532 0130 00"));
        assert!(valid_iban("GB82WEST12345698765432"));
        assert!(!valid_iban("DE89 3704 0044 0532 0130 01"));
        assert!(!valid_iban("DE89"));
    }
}
