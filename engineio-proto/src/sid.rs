//! Session ids: 20 characters of URL-safe base64 (15 random bytes), like the reference.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// An Engine.IO session id: exactly 20 URL-safe base64 characters.
///
/// Built from random bytes ([`Sid::from_random`], [`SidGenerator`]) or parsed from a
/// request's `sid` query parameter ([`Sid::parse`]); stored inline, without allocation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid([u8; Self::LEN]);

impl Sid {
    /// Length of a session id in characters.
    pub const LEN: usize = 20;

    /// The session id for 15 random bytes.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn from_random(bytes: [u8; 15]) -> Self {
        let mut out = [0u8; Self::LEN];
        // 15 bytes encode to exactly 20 characters without padding.
        let n = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut out)
            .expect("15 bytes encode to 20 characters");
        debug_assert_eq!(n, Self::LEN);
        Self(out)
    }

    /// Parses a session id given by a peer; `None` if it cannot be one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; Self::LEN] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Self(bytes))
    }

    /// The id as a string.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn as_str(&self) -> &str {
        // Only URL-safe base64 characters are ever stored.
        std::str::from_utf8(&self.0).expect("sid is ASCII")
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A seeded, cryptographically strong generator of session ids (ChaCha20).
///
/// The seed is injected: the async driver seeds it from the operating system, tests from a
/// constant, so that runs are reproducible.
///
/// ```
/// use engineio_proto::SidGenerator;
///
/// let mut ids = SidGenerator::from_seed([7; 32]);
/// let (a, b) = (ids.generate(), ids.generate());
/// assert_ne!(a, b);
/// assert_eq!(a.as_str().len(), 20);
/// ```
#[derive(Clone, Debug)]
pub struct SidGenerator {
    rng: ChaCha20Rng,
}

impl SidGenerator {
    /// A generator seeded with 32 bytes.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// The next session id (also usable for any other id of the same format).
    pub fn generate(&mut self) -> Sid {
        let mut bytes = [0u8; 15];
        self.rng.fill_bytes(&mut bytes);
        Sid::from_random(bytes)
    }

    /// Fills `out` from the same stream: the seed of another generator (of socket ids, for
    /// example) without a call to the operating system per connection.
    ///
    /// ```
    /// use engineio_proto::SidGenerator;
    ///
    /// let mut ids = SidGenerator::from_seed([7; 32]);
    /// let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    /// ids.fill(&mut a);
    /// ids.fill(&mut b);
    /// assert_ne!(a, b);
    /// ```
    pub fn fill(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sid_is_20_url_safe_characters() {
        let sid = Sid::from_random([0xff; 15]);
        assert_eq!(sid.as_str(), "____________________");
        assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    }

    #[test]
    fn parse_rejects_what_cannot_be_a_sid() {
        assert_eq!(Sid::parse("constructor"), None);
        assert_eq!(Sid::parse("lv_VI97HAXpY6yYWAAA+"), None);
        assert_eq!(
            Sid::parse("lv_VI97HAXpY6yYWAAAC").unwrap().as_str(),
            "lv_VI97HAXpY6yYWAAAC"
        );
    }

    #[test]
    fn a_seeded_generator_is_reproducible() {
        let mut a = SidGenerator::from_seed([1; 32]);
        let mut b = SidGenerator::from_seed([1; 32]);
        assert_eq!(a.generate(), b.generate());
    }
}
