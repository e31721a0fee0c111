//! The reconnection delay: `backo2`, exactly as socket.io-client computes it (PROTOCOL.md
//! §5.2), as a pure function of the attempt number and an injected random number.
//!
//! Moved here from the client driver, so that the schedule is a protocol decision of the
//! [`ClientEndpoint`](super::ClientEndpoint); the numbers are unchanged.

use std::time::Duration;

/// A source of random numbers in `[0, 1)`, like JavaScript's `Math.random()`.
///
/// Any `FnMut() -> f64 + Send` closure is one, so tests inject a fixed sequence.
///
/// ```
/// use socketio_proto::endpoint::client::RandomSource;
///
/// let mut fixed = || 0.25;
/// assert_eq!(fixed.random(), 0.25);
/// ```
pub trait RandomSource: Send {
    /// The next number, in `[0, 1)`.
    fn random(&mut self) -> f64;
}

impl<F: FnMut() -> f64 + Send> RandomSource for F {
    fn random(&mut self) -> f64 {
        self()
    }
}

/// A deterministic random source: SplitMix64 from a seed (the driver seeds it from the
/// operating system; tests seed it with a constant).
///
/// ```
/// use socketio_proto::endpoint::client::{RandomSource, SeededRandom};
///
/// let mut a = SeededRandom::new(7);
/// let mut b = SeededRandom::new(7);
/// let x = a.random();
/// assert!((0.0..1.0).contains(&x));
/// assert_eq!(x, b.random());
/// ```
#[derive(Debug, Clone)]
pub struct SeededRandom(u64);

impl SeededRandom {
    /// A source that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl RandomSource for SeededRandom {
    fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Exponential backoff with jitter, the `backo2` package that socket.io-client's Manager
/// uses:
///
/// ```text
/// ms = min * 2^attempts            (attempts counts the delays handed out so far)
/// deviation = floor(rand * jitter * ms)
/// ms = floor(rand * 10) & 1 == 0 ? ms - deviation : ms + deviation
/// delay = min(ms, max) | 0
/// ```
///
/// With the defaults (`reconnectionDelay` 1000, `reconnectionDelayMax` 5000,
/// `randomizationFactor` 0.5) and `rand = 0.25`: 875 ms, 1750 ms, 3500 ms, 5000 ms, …
///
/// ```
/// use std::time::Duration;
/// use socketio_proto::endpoint::client::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(1000), Duration::from_millis(5000), 0.5);
/// assert_eq!(backoff.duration(0.25), Duration::from_millis(875));
/// assert_eq!(backoff.duration(0.25), Duration::from_millis(1750));
/// assert_eq!(backoff.duration(0.35), Duration::from_millis(4700)); // 4000 + 700
/// assert_eq!(backoff.attempts(), 3);
/// backoff.reset();
/// assert_eq!(backoff.attempts(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min_ms: f64,
    max_ms: f64,
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    /// A backoff from `min` (`reconnectionDelay`) to `max` (`reconnectionDelayMax`), with
    /// `jitter` (`randomizationFactor`, clamped to `[0, 1]`).
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            min_ms: min.as_millis() as f64,
            max_ms: max.as_millis() as f64,
            jitter: if jitter.is_nan() {
                0.0
            } else {
                jitter.clamp(0.0, 1.0)
            },
            attempts: 0,
        }
    }

    /// The next delay, given `rand` in `[0, 1)`; counts one attempt.
    pub fn duration(&mut self, rand: f64) -> Duration {
        let mut ms = self.min_ms * 2f64.powi(self.attempts.min(1024) as i32);
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let deviation = (rand * self.jitter * ms).floor();
            ms = if ((rand * 10.0).floor() as i64) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        let ms = js_to_int32(ms.min(self.max_ms));
        // setTimeout treats a negative delay as 0.
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Delays handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over (after a successful reconnection, or when the attempts ran out).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// JavaScript's `x | 0` (ToInt32).
fn js_to_int32(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    let t = x.trunc() % 4_294_967_296.0;
    let t = if t < 0.0 { t + 4_294_967_296.0 } else { t };
    (t as u64 as u32) as i32
}

/// What the Manager does after a transport loss, as a pure schedule: the next delay, or
/// `None` when `reconnectionAttempts` are used up (the Manager then emits
/// `reconnect_failed` and starts over at the next manual connect).
///
/// ```
/// use std::time::Duration;
/// use socketio_proto::endpoint::client::{Backoff, ReconnectSchedule};
///
/// let backoff = Backoff::new(Duration::from_millis(1000), Duration::from_millis(5000), 0.5);
/// let mut schedule = ReconnectSchedule::new(backoff, Some(2));
/// let mut rand = || 0.25;
/// assert_eq!(schedule.next_delay(&mut rand), Some(Duration::from_millis(875)));
/// assert_eq!(schedule.next_delay(&mut rand), Some(Duration::from_millis(1750)));
/// assert_eq!(schedule.next_delay(&mut rand), None); // reconnect_failed
/// assert_eq!(schedule.next_delay(&mut rand), Some(Duration::from_millis(875))); // reset
/// ```
#[derive(Debug, Clone)]
pub struct ReconnectSchedule {
    backoff: Backoff,
    max_attempts: Option<u32>,
}

impl ReconnectSchedule {
    /// A schedule with at most `max_attempts` attempts (`None`: `Infinity`).
    pub fn new(backoff: Backoff, max_attempts: Option<u32>) -> Self {
        Self {
            backoff,
            max_attempts,
        }
    }

    /// The delay before the next attempt, or `None` when the attempts are used up (which
    /// also resets the count).
    pub fn next_delay(&mut self, rand: &mut dyn RandomSource) -> Option<Duration> {
        if self
            .max_attempts
            .is_some_and(|max| self.backoff.attempts() >= max)
        {
            self.backoff.reset();
            return None;
        }
        Some(self.backoff.duration(rand.random()))
    }

    /// The attempt number of the attempt under way (1 for the first).
    pub fn attempts(&self) -> u32 {
        self.backoff.attempts()
    }

    /// Starts over: after a successful reconnection or a clean close.
    pub fn reset(&mut self) {
        self.backoff.reset();
    }

    /// New parameters (the Manager's setters at run time), the attempts made so far kept:
    /// the next delay is computed with them.
    pub fn reconfigure(&mut self, backoff: Backoff, max_attempts: Option<u32>) {
        let attempts = self.backoff.attempts;
        self.backoff = backoff;
        self.backoff.attempts = attempts;
        self.max_attempts = max_attempts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Backoff {
        Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        )
    }

    #[test]
    fn even_tenth_digit_subtracts_the_deviation_odd_adds_it() {
        // rand 0.25: floor(2.5) = 2, even → minus; rand 0.35: floor(3.5) = 3, odd → plus.
        assert_eq!(defaults().duration(0.25), Duration::from_millis(875));
        assert_eq!(defaults().duration(0.35), Duration::from_millis(1175));
    }

    #[test]
    fn the_delay_doubles_per_attempt_and_is_capped_at_the_max() {
        let mut b = defaults();
        let delays: Vec<u64> = (0..6).map(|_| b.duration(0.0).as_millis() as u64).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn without_jitter_rand_is_ignored() {
        let mut b = Backoff::new(Duration::from_millis(200), Duration::from_millis(5000), 0.0);
        assert_eq!(b.duration(0.99), Duration::from_millis(200));
        assert_eq!(b.duration(0.99), Duration::from_millis(400));
    }

    #[test]
    fn the_cap_applies_after_the_jitter() {
        // 4000 + floor(0.95*0.5*4000) = 5900 → capped to 5000; floor(9.5) = 9 is odd.
        let mut b = defaults();
        b.attempts = 2;
        assert_eq!(b.duration(0.95), Duration::from_millis(5000));
    }

    #[test]
    fn huge_attempt_counts_stay_at_the_max() {
        let mut b = defaults();
        b.attempts = 5000;
        assert_eq!(b.duration(0.5), Duration::from_millis(5000));
    }

    #[test]
    fn to_int32_wraps_like_javascript() {
        assert_eq!(js_to_int32(5000.9), 5000);
        assert_eq!(js_to_int32(4_294_967_296.0 + 7.0), 7);
        assert_eq!(js_to_int32(2_147_483_648.0), i32::MIN);
        assert_eq!(js_to_int32(f64::INFINITY), 0);
    }

    #[test]
    fn the_schedule_gives_up_after_the_attempts_and_resets() {
        let mut s = ReconnectSchedule::new(defaults(), Some(3));
        let mut r = || 0.0;
        let got: Vec<Option<u64>> = (0..5)
            .map(|_| s.next_delay(&mut r).map(|d| d.as_millis() as u64))
            .collect();
        assert_eq!(got, [Some(1000), Some(2000), Some(4000), None, Some(1000)]);
    }

    #[test]
    fn seeded_numbers_are_in_the_unit_interval() {
        let mut r = SeededRandom::new(42);
        for _ in 0..1000 {
            let x = r.random();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
