//! A circuit breaker per tool: closed until `FAILURE_THRESHOLD` consecutive faults, then
//! open (calls refused at once) for `COOL_DOWN`, then half-open: one trial call, whose
//! success closes it and whose fault opens it again. Only faults count (timeouts, internal
//! errors), never a caller's bad input.

use std::time::{Duration, Instant};

pub const FAILURE_THRESHOLD: u32 = 5;
pub const COOL_DOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Breaker {
    failures: u32,
    opened_at: Option<Instant>,
    trial_running: bool,
}

impl Breaker {
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.opened_at {
            None => BreakerState::Closed,
            Some(t) if now.duration_since(t) < COOL_DOWN => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may go ahead now; `Err(wait)` says how long until it may.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state(now) {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => {
                let since = now.duration_since(self.opened_at.unwrap_or(now));
                Err(COOL_DOWN.saturating_sub(since))
            }
            // One trial at a time while half-open.
            BreakerState::HalfOpen if self.trial_running => Err(Duration::from_secs(1)),
            BreakerState::HalfOpen => {
                self.trial_running = true;
                Ok(())
            }
        }
    }

    /// Records the outcome of an admitted call: `true` unless it was a fault.
    pub fn record(&mut self, ok: bool, now: Instant) {
        self.trial_running = false;
        if ok {
            self.failures = 0;
            self.opened_at = None;
            return;
        }
        self.failures += 1;
        let half_open = self.state(now) == BreakerState::HalfOpen;
        if half_open || self.failures >= FAILURE_THRESHOLD {
            self.opened_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_repeated_faults_then_half_opens_for_one_trial() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        for _ in 0..FAILURE_THRESHOLD - 1 {
            b.admit(t0).unwrap();
            b.record(false, t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.admit(t0).unwrap();
        b.record(false, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        let wait = b.admit(t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));

        // After the cool-down: one trial; a second caller waits for it.
        let later = t0 + COOL_DOWN;
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        b.admit(later).unwrap();
        assert!(b.admit(later).is_err());
        // The trial fails: open again, for a full cool-down.
        b.record(false, later);
        assert_eq!(b.state(later + Duration::from_secs(1)), BreakerState::Open);
        // The next trial succeeds: closed, count reset.
        let again = later + COOL_DOWN;
        b.admit(again).unwrap();
        b.record(true, again);
        assert_eq!(b.state(again), BreakerState::Closed);
        b.admit(again).unwrap();
        b.record(false, again);
        assert_eq!(
            b.state(again),
            BreakerState::Closed,
            "one fault does not open it"
        );
    }

    #[test]
    fn successes_in_between_keep_it_closed() {
        let t = Instant::now();
        let mut b = Breaker::default();
        for i in 0..20 {
            b.admit(t).unwrap();
            b.record(i % 4 != 0, t);
        }
        assert_eq!(b.state(t), BreakerState::Closed);
    }
}
