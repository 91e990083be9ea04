//! Reading what was ingested: a worker's activities, a platform's ingestion status.

pub(crate) mod activities;
pub(crate) mod status;
