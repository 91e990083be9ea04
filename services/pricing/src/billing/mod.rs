//! Usage-based billing of per-hour products: one statement per policy and local calendar
//! month, a line per covered day with its insured hours (under the policy's definition,
//! read from enrichment) billed at the policy's hourly rate.
//!
//! - `statement`: composing a month's statement from hours (pure);
//! - `ledger`: statements of a policy, finalising the months that closed, adjustments;
//! - `routes`: a policy's statements, and finalised statements per insurer or worker.
//!
//! A statement stays provisional until its month closes plus a grace period for late data
//! (`pricing.statement_grace_hours`); then it is stored, never changes, and the hours of
//! its days are recorded as billed. A later change to a billed day becomes an adjustment
//! line (the difference, once) on the next statement that is still open.

pub mod ledger;
pub mod routes;
pub mod statement;
