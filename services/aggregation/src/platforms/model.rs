//! What a platform is.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gigcover_domain::{Currency, FieldProblem, PlatformId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    RideHailing,
    FoodDelivery,
    ParcelCourier,
    OnlineFreelance,
}

/// The format a platform sends its activity in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Adapter {
    /// TASK_START / TASK_END / COMPLETED_TASK events.
    GigEvents,
    /// One record per completed gig with earnings.
    GigRecords,
    /// Login/logout availability sessions.
    Shifts,
    /// CSV exports read through a declarative column mapping.
    Csv,
}

/// Where a platform operates: its country, time zone (for local days) and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    #[schema(pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[schema(value_type = TimeZone)]
    pub time_zone: Tz,
    pub currency: Currency,
}

/// The OpenAPI schema of a time zone (the `value_type` of `Tz` fields): one of the IANA
/// names the service parses (`chrono_tz`), one component every such field refers to.
pub struct TimeZone;

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .description(Some("An IANA time zone, e.g. `Europe/Berlin`."))
            .examples(["Europe/Berlin"])
            .into()
    }
}

impl utoipa::ToSchema for TimeZone {}

/// A platform registration as submitted by ops.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlatform {
    pub id: PlatformId,
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    pub market: Market,
    pub category: Category,
    pub adapter: Adapter,
}

impl NewPlatform {
    /// Problems serde cannot see: the name's length, the country's shape.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            problems.push(FieldProblem::new("name", "must be 1 to 200 characters"));
        }
        if !(self.market.country.len() == 2 && self.market.country.chars().all(|c| c.is_ascii_uppercase())) {
            problems.push(FieldProblem::new("market.country", "must be an ISO 3166-1 alpha-2 code such as DE"));
        }
        problems
    }
}

/// A registered platform.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Platform {
    pub id: PlatformId,
    pub name: String,
    pub market: Market,
    pub category: Category,
    pub adapter: Adapter,
    pub created_at: DateTime<Utc>,
}
