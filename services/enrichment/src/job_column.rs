//! The `intervals.job` column: what an interval's job adds to a day (currency, distance,
//! pay, tips, bonus, fees) in one `text` field, `NULL` where it has none of them (sessions).
//!
//! The full recompute reads every stored interval, and for Postgres's `COPY` the cost of a
//! row is mostly its number of fields, not their types: with six fields in one, the full
//! recompute of 10 million intervals took about a quarter less time, side by side
//! (`migrations/enrichment/20261130000001_interval_job.sql`). The figures are written and
//! read whole by this service, never queried inside.
//!
//! The format: six tokens separated by one space, `-` for a missing one, in the order
//! currency, distance in km, pay, tips, bonus, fees; amounts as `rust_decimal` and
//! Postgres's `numeric` print them (plain digits, the scale kept): `EUR 3.5 6.00 1.00 0
//! 0.50`. The table's check constraint holds every row to it.

use std::fmt::Write as _;

use anyhow::{Context as _, anyhow, ensure};
use rust_decimal::Decimal;

use crate::store::StoredInterval;

/// A job's figures as the column holds them, the currency borrowed from the text.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFigures<'a> {
    pub currency: Option<&'a str>,
    pub distance_km: Option<Decimal>,
    /// Pay, tips, bonus, fees.
    pub earnings: [Option<Decimal>; 4],
}

/// The column's value for an interval: `None` where it has no figure at all.
pub fn format(i: &StoredInterval) -> Option<String> {
    let amounts = [i.distance_km, i.pay, i.tips, i.bonus, i.fees];
    if i.currency.is_none() && amounts.iter().all(Option::is_none) {
        return None;
    }
    let mut text = i.currency.clone().unwrap_or_else(|| "-".to_owned());
    for amount in amounts {
        match amount {
            // Writing to a `String` cannot fail.
            Some(a) => _ = write!(text, " {a}"),
            None => text.push_str(" -"),
        }
    }
    Some(text)
}

/// The figures of a column value written by [`format`] (or the migration).
pub fn parse(text: &str) -> anyhow::Result<JobFigures<'_>> {
    let mut tokens = text.split(' ');
    let mut next = || {
        let token = tokens.next().ok_or_else(|| anyhow!("a job of fewer than six figures: {text:?}"))?;
        Ok::<_, anyhow::Error>((token != "-").then_some(token))
    };
    let currency = next()?;
    let mut amount =
        || next()?.map(|a| decimal(a).with_context(|| format!("a job amount {a:?} in {text:?}"))).transpose();
    let distance_km = amount()?;
    let earnings = [amount()?, amount()?, amount()?, amount()?];
    ensure!(tokens.next().is_none(), "a job of more than six figures: {text:?}");
    Ok(JobFigures { currency, distance_km, earnings })
}

/// A decimal as `Decimal::from_str_exact` reads it. Amounts are mostly short and
/// non-negative (`6.00`): those are read here directly, digit by digit (the library's
/// general parser was about a sixth of a full recompute's own time); anything else goes
/// to the library.
fn decimal(text: &str) -> anyhow::Result<Decimal> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = || whole.bytes().chain(fraction.bytes());
    // `1.` and `.5`, signs and anything but digits are the library's to read or refuse.
    let plain = !whole.is_empty()
        && !text.ends_with('.')
        && whole.len() + fraction.len() <= 18
        && digits().all(|b| b.is_ascii_digit());
    if !plain {
        return Ok(Decimal::from_str_exact(text)?);
    }
    let mantissa = digits().fold(0i64, |m, b| m * 10 + i64::from(b - b'0'));
    // At most 18 digits: the mantissa fits, and the scale is under Decimal's limit of 28.
    Ok(Decimal::new(mantissa, fraction.len() as u32))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn interval(currency: Option<&str>, amounts: [Option<&str>; 5]) -> StoredInterval {
        let [distance_km, pay, tips, bonus, fees] = amounts.map(|a| a.map(|a| a.parse::<Decimal>().unwrap()));
        StoredInterval {
            platform: "eats".into(),
            external_id: "j1".into(),
            kind: "engagement".into(),
            start: Utc::now(),
            end: Utc::now(),
            distance_km,
            currency: currency.map(str::to_owned),
            pay,
            tips,
            bonus,
            fees,
            version: 1,
        }
    }

    #[test]
    fn figures_go_through_the_column_with_their_scale() {
        let i = interval(Some("EUR"), [Some("3.5"), Some("6.00"), Some("1.00"), Some("0"), Some("-0.50")]);
        let text = format(&i).unwrap();
        assert_eq!(text, "EUR 3.5 6.00 1.00 0 -0.50");
        let f = parse(&text).unwrap();
        assert_eq!(f.currency, Some("EUR"));
        assert_eq!(f.distance_km, i.distance_km);
        assert_eq!(f.earnings, [i.pay, i.tips, i.bonus, i.fees]);
        assert_eq!(f.earnings[0].unwrap().scale(), 2, "6.00 keeps its scale");
    }

    #[test]
    fn missing_figures_are_dashes_and_none_at_all_is_null() {
        let i = interval(None, [Some("12"), None, None, None, None]);
        assert_eq!(format(&i).as_deref(), Some("- 12 - - - -"));
        let f = parse("- 12 - - - -").unwrap();
        assert_eq!((f.currency, f.distance_km, f.earnings), (None, i.distance_km, [None; 4]));
        assert_eq!(format(&interval(None, [None; 5])), None, "a session stores NULL");
    }

    proptest::proptest! {
        /// The direct reading gives the library's value and scale, for any amount the
        /// column may hold and for text it may not.
        #[test]
        fn amounts_read_as_the_library_reads_them(
            text in "-?[0-9]{1,30}(\\.[0-9]{0,30})?|[0-9._e-]{0,12}"
        ) {
            let ours = decimal(&text).ok().map(|d| (d, d.scale(), d.to_string()));
            let library = Decimal::from_str_exact(&text).ok().map(|d| (d, d.scale(), d.to_string()));
            proptest::prop_assert_eq!(ours, library);
        }
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in ["", "EUR 1 2 3 4", "EUR 1 2 3 4 5 6", "EUR 1 2 x 4 5", "EUR 1  2 3 4 5", "EUR 1e3 2 3 4 5"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
