//! Multi-window, multi-burn-rate alerting (the Google SRE workbook, chapter 5): the burn
//! rate of a window is its error rate divided by the error budget (1 - target); an alert
//! holds when both its long and its short window burn faster than its factor. The short
//! window makes an alert stop soon after the problem does.
//!
//! | severity | long | short | burn rate |
//! |---|---|---|---|
//! | page | 1 h | 5 min | 14.4 (2 % of a 30-day budget in an hour) |
//! | page | 6 h | 30 min | 6 (5 % in six hours) |
//! | ticket | 3 days | 6 h | 1 (10 % in three days) |

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub severity: Severity,
    pub long: Duration,
    pub short: Duration,
    pub factor: f64,
}

const HOUR: u64 = 3600;

pub const RULES: [Rule; 3] = [
    Rule { severity: Severity::Page, long: Duration::from_secs(HOUR), short: Duration::from_secs(300), factor: 14.4 },
    Rule {
        severity: Severity::Page,
        long: Duration::from_secs(6 * HOUR),
        short: Duration::from_secs(1800),
        factor: 6.0,
    },
    Rule {
        severity: Severity::Ticket,
        long: Duration::from_secs(72 * HOUR),
        short: Duration::from_secs(6 * HOUR),
        factor: 1.0,
    },
];

/// Good and total events over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub good: u64,
    pub total: u64,
}

impl Counts {
    /// The burn rate against `target` (0 without events: nothing burns the budget).
    pub fn burn(self, target: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let bad = (self.total - self.good.min(self.total)) as f64 / self.total as f64;
        bad / (1.0 - target)
    }
}

/// One window's figures, as shown and stored with an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowBurn {
    /// The window's length in seconds (after the time scale).
    pub seconds: f64,
    pub counts: Counts,
    pub burn: f64,
}

/// Whether `rule` holds given its long and short windows' counts.
pub fn holds(rule: &Rule, target: f64, long: Counts, short: Counts) -> bool {
    long.burn(target) > rule.factor && short.burn(target) > rule.factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_pages_and_stops_paging_when_the_short_window_recovers() {
        let page = RULES[0];
        let target = 0.999;
        // 2 % errors for the last hour: burn 20 > 14.4, in both windows.
        let long = Counts { good: 9800, total: 10_000 };
        let short = Counts { good: 980, total: 1000 };
        assert!((long.burn(target) - 20.0).abs() < 1e-9);
        assert!(holds(&page, target, long, short));
        // The problem stopped five minutes ago: the hour still burns, the short window not.
        assert!(!holds(&page, target, long, Counts { good: 1000, total: 1000 }));
        // A slow leak (0.5 %: burn 5) never pages but tickets.
        let leak = Counts { good: 995, total: 1000 };
        assert!(!RULES[..2].iter().any(|r| holds(r, target, leak, leak)));
        assert!(holds(&RULES[2], target, leak, leak));
        assert_eq!(Counts::default().burn(target), 0.0);
    }
}
