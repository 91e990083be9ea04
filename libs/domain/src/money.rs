//! Money: a decimal amount with its currency. Arithmetic refuses mixed currencies,
//! and rounding is always explicit: nothing rounds behind the caller's back.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::currency::{Currency, UnknownCurrency};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} with {right}: currencies differ")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount overflows")]
    Overflow,
    #[error(transparent)]
    UnknownCurrency(#[from] UnknownCurrency),
}

/// How an amount is brought to a currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Banker's rounding: ties go to the even digit. Our default: unbiased over many lines.
    #[default]
    HalfEven,
    /// Ties away from zero, as most people round by hand.
    HalfUp,
    /// Toward zero.
    Down,
    /// Away from zero.
    Up,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// An amount of one currency. Serialised as `{"amount": "12.30", "currency": "EUR"}`,
/// the amount as a string so no JSON parser turns it into a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    #[schema(value_type = String, example = "12.30")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    pub fn parse(amount: &str, currency: &str) -> Result<Self, MoneyError> {
        let amount: Decimal = amount.parse().map_err(|_| MoneyError::Overflow)?;
        Ok(Self::new(amount, Currency::parse(currency)?))
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Multiplies by a plain factor (a rate, a share, a number of hours). Not rounded.
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Sums amounts that must all be in `currency`; an empty list sums to zero.
    pub fn sum<'a>(currency: Currency, items: impl IntoIterator<Item = &'a Money>) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Rounds to the currency's minor units (cents for EUR) with the given rule.
    pub fn round(&self, rounding: Rounding) -> Money {
        let amount = self.amount.round_dp_with_strategy(self.currency.minor_units(), rounding.strategy());
        Money::new(amount, self.currency)
    }

    pub fn min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(if self.amount <= other.amount { self } else { other })
    }

    pub fn max(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(if self.amount >= other.amount { self } else { other })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn eur(a: Decimal) -> Money {
        Money::new(a, Currency::parse("EUR").unwrap())
    }

    fn usd(a: Decimal) -> Money {
        Money::new(a, Currency::parse("USD").unwrap())
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let err = eur(dec!(1)).checked_add(&usd(dec!(1))).unwrap_err();
        assert!(matches!(err, MoneyError::CurrencyMismatch { .. }));
        assert!(eur(dec!(1)).min(usd(dec!(2))).is_err());
    }

    #[test]
    fn rounding_rules_differ_only_on_ties_and_direction() {
        assert_eq!(eur(dec!(2.345)).round(Rounding::HalfEven).amount(), dec!(2.34));
        assert_eq!(eur(dec!(2.355)).round(Rounding::HalfEven).amount(), dec!(2.36));
        assert_eq!(eur(dec!(2.345)).round(Rounding::HalfUp).amount(), dec!(2.35));
        assert_eq!(eur(dec!(-2.345)).round(Rounding::HalfUp).amount(), dec!(-2.35));
        assert_eq!(eur(dec!(2.349)).round(Rounding::Down).amount(), dec!(2.34));
        assert_eq!(eur(dec!(2.341)).round(Rounding::Up).amount(), dec!(2.35));
        let yen = Money::parse("1234.5", "JPY").unwrap();
        assert_eq!(yen.round(Rounding::HalfEven).amount(), dec!(1234));
    }

    #[test]
    fn money_serialises_its_amount_as_a_string() {
        let json = serde_json::to_value(eur(dec!(12.30))).unwrap();
        assert_eq!(json, serde_json::json!({"amount": "12.30", "currency": "EUR"}));
        let back: Money = serde_json::from_value(json).unwrap();
        assert_eq!(back, eur(dec!(12.30)));
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"ABC"}"#).is_err());
    }

    #[test]
    fn an_empty_sum_is_zero_in_the_given_currency() {
        let total = Money::sum(Currency::parse("EUR").unwrap(), []).unwrap();
        assert_eq!(total, eur(dec!(0)));
    }

    fn cents() -> impl Strategy<Value = Decimal> {
        (-10_000_000i64..10_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    proptest! {
        #[test]
        fn addition_in_one_currency_is_commutative_and_associative(a in cents(), b in cents(), c in cents()) {
            let (a, b, c) = (eur(a), eur(b), eur(c));
            prop_assert_eq!(a.checked_add(&b).unwrap(), b.checked_add(&a).unwrap());
            let left = a.checked_add(&b).unwrap().checked_add(&c).unwrap();
            let right = a.checked_add(&b.checked_add(&c).unwrap()).unwrap();
            prop_assert_eq!(left, right);
        }

        #[test]
        fn subtraction_undoes_addition(a in cents(), b in cents()) {
            let (a, b) = (eur(a), eur(b));
            prop_assert_eq!(a.checked_add(&b).unwrap().checked_sub(&b).unwrap(), a);
        }

        #[test]
        fn rounding_is_idempotent_and_moves_less_than_one_minor_unit(raw in -1_000_000_000i64..1_000_000_000, scale in 0u32..6) {
            let m = eur(Decimal::new(raw, scale));
            for rule in [Rounding::HalfEven, Rounding::HalfUp, Rounding::Down, Rounding::Up] {
                let r = m.round(rule);
                prop_assert_eq!(r.round(rule), r);
                prop_assert!((r.amount() - m.amount()).abs() < dec!(0.01));
                prop_assert!(r.amount().scale() <= 2);
            }
        }
    }
}
