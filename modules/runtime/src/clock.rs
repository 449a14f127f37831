//! Time, as a module sees it: the monotonic clock it measures waits with, the pause between two
//! looks, and the wall clock it stamps records kept between calls with. Modules reach time only
//! through `Ctx` (`ctx.now()`, `ctx.sleep()`, `ctx.wall()`, `ctx.poll()`), so a test can give a
//! module `FakeClock`, on which a wait of an hour takes no time at all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A point on a clock's monotonic time line (its offset from the clock's origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Moment(Duration);

impl Moment {
    /// The time from `earlier` to this moment (zero if `earlier` is later).
    pub fn since(self, earlier: Moment) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for Moment {
    type Output = Moment;
    fn add(self, d: Duration) -> Moment {
        Moment(self.0 + d)
    }
}

/// Where a module's time comes from.
pub trait Clock {
    /// Monotonic: never goes back.
    fn now(&self) -> Moment;
    fn sleep(&self, pause: Duration);
    /// The wall clock (for stamps kept between calls of a module).
    fn wall(&self) -> SystemTime;
}

/// The host's clocks: what every module runs with outside tests.
#[derive(Debug)]
pub struct RealClock {
    origin: Instant,
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock { origin: Instant::now() }
    }
}

impl Clock for RealClock {
    fn now(&self) -> Moment {
        Moment(self.origin.elapsed())
    }
    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause)
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock for tests: time moves only when the module sleeps or the test says so (`advance`),
/// and a sleep returns at once. Clones share the same time, so a test keeps one to look at it.
#[derive(Debug, Clone)]
pub struct FakeClock {
    state: Arc<Mutex<FakeState>>,
}

#[derive(Debug)]
struct FakeState {
    now: Duration,
    wall: SystemTime,
    sleeps: Vec<Duration>,
}

impl Default for FakeClock {
    fn default() -> Self {
        // A fixed wall clock, so that stamps are reproducible: 2026-01-01T00:00:00Z.
        FakeClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }
}

impl FakeClock {
    /// A fake clock whose wall clock starts at `wall`.
    pub fn at(wall: SystemTime) -> Self {
        FakeClock {
            state: Arc::new(Mutex::new(FakeState {
                now: Duration::ZERO,
                wall,
                sleeps: Vec::new(),
            })),
        }
    }
    fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
    /// Moves time on by `d` (both clocks), as if that much passed outside the module.
    pub fn advance(&self, d: Duration) {
        self.with(|s| {
            s.now += d;
            s.wall += d;
        })
    }
    /// The time passed since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.with(|s| s.now)
    }
    /// Every pause the module asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.with(|s| s.sleeps.clone())
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Moment {
        Moment(self.elapsed())
    }
    fn sleep(&self, pause: Duration) {
        self.with(|s| s.sleeps.push(pause));
        self.advance(pause)
    }
    fn wall(&self) -> SystemTime {
        self.with(|s| s.wall)
    }
}

/// Not a time: a number that names a file uniquely per process and moment (the wall clock's
/// nanoseconds), for temporary names created exclusively.
pub fn unique_stamp() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// What one look of a wait found: done, or not yet (with what is waited for, which the
/// timeout's message names).
#[derive(Debug)]
pub enum Poll<T, W = ()> {
    Ready(T),
    Pending(W),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_clock_moves_on_sleep_and_on_advance_only() {
        let c = FakeClock::default();
        let t0 = c.now();
        let w0 = c.wall();
        c.sleep(Duration::from_secs(5));
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now().since(t0), Duration::from_millis(6500));
        assert_eq!(c.wall().duration_since(w0).unwrap(), Duration::from_millis(6500));
        assert_eq!(c.sleeps(), vec![Duration::from_secs(5)]);
        assert_eq!(t0.since(c.now()), Duration::ZERO, "never negative");
    }
}
