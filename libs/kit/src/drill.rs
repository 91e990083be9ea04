//! Failure drills: a switch that makes this service fail (a share of its requests answered
//! 503) or slow (each request delayed) for a while, so the path from symptom to alert can
//! be exercised end to end. Set through `PUT /internal/drill` (ops, or the ops service) and
//! refused in production; health and the internal routes themselves are never affected.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    /// Answer `percent` of requests with 503.
    Fail,
    /// Delay every request by `delay_ms`.
    Slow,
    /// Stop the drill.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillMode {
    Fail { percent: u8 },
    Slow { delay_ms: u32 },
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    pub mode: DrillKind,
    /// `fail`: the share of requests failed, 0 to 100 (default 100).
    pub percent: Option<u8>,
    /// `slow`: the delay added to each request (default 1000).
    pub delay_ms: Option<u32>,
    /// How long it lasts (default 300, at most 3600).
    #[serde(default = "default_seconds")]
    pub seconds: u32,
}

fn default_seconds() -> u32 {
    300
}

impl DrillRequest {
    pub fn mode(&self) -> DrillMode {
        match self.mode {
            DrillKind::Fail => DrillMode::Fail { percent: self.percent.unwrap_or(100).min(100) },
            DrillKind::Slow => DrillMode::Slow { delay_ms: self.delay_ms.unwrap_or(1000).min(60_000) },
            DrillKind::Off => DrillMode::Off,
        }
    }
}

/// What a request should suffer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Fail,
    Delay(Duration),
}

#[derive(Default)]
pub struct Drill {
    state: Mutex<Option<(DrillMode, Instant)>>,
}

impl Drill {
    pub fn set(&self, request: DrillRequest) {
        let until = Instant::now() + Duration::from_secs(u64::from(request.seconds.min(3600)));
        if let Ok(mut s) = self.state.lock() {
            *s = match request.mode() {
                DrillMode::Off => None,
                mode => Some((mode, until)),
            };
        }
    }

    /// The effect for the next request; `roll` draws a number in 0..100, called only while
    /// a failure drill runs (a draw is a system call, not worth making on every request).
    pub fn effect(&self, roll: impl FnOnce() -> u8) -> Effect {
        let Ok(mut s) = self.state.lock() else { return Effect::None };
        match *s {
            Some((_, until)) if Instant::now() >= until => {
                *s = None;
                Effect::None
            }
            Some((DrillMode::Fail { percent }, _)) if roll() < percent => Effect::Fail,
            Some((DrillMode::Slow { delay_ms }, _)) => Effect::Delay(Duration::from_millis(u64::from(delay_ms))),
            _ => Effect::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_fails_its_share_and_ends_by_itself_or_when_stopped() {
        let d = Drill::default();
        assert_eq!(d.effect(|| 0), Effect::None);
        let req = |mode, percent, delay_ms, seconds| DrillRequest { mode, percent, delay_ms, seconds };
        d.set(req(DrillKind::Fail, Some(30), None, 60));
        assert_eq!((d.effect(|| 10), d.effect(|| 30), d.effect(|| 99)), (Effect::Fail, Effect::None, Effect::None));
        d.set(req(DrillKind::Slow, None, Some(40), 60));
        assert_eq!(d.effect(|| 50), Effect::Delay(Duration::from_millis(40)));
        d.set(req(DrillKind::Slow, None, Some(40), 0));
        assert_eq!(d.effect(|| 0), Effect::None, "a zero-second drill is over at once");
        d.set(req(DrillKind::Fail, None, None, 60));
        assert_eq!(d.effect(|| 99), Effect::Fail, "100 % by default");
        d.set(req(DrillKind::Off, None, None, 0));
        assert_eq!(d.effect(|| 0), Effect::None);
    }

    #[test]
    fn a_drill_request_reads_as_documented() {
        let r: DrillRequest =
            serde_json::from_value(serde_json::json!({"mode": "fail", "percent": 50, "seconds": 20})).unwrap();
        assert_eq!(r.mode(), DrillMode::Fail { percent: 50 });
        assert_eq!(r.seconds, 20);
        assert!(serde_json::from_value::<DrillRequest>(serde_json::json!({"mode": "fail", "status": 1})).is_err());
    }
}
