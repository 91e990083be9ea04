//! Rows for `COPY ... FROM STDIN (FORMAT binary)`, each field written by sqlx's own encoder
//! for its type: the bytes a bound parameter of that type sends, so a value stored this way
//! equals the value a statement stores, and Postgres parses no text. The full recompute
//! writes every worker-day this way.
//!
//! The format: <https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT>.

use sqlx::encode::IsNull;
use sqlx::postgres::{PgArgumentBuffer, Postgres};

use crate::copy_out::SIGNATURE;

/// The COPY data written so far.
pub struct CopyRowsIn {
    buf: PgArgumentBuffer,
}

impl CopyRowsIn {
    /// Starts the data with the format's header.
    pub fn new() -> Self {
        let mut buf = PgArgumentBuffer::default();
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0u32.to_be_bytes()); // flags
        buf.extend_from_slice(&0u32.to_be_bytes()); // no header extension
        Self { buf }
    }

    /// Starts a row of `fields` fields.
    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    /// Appends one field (`None` is NULL). For a `json` column pass its text: a `json`
    /// value's binary form is its text. Scalar types only: sqlx finishes arrays of custom
    /// types and records once it knows their type ids, which a COPY never asks for.
    pub fn field<'q, T: sqlx::Encode<'q, Postgres>>(&mut self, value: &T) -> anyhow::Result<()> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let len = match value.encode_by_ref(&mut self.buf).map_err(|e| anyhow::anyhow!("encoding a field: {e}"))? {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(self.buf.len() - at - 4)?,
        };
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// The bytes written since the last call, to send. The buffer goes on with the same
    /// capacity, so the next rows are written without growing it step by step.
    pub fn take(&mut self) -> Vec<u8> {
        let capacity = self.buf.capacity();
        std::mem::replace(&mut *self.buf, Vec::with_capacity(capacity))
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The last bytes to send, ending with the format's trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        std::mem::take(&mut *self.buf)
    }
}

impl Default for CopyRowsIn {
    fn default() -> Self {
        Self::new()
    }
}
