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
use rust_decimal::Decimal;
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

/// A `numeric`, as sqlx decodes it: scaled to the value's display scale, except zero,
/// which has no scale.
pub fn numeric(b: &[u8]) -> anyhow::Result<Decimal> {
    ensure!(b.len() >= 8, "a numeric of {} bytes", b.len());
    let word = |i: usize| u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    let (ndigits, weight, sign, dscale) = (usize::from(word(0)), word(1) as i16, word(2), word(3));
    ensure!(b.len() == 8 + 2 * ndigits, "a numeric of {ndigits} digits in {} bytes", b.len());
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        _ => bail!("a numeric that is not a finite number"),
    };
    if ndigits == 0 {
        return Ok(Decimal::ZERO);
    }
    let too_big = || anyhow!("a numeric too large for a decimal");
    // The base-10,000 digits as one integer, and the power of ten it is to be multiplied by.
    let mut mantissa: i128 = 0;
    for i in 0..ndigits {
        let digit = word(4 + i);
        ensure!(digit < 10_000, "a numeric digit of {digit}");
        mantissa = mantissa.checked_mul(10_000).and_then(|m| m.checked_add(i128::from(digit))).ok_or_else(too_big)?;
    }
    let exponent = 4 * (i32::from(weight) - (ndigits as i32 - 1));
    let mut value = if exponent >= 0 {
        let scaled = 10i128.checked_pow(exponent as u32).and_then(|p| mantissa.checked_mul(p)).ok_or_else(too_big)?;
        Decimal::try_from_i128_with_scale(scaled, 0)?
    } else {
        // The last base-10,000 digit is padded with zeros past the display scale: drop
        // them first, or a value that fits a decimal would not fit on the way.
        let padding = exponent.unsigned_abs().saturating_sub(u32::from(dscale));
        let mantissa = mantissa / 10i128.pow(padding.min(4));
        Decimal::try_from_i128_with_scale(mantissa, exponent.unsigned_abs() - padding.min(4))?
    };
    value.set_sign_negative(negative);
    value.rescale(u32::from(dscale));
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].into_iter().chain(digits.iter().copied()) {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_decode_with_their_display_scale() {
        // 12.50 = 12 . 5000, display scale 2
        assert_eq!(numeric(&numeric_bytes(2, 0, 0, 2, &[12, 5000])).unwrap().to_string(), "12.50");
        // -0.0031 = 0 . 0031 (weight -1), display scale 4
        assert_eq!(numeric(&numeric_bytes(1, -1, 0x4000, 4, &[31])).unwrap().to_string(), "-0.0031");
        // 20000 = 2 * 10^4 (weight 1, one digit), no scale
        assert_eq!(numeric(&numeric_bytes(1, 1, 0, 0, &[2])).unwrap().to_string(), "20000");
        // 28 digits after dropping the last digit's padding (3500 with display scale 2)
        assert_eq!(
            numeric(&numeric_bytes(8, 6, 0, 2, &[792, 2816, 2514, 2643, 3759, 3543, 9503, 3500])).unwrap().to_string(),
            "792281625142643375935439503.35"
        );
        // zero has no digits and no scale, whatever its display scale
        assert_eq!(numeric(&numeric_bytes(0, 0, 0, 2, &[])).unwrap().to_string(), "0");
    }

    #[test]
    fn malformed_numerics_are_refused() {
        assert!(numeric(&numeric_bytes(0, 0, 0xC000, 0, &[])).is_err(), "NaN");
        assert!(numeric(&numeric_bytes(2, 0, 0, 0, &[1])).is_err(), "fewer digits than announced");
        assert!(numeric(&numeric_bytes(1, 0, 0, 0, &[10_000])).is_err(), "a digit out of base");
        assert!(numeric(&numeric_bytes(1, 20, 0, 0, &[1])).is_err(), "10^80");
    }

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
