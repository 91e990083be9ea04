//! Reading a bulk query through `COPY (...) TO STDOUT (FORMAT binary)`: the fields are
//! decoded straight from the bytes Postgres sends, without a row object or a column
//! lookup by name. The full recompute reads every interval this way (through sqlx's row
//! stream, decoding took most of its time).
//!
//! The format: <https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT>.

use anyhow::{Context as _, anyhow, bail, ensure};
use bytes::{Buf as _, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use futures::stream::BoxStream;
use sqlx::PgConnection;
use uuid::Uuid;

pub(crate) const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Microseconds from the Unix epoch to Postgres's (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The rows of one query, in order.
pub struct CopyRows<'c> {
    stream: BoxStream<'c, sqlx::Result<Bytes>>,
    buf: BytesMut,
    header_read: bool,
}

impl<'c> CopyRows<'c> {
    /// Starts `query` (a `SELECT`) on `conn`.
    pub async fn start(conn: &'c mut PgConnection, query: &str) -> sqlx::Result<Self> {
        let stream = conn.copy_out_raw(&format!("COPY ({query}) TO STDOUT (FORMAT binary)")).await?;
        Ok(Self { stream, buf: BytesMut::with_capacity(1 << 16), header_read: false })
    }

    /// Decodes the next row with `decode`, or `None` after the last.
    pub async fn next<T>(
        &mut self,
        decode: impl FnOnce(&mut Fields<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        loop {
            if !self.header_read {
                if let Some(len) = header_len(&self.buf)? {
                    self.buf.advance(len);
                    self.header_read = true;
                    continue;
                }
            } else if let Some(row) = row_len(&self.buf)? {
                let Some((count, len)) = row else {
                    // Read to the end of the stream, which takes the command's completion
                    // off the connection: one dropped before would go back to the pool with
                    // the rest of the answer unread.
                    while self.stream.try_next().await?.is_some() {}
                    return Ok(None);
                };
                let mut fields = Fields { bytes: &self.buf[2..len], left: count, read: 0 };
                let value = decode(&mut fields)?;
                ensure!(fields.left == 0, "the row has {} more fields than were read", fields.left);
                self.buf.advance(len);
                return Ok(Some(value));
            }
            match self.stream.try_next().await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => bail!("COPY ended before its trailer"),
            }
        }
    }
}

/// The header's length, once all of it is in.
fn header_len(buf: &[u8]) -> anyhow::Result<Option<usize>> {
    let fixed = SIGNATURE.len() + 8;
    if buf.len() < fixed {
        return Ok(None);
    }
    ensure!(buf.starts_with(SIGNATURE), "not COPY's binary format");
    // Bit 16 (OIDs included) and the others are flags this reader does not understand.
    let flags = u32::from_be_bytes(buf[SIGNATURE.len()..SIGNATURE.len() + 4].try_into()?);
    ensure!(flags == 0, "COPY header flags {flags:#x}");
    let extension = i32::from_be_bytes(buf[fixed - 4..fixed].try_into()?);
    let len = fixed + usize::try_from(extension).context("a negative header extension")?;
    Ok((buf.len() >= len).then_some(len))
}

/// `Some(None)` at the trailer, `Some(Some((fields, bytes)))` once a whole row is in,
/// `None` while it is not.
fn row_len(buf: &[u8]) -> anyhow::Result<Option<Option<(usize, usize)>>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let count = i16::from_be_bytes([buf[0], buf[1]]);
    if count == -1 {
        return Ok(Some(None));
    }
    let count = usize::try_from(count).context("a negative field count")?;
    let mut at = 2;
    for _ in 0..count {
        let Some(len) = buf.get(at..at + 4) else { return Ok(None) };
        let len = i32::from_be_bytes(len.try_into()?);
        at += 4 + usize::try_from(len).unwrap_or(0);
    }
    Ok((buf.len() >= at).then_some(Some((count, at))))
}

/// The fields of one row, read in order.
pub struct Fields<'a> {
    bytes: &'a [u8],
    left: usize,
    /// Fields read so far (for errors).
    read: usize,
}

impl<'a> Fields<'a> {
    /// The next field's bytes, `None` for NULL.
    pub fn raw(&mut self) -> anyhow::Result<Option<&'a [u8]>> {
        ensure!(self.left > 0, "the row has no more fields");
        self.read += 1;
        self.left -= 1;
        let (len, rest) = self.bytes.split_first_chunk::<4>().ok_or_else(|| anyhow!("a field cut short"))?;
        let Ok(len) = usize::try_from(i32::from_be_bytes(*len)) else {
            self.bytes = rest;
            return Ok(None);
        };
        let (field, rest) = rest.split_at_checked(len).ok_or_else(|| anyhow!("a field cut short"))?;
        self.bytes = rest;
        Ok(Some(field))
    }

    /// The next field, decoded by `decode`; `None` for NULL.
    pub fn optional<T>(&mut self, decode: fn(&'a [u8]) -> anyhow::Result<T>) -> anyhow::Result<Option<T>> {
        let field = self.raw()?;
        field.map(decode).transpose().with_context(|| format!("field {} of the row", self.read))
    }

    /// The next field, decoded by `decode`; NULL is an error.
    pub fn required<T>(&mut self, decode: fn(&'a [u8]) -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.optional(decode)?.ok_or_else(|| anyhow!("an unexpected NULL in field {} of the row", self.read))
    }
}

pub fn uuid(b: &[u8]) -> anyhow::Result<Uuid> {
    Ok(Uuid::from_slice(b)?)
}

/// Borrowed from the row: a caller that keeps it copies it.
pub fn text(b: &[u8]) -> anyhow::Result<&str> {
    Ok(std::str::from_utf8(b)?)
}

pub fn int4(b: &[u8]) -> anyhow::Result<i32> {
    Ok(i32::from_be_bytes(b.try_into()?))
}

pub fn timestamptz(b: &[u8]) -> anyhow::Result<DateTime<Utc>> {
    let micros = i64::from_be_bytes(b.try_into()?);
    micros
        .checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| anyhow!("timestamp {micros} out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_found_only_once_all_its_fields_are_in() {
        let mut row = vec![0, 2];
        row.extend_from_slice(&4i32.to_be_bytes());
        row.extend_from_slice(&7i32.to_be_bytes());
        row.extend_from_slice(&(-1i32).to_be_bytes());
        for cut in 0..row.len() {
            assert_eq!(row_len(&row[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(row_len(&row).unwrap(), Some(Some((2, row.len()))));
        let mut fields = Fields { bytes: &row[2..], left: 2, read: 0 };
        assert_eq!(fields.required(int4).unwrap(), 7);
        assert_eq!(fields.optional(int4).unwrap(), None);
        assert!(fields.raw().is_err(), "past the last field");
        assert_eq!(row_len(&[0xff, 0xff]).unwrap(), Some(None), "the trailer");
    }
}
