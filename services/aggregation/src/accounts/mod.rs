//! Cross-platform identity: a platform registers its reference for a worker and hands the
//! worker a one-time link code; the worker, signed in, redeems the codes of each of their
//! platforms, so all their platform accounts resolve to one gigcover worker. Until then
//! the account's activity is held (no worker); when the link arrives it is attributed and
//! announced (`late_attribution` catches activity written while the link was being made).
//! Unlinking stops new attribution without rewriting what was attributed.

pub(crate) mod codes;
pub(crate) mod late_attribution;
pub(crate) mod routes;
mod store;
