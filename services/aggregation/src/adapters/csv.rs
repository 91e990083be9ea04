//! CSV exports read through a declarative mapping: which columns hold the worker
//! reference, the record's id, start, end (or duration), distance and earnings, how times
//! are written and in which time zone. Columns the mapping does not name are never read.
//!
//! The DoorDash sample, for instance (times "DD HH:MM:SS", month and year given here):
//! ```json
//! {"worker_ref": "Driver_ID",
//!  "external_id": ["Driver_ID", "Customer_placed_order_datetime", "Restaurant_ID", "Consumer_ID"],
//!  "start": {"column": "Placed_order_with_restaurant_datetime", "format": "%d %H:%M:%S"},
//!  "end": {"column": "Delivered_to_consumer_datetime", "format": "%d %H:%M:%S"},
//!  "time_zone": "America/Los_Angeles", "year": 2024, "month": 5,
//!  "earnings": {"tips": "Amount_of_tip"}}
//! ```

use chrono::format::{Parsed, StrftimeItems, parse};
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use gigcover_domain::{Activity, ActivityDraft, ActivityKind, ActivityStatus, FieldProblem};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Accepted, Change, EarningsParts, ParseContext, Problems, RawRecord, Rejected, distance};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeColumn {
    #[schema(pattern = "\\S")]
    pub column: String,
    /// A chrono `strftime` format (`%d %H:%M:%S`), or `rfc3339`.
    pub format: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationColumn {
    #[schema(pattern = "\\S")]
    pub column: String,
    pub unit: DurationUnit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DistanceColumn {
    #[schema(pattern = "\\S")]
    pub column: String,
    /// `km`, `miles` or `m`.
    pub unit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarningsColumns {
    #[schema(pattern = "\\S")]
    pub pay: Option<String>,
    #[schema(pattern = "\\S")]
    pub tips: Option<String>,
    #[schema(pattern = "\\S")]
    pub bonus: Option<String>,
    #[schema(pattern = "\\S")]
    pub fees: Option<String>,
}

/// How to read one platform's CSV export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvMapping {
    /// The column with the platform's reference for the worker.
    #[schema(pattern = "\\S")]
    pub worker_ref: String,
    /// The columns that together identify a record (joined with `|`).
    #[schema(schema_with = column_names)]
    pub external_id: Vec<String>,
    #[serde(default = "engagement")]
    pub kind: ActivityKind,
    pub start: TimeColumn,
    /// Either `end` or `duration`, not both.
    pub end: Option<TimeColumn>,
    pub duration: Option<DurationColumn>,
    /// The zone the times are written in.
    #[schema(value_type = crate::platforms::model::TimeZone)]
    pub time_zone: Tz,
    /// For formats without a year or month.
    pub year: Option<i32>,
    #[schema(minimum = 1, maximum = 12)]
    pub month: Option<u32>,
    pub distance: Option<DistanceColumn>,
    pub earnings: Option<EarningsColumns>,
}

/// The schema of `external_id`: at least one column, each name holding a non-space (as
/// [`CsvMapping::problems`] checks).
fn column_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some("\\S")))
        .min_items(Some(1))
        .description(Some("The columns that together identify a record (joined with `|`)."))
        .build()
}

/// Says in the OpenAPI document what [`CsvMapping::problems`] checks and a derived schema
/// cannot: exactly one of `end` and `duration` is given.
pub struct EndOrDuration;

impl utoipa::Modify for EndOrDuration {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Type};
        let Some(schemas) = openapi.components.as_mut().map(|c| &mut c.schemas) else { return };
        let Some(mapping) = schemas.remove("CsvMapping") else { return };
        let given = |field: &str| {
            ObjectBuilder::new().required(field).property(field, ObjectBuilder::new().schema_type(Type::Object))
        };
        let one = OneOfBuilder::new().item(given("end")).item(given("duration"));
        schemas.insert("CsvMapping".to_owned(), AllOfBuilder::new().item(mapping).item(one).into());
    }
}

fn engagement() -> ActivityKind {
    ActivityKind::Engagement
}

impl CsvMapping {
    /// Problems with the mapping itself.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut p = Vec::new();
        if self.external_id.is_empty() {
            p.push(FieldProblem::new("external_id", "name at least one column"));
        }
        for (field, column) in self.columns() {
            if column.trim().is_empty() {
                p.push(FieldProblem::new(field, "name a column (not an empty name)"));
            }
        }
        if self.end.is_some() == self.duration.is_some() {
            p.push(FieldProblem::new("end", "give exactly one of end and duration"));
        }
        if let Some(m) = self.month
            && !(1..=12).contains(&m)
        {
            p.push(FieldProblem::new("month", "must be 1 to 12"));
        }
        for (field, t) in [("start", Some(&self.start)), ("end", self.end.as_ref())] {
            if let Some(t) = t
                && t.format != "rfc3339"
                && StrftimeItems::new(&t.format).any(|i| matches!(i, chrono::format::Item::Error))
            {
                p.push(FieldProblem::new(format!("{field}.format"), "is not a valid strftime format"));
            }
        }
        p
    }

    /// Every column the mapping names, with the field naming it.
    fn columns(&self) -> Vec<(String, &str)> {
        let mut columns = vec![("worker_ref".to_owned(), self.worker_ref.as_str())];
        columns.extend(self.external_id.iter().enumerate().map(|(i, c)| (format!("external_id[{i}]"), c.as_str())));
        columns.push(("start.column".to_owned(), &self.start.column));
        columns.extend(self.end.iter().map(|t| ("end.column".to_owned(), t.column.as_str())));
        columns.extend(self.duration.iter().map(|d| ("duration.column".to_owned(), d.column.as_str())));
        columns.extend(self.distance.iter().map(|d| ("distance.column".to_owned(), d.column.as_str())));
        if let Some(e) = &self.earnings {
            for (part, column) in [("pay", &e.pay), ("tips", &e.tips), ("bonus", &e.bonus), ("fees", &e.fees)] {
                columns.extend(column.as_deref().map(|c| (format!("earnings.{part}"), c)));
            }
        }
        columns
    }

    /// Column positions for a header row; every mapped column must be there.
    pub fn resolve(&self, header: &csv::StringRecord) -> Result<Resolved, Rejected> {
        let mut missing = Vec::new();
        let mut find = |name: &str| {
            let at = header.iter().position(|h| h.trim() == name);
            if at.is_none() {
                missing.push(FieldProblem::new(name, "this column is not in the header"));
            }
            at.unwrap_or(0)
        };
        let resolved = Resolved {
            worker_ref: find(&self.worker_ref),
            external_id: self.external_id.iter().map(|c| find(c)).collect(),
            start: find(&self.start.column),
            end: self.end.as_ref().map(|t| find(&t.column)),
            duration: self.duration.as_ref().map(|d| find(&d.column)),
            distance: self.distance.as_ref().map(|d| find(&d.column)),
            pay: self.earnings.as_ref().and_then(|e| e.pay.as_deref()).map(&mut find),
            tips: self.earnings.as_ref().and_then(|e| e.tips.as_deref()).map(&mut find),
            bonus: self.earnings.as_ref().and_then(|e| e.bonus.as_deref()).map(&mut find),
            fees: self.earnings.as_ref().and_then(|e| e.fees.as_deref()).map(&mut find),
        };
        if missing.is_empty() { Ok(resolved) } else { Err(Rejected::new("invalid_header", missing)) }
    }

    fn time(&self, spec: &TimeColumn, text: &str) -> Result<DateTime<Utc>, String> {
        let text = text.trim();
        if spec.format == "rfc3339" {
            return DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("{text:?}: {e}"));
        }
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, StrftimeItems::new(&spec.format))
            .map_err(|e| format!("{text:?} does not match {:?}: {e}", spec.format))?;
        if parsed.year().is_none()
            && let Some(y) = self.year
        {
            parsed.set_year(i64::from(y)).map_err(|e| e.to_string())?;
        }
        if parsed.month().is_none()
            && let Some(m) = self.month
        {
            parsed.set_month(i64::from(m)).map_err(|e| e.to_string())?;
        }
        let naive: NaiveDateTime = parsed
            .to_naive_datetime_with_offset(0)
            .map_err(|e| format!("{text:?}: {e} (are year and month in the mapping?)"))?;
        match self.time_zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earliest, _) => Ok(earliest.with_timezone(&Utc)),
            LocalResult::None => Err(format!("{text:?} does not exist in {} (a daylight-saving gap)", self.time_zone)),
        }
    }

    /// True when times carry only a day of the month (the month comes from the mapping).
    fn month_is_implied(&self, spec: &TimeColumn) -> bool {
        self.month.is_some()
            && spec.format != "rfc3339"
            && !["%m", "%b", "%B", "%F", "%D", "%h"].iter().any(|m| spec.format.contains(m))
    }

    /// The same day-of-month time in the following month: a delivery that starts on the
    /// 31st and ends on the 1st ended in the next month.
    fn next_month(&self, spec: &TimeColumn, text: &str) -> Option<DateTime<Utc>> {
        let (year, month) = match self.month? {
            12 => (self.year? + 1, 1),
            m => (self.year?, m + 1),
        };
        let next = CsvMapping { year: Some(year), month: Some(month), ..self.clone() };
        next.time(spec, text).ok()
    }

    /// One data row into an activity.
    pub fn parse(
        &self,
        at: &Resolved,
        header: &csv::StringRecord,
        row: &csv::StringRecord,
        ctx: &ParseContext<'_>,
    ) -> Result<Accepted, Rejected> {
        let cell = |i: usize| row.get(i).map(str::trim).unwrap_or("");
        let name = |i: usize| header.get(i).unwrap_or("").trim().to_owned();
        let mut p = Problems::default();
        let mut raw = serde_json::Map::new();
        let mut keep = |i: usize| {
            raw.insert(name(i), serde_json::Value::from(cell(i)));
        };
        keep(at.worker_ref);
        at.external_id.iter().for_each(|&i| keep(i));
        keep(at.start);
        for i in [at.end, at.duration, at.distance, at.pay, at.tips, at.bonus, at.fees].into_iter().flatten() {
            keep(i);
        }
        let time = |i: usize, spec: &TimeColumn, p: &mut Problems| match self.time(spec, cell(i)) {
            Ok(t) => Some(t),
            Err(message) => {
                p.push(&spec.column, message);
                None
            }
        };
        let start = time(at.start, &self.start, &mut p);
        let end = match (&self.end, at.end, &self.duration, at.duration) {
            (Some(spec), Some(i), _, _) => time(i, spec, &mut p).map(|end| match start {
                Some(s) if end < s && self.month_is_implied(spec) => self.next_month(spec, cell(i)).unwrap_or(end),
                _ => end,
            }),
            (_, _, Some(d), Some(i)) => match cell(i).parse::<Decimal>() {
                Ok(n) => {
                    let secs = n * Decimal::from(match d.unit {
                        DurationUnit::Seconds => 1,
                        DurationUnit::Minutes => 60,
                        DurationUnit::Hours => 3600,
                    });
                    start.and_then(|s| i64::try_from(secs.trunc()).ok().map(|secs| s + Duration::seconds(secs)))
                }
                Err(_) => {
                    p.push(&d.column, format!("{:?} is not a number", cell(i)));
                    None
                }
            },
            _ => None,
        };
        let decimal = |i: Option<usize>, column: &str, p: &mut Problems| -> Option<Decimal> {
            let text = cell(i?);
            if text.is_empty() {
                return None;
            }
            match text.parse::<Decimal>() {
                Ok(d) => Some(d),
                Err(_) => {
                    p.push(column, format!("{text:?} is not a number"));
                    None
                }
            }
        };
        let columns = self.earnings.clone().unwrap_or_default();
        let parts = EarningsParts {
            currency: None,
            pay: decimal(at.pay, columns.pay.as_deref().unwrap_or("pay"), &mut p),
            tips: decimal(at.tips, columns.tips.as_deref().unwrap_or("tips"), &mut p),
            bonus: decimal(at.bonus, columns.bonus.as_deref().unwrap_or("bonus"), &mut p),
            fees: decimal(at.fees, columns.fees.as_deref().unwrap_or("fees"), &mut p),
        };
        let earnings = self.earnings.as_ref().and_then(|_| parts.build("earnings", ctx.platform.currency, &mut p));
        let dist = match (&self.distance, at.distance) {
            (Some(d), Some(i)) => {
                let value = decimal(Some(i), &d.column, &mut p);
                distance(value, Some(&d.unit), &d.column, &mut p)
            }
            _ => None,
        };
        p.into_result()?;
        let external_id = at.external_id.iter().map(|&i| cell(i)).collect::<Vec<_>>().join("|");
        let draft = ActivityDraft {
            platform: Some(ctx.platform.id.clone()),
            external_id: Some(external_id),
            worker_ref: Some(cell(at.worker_ref).to_owned()),
            kind: Some(self.kind),
            start,
            end,
            status: Some(ActivityStatus::Completed),
            distance_km: dist.map(|d| d.km()),
            earnings: earnings.map(Ok),
        };
        let activity = Activity::try_from(draft).map_err(|e| Rejected::new("invalid_record", e.0))?;
        Ok(Accepted { event_id: None, change: Change::Upsert(activity), raw: RawRecord::of(&raw) })
    }
}

/// Column positions of a mapping in one file.
#[derive(Debug, Clone)]
pub struct Resolved {
    worker_ref: usize,
    external_id: Vec<usize>,
    start: usize,
    end: Option<usize>,
    duration: Option<usize>,
    distance: Option<usize>,
    pay: Option<usize>,
    tips: Option<usize>,
    bonus: Option<usize>,
    fees: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::testing::{ctx, platform, platform_in};
    use crate::platforms::model::Adapter;

    fn doordash() -> CsvMapping {
        serde_json::from_value(serde_json::json!({
            "worker_ref": "Driver_ID",
            "external_id": ["Driver_ID", "Customer_placed_order_datetime", "Restaurant_ID", "Consumer_ID"],
            "start": {"column": "Placed_order_with_restaurant_datetime", "format": "%d %H:%M:%S"},
            "end": {"column": "Delivered_to_consumer_datetime", "format": "%d %H:%M:%S"},
            "time_zone": "America/Los_Angeles", "year": 2024, "month": 5,
            "earnings": {"tips": "Amount_of_tip"}
        }))
        .unwrap()
    }

    fn record(s: &str) -> csv::StringRecord {
        csv::ReaderBuilder::new().has_headers(false).from_reader(s.as_bytes()).records().next().unwrap().unwrap()
    }

    const HEADER: &str = "Customer_placed_order_datetime,Placed_order_with_restaurant_datetime,Driver_at_restaurant_datetime,Delivered_to_consumer_datetime,Driver_ID,Restaurant_ID,Consumer_ID,Delivery_Region,Is_ASAP,Order_total,Amount_of_discount,Amount_of_tip,Refunded_amount";

    #[test]
    fn a_doordash_row_becomes_an_engagement_in_los_angeles_time() {
        let p = platform_in(Adapter::Csv, "USD");
        let header = record(HEADER);
        let mapping = doordash();
        assert!(mapping.problems().is_empty());
        let at = mapping.resolve(&header).unwrap();
        let row =
            record("01 02:52:12,01 03:00:25,01 03:08:09,01 03:35:20,279,50,6738,Mountain View,True,16.33,0,0.82,0");
        let a = mapping.parse(&at, &header, &row, &ctx(&p)).unwrap();
        let Change::Upsert(activity) = a.change else { panic!("upsert") };
        // 03:00:25 PDT on 1 May 2024 is 10:00:25 UTC.
        assert_eq!(activity.interval.start().to_rfc3339(), "2024-05-01T10:00:25+00:00");
        assert_eq!(activity.interval.duration(), Duration::seconds(34 * 60 + 55));
        assert_eq!(activity.worker_ref.as_str(), "279");
        assert_eq!(activity.earnings.unwrap().tips().amount(), Decimal::new(82, 2));
        let raw: serde_json::Value = serde_json::from_str(a.raw.json()).unwrap();
        assert!(raw.get("Delivery_Region").is_none(), "unmapped columns are not kept");
    }

    #[test]
    fn a_mapping_naming_an_empty_column_is_refused_naming_the_field() {
        let mut m = doordash();
        m.worker_ref = String::new();
        m.external_id[2] = " ".to_owned();
        m.end.as_mut().unwrap().column = String::new();
        m.earnings.as_mut().unwrap().tips = Some(String::new());
        let fields: Vec<String> = m.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["worker_ref", "external_id[2]", "end.column", "earnings.tips"]);
    }

    #[test]
    fn a_delivery_over_the_turn_of_the_month_ends_in_the_next_month() {
        let p = platform_in(Adapter::Csv, "USD");
        let header = record(HEADER);
        let m = doordash();
        let at = m.resolve(&header).unwrap();
        let row = record("31 23:20:00,31 23:30:00,,01 00:10:00,279,50,6738,San Jose,True,16.33,0,0.82,0");
        let Change::Upsert(a) = m.parse(&at, &header, &row, &ctx(&p)).unwrap().change else { panic!("upsert") };
        assert_eq!(a.interval.duration(), Duration::minutes(40));
        assert_eq!(a.interval.end().to_rfc3339(), "2024-06-01T07:10:00+00:00");
    }

    #[test]
    fn a_missing_column_is_named() {
        let mut m = doordash();
        m.worker_ref = "Dasher".into();
        let err = m.resolve(&record(HEADER)).unwrap_err();
        assert_eq!(err.problems[0].field, "Dasher");
    }

    #[test]
    fn a_bad_cell_is_named() {
        let p = platform(Adapter::Csv);
        let header = record(HEADER);
        let m = doordash();
        let at = m.resolve(&header).unwrap();
        let row = record("01 02:52:12,01 03:xx:25,,01 03:35:20,279,50,6738,Mountain View,True,16.33,0,lots,0");
        let err = m.parse(&at, &header, &row, &ctx(&p)).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["Placed_order_with_restaurant_datetime", "Amount_of_tip"]);
    }
}
