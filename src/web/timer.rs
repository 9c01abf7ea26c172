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

use super::global::now_ms;
use crate::core::Millis;

/// The largest delay `setTimeout` honours.
const MAX_DELAY_MS: Millis = 2_147_483_647;

/// A re-armable timeout for one deadline.
#[derive(Default)]
pub(crate) struct Timer {
    deadline: Option<Millis>,
    timeout: Option<Timeout>,
}

impl Timer {
    /// Makes the timer wait for `deadline` (or nothing). `on_fire` runs when
    /// the (possibly chained) delay elapses; it is dropped unused when the
    /// timer is already armed for this deadline.
    ///
    /// The clock is read only to re-arm: `sync` runs after every input (twice
    /// per request), and the deadline rarely changes.
    pub(crate) fn sync<F: FnOnce() + 'static>(&mut self, deadline: Option<Millis>, on_fire: F) {
        if deadline == self.deadline && self.timeout.is_some() {
            return;
        }
        self.timeout = None;
        self.deadline = deadline;
        let Some(at) = deadline else { return };
        // The core's next deadline is always after the time of its last
        // input (an invariant its proptests check), so a due deadline here
        // only means time passed since: fire at once.
        let delay = at.saturating_sub(now_ms());
        self.timeout = Some(Timeout::new(delay.min(MAX_DELAY_MS) as u32, on_fire));
    }

    /// Called from the timer callback: returns whether the deadline is due
    /// (then the manager feeds `TimerFired`); otherwise the delay was chained
    /// or the clock moved back, and the next `sync` arms again.
    pub(crate) fn fired(&mut self, now: Millis) -> bool {
        self.timeout = None;
        self.deadline.is_some_and(|at| now >= at)
    }
}
