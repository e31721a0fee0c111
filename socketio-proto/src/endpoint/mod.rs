//! Endpoints: the two Sans-IO machines of one side composed, with every decision the
//! reference makes around them, so that a driver only does I/O, timers and callbacks.

mod backoff;

pub use backoff::{Backoff, RandomSource, ReconnectSchedule, SeededRandom};
