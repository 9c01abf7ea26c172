//! The one real timer behind all of the core's deadlines.
//!
//! The core reports its next deadline (`Session::poll_timeout`, epoch ms);
//! after every input the manager calls [`Timer::sync`], which re-arms a single
//! `gloo_timers` [`Timeout`] only when that deadline changed. Replacing the
//! `Timeout` drops (and clears) the previous one: no closure is leaked per
//! refresh or per request.
//!
//! `setTimeout` takes at most 2^31 - 1 ms (larger values wrap and fire at
//! once), so longer delays are chained: the timer fires at the cap, sees that
//! the wall clock has not reached the deadline yet, and arms again. Timers
//! that fire late (sleep, throttled background tabs) are fine: the core
//! compares against the wall clock it is given; wake-up events re-check too.

use gloo_timers::callback::Timeout;

use crate::core::Millis;

/// The largest delay `setTimeout` honours.
const MAX_DELAY_MS: Millis = 2_147_483_647;

/// If the core keeps reporting a deadline that already fired, wait this long
/// before trying again instead of spinning.
const STUCK_RETRY_MS: Millis = 1_000;

/// A re-armable timeout for one deadline.
#[derive(Default)]
pub(crate) struct Timer {
    deadline: Option<Millis>,
    timeout: Option<Timeout>,
    last_fired: Option<Millis>,
}

impl Timer {
    /// Makes the timer wait for `deadline` (or nothing). `on_fire` runs when
    /// the (possibly chained) delay elapses; it is dropped unused when the
    /// timer is already armed for this deadline.
    pub(crate) fn sync<F: FnOnce() + 'static>(
        &mut self,
        deadline: Option<Millis>,
        now: Millis,
        on_fire: F,
    ) {
        if deadline == self.deadline && self.timeout.is_some() {
            return;
        }
        self.timeout = None;
        self.deadline = deadline;
        let Some(at) = deadline else { return };
        let mut delay = at.saturating_sub(now);
        if delay == 0 && self.last_fired == Some(at) {
            delay = STUCK_RETRY_MS;
        }
        self.timeout = Some(Timeout::new(delay.min(MAX_DELAY_MS) as u32, on_fire));
    }

    /// Called from the timer callback: returns whether the deadline is due
    /// (then the manager feeds `TimerFired`); otherwise the delay was chained
    /// or the clock moved back, and the next `sync` arms again.
    pub(crate) fn fired(&mut self, now: Millis) -> bool {
        self.timeout = None;
        match self.deadline {
            Some(at) if now >= at => {
                self.last_fired = Some(at);
                true
            }
            _ => false,
        }
    }
}
