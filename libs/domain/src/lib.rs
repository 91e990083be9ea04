//! The types every gigcover service shares. Each one is built by `parse`/`TryFrom`
//! and cannot hold an invalid value, so code that receives one need not check it again.

pub mod activity;
pub mod benefit;
pub mod currency;
pub mod ids;
pub mod interval;
pub mod money;
pub mod pii;

pub use activity::{
    Activity, ActivityDraft, ActivityError, ActivityKind, ActivityStatus, Distance, Earnings, FieldProblem,
};
pub use benefit::BenefitTerms;
pub use currency::{Currency, UnknownCurrency};
pub use ids::{ExternalRef, IdError, InsurerId, PlatformId, Slug, WorkerId};
pub use interval::{Interval, IntervalError, LocalDayPiece, is_weekend, local_day_start, local_instant};
pub use money::{Money, MoneyError, Rounding};
pub use pii::Pii;
