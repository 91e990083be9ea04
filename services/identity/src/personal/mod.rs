//! Workers' personal data (PII), only here: other services hold pseudonymous worker ids.
//! Encrypted at rest per worker (envelope encryption), exportable, erasable by
//! crypto-shredding.

pub mod keys;
pub mod kms;
pub mod routes;
pub mod store;
