//! Session ids: 20 characters of URL-safe base64 (15 random bytes), like the reference.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// An Engine.IO session id: 20 URL-safe base64 characters when the server makes it, or an
/// id the application chose (the reference's `generateId`; see [`Sid::new`]).
///
/// Built from random bytes ([`Sid::from_random`], [`SidGenerator`]), chosen by the
/// application ([`Sid::new`]) or parsed from a request's `sid` query parameter
/// ([`Sid::parse`]). A random id is stored inline, without allocation; a chosen one is
/// shared (cloning it counts a reference). Ids compare, order and hash by their text.
#[derive(Clone)]
pub struct Sid(Repr);

#[derive(Clone)]
enum Repr {
    /// The server's own: 20 URL-safe base64 characters.
    Random([u8; Sid::LEN]),
    /// The application's choice.
    Chosen(Arc<str>),
}

impl Sid {
    /// Length of a session id the server makes, in characters.
    pub const LEN: usize = 20;

    /// The most characters of an id the application chooses.
    pub const MAX_LEN: usize = 128;

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
        Self(Repr::Random(out))
    }

    /// An id the application chose (the reference's `generateId`): 1 to
    /// [`Sid::MAX_LEN`] characters among `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`, `.` and `~`
    /// (those a URL carries as they are, so that the client's `sid` parameter is the id
    /// itself); `None` for anything else.
    ///
    /// ```
    /// use engineio_proto::Sid;
    ///
    /// let sid = Sid::new("0f8c2c9e-2a7b-4c1e-9d7e-3f1b2a6c5d4e").unwrap();
    /// assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    /// assert_eq!(Sid::new("with space"), None);
    /// assert_eq!(Sid::new(""), None);
    /// ```
    pub fn new(id: &str) -> Option<Self> {
        Self::parse(id)
    }

    /// Parses a session id given by a peer; `None` if it cannot be a session id.
    pub fn parse(s: &str) -> Option<Self> {
        let valid = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        if !valid {
            return None;
        }
        Some(match <[u8; Self::LEN]>::try_from(s.as_bytes()) {
            Ok(bytes) => Self(Repr::Random(bytes)),
            Err(_) => Self(Repr::Chosen(s.into())),
        })
    }

    /// The id as a string.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ASCII characters are ever stored.
            Repr::Random(bytes) => std::str::from_utf8(bytes).expect("sid is ASCII"),
            Repr::Chosen(id) => id,
        }
    }
}

impl Sid {
    /// The id's bytes (ASCII): what ids compare and hash by, without the check of UTF-8
    /// that [`Sid::as_str`] makes.
    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Random(bytes) => bytes,
            Repr::Chosen(id) => id.as_bytes(),
        }
    }
}

impl PartialEq for Sid {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Sid {}

impl PartialOrd for Sid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Sid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
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
        assert_eq!(Sid::parse(""), None);
        assert_eq!(Sid::parse("../x"), None);
        assert_eq!(Sid::parse("lv_VI97HAXpY6yYWAAA+"), None);
        assert_eq!(
            Sid::parse("lv_VI97HAXpY6yYWAAAC").unwrap().as_str(),
            "lv_VI97HAXpY6yYWAAAC"
        );
    }

    #[test]
    fn a_chosen_id_is_its_text_and_equals_the_same_text_parsed() {
        let chosen = Sid::new("user-42.session~1").unwrap();
        assert_eq!(chosen.as_str(), "user-42.session~1");
        assert_eq!(Sid::parse("user-42.session~1"), Some(chosen));
        // Twenty characters of the chosen alphabet compare equal whatever their origin.
        let twenty = Sid::new("abcdefghij0123456789").unwrap();
        assert_eq!(Sid::parse("abcdefghij0123456789"), Some(twenty));
        assert_eq!(Sid::new(&"a".repeat(Sid::MAX_LEN + 1)), None);
        assert!(Sid::new(&"a".repeat(Sid::MAX_LEN)).is_some());
        assert_eq!(Sid::new("a/b"), None);
        assert_eq!(Sid::new("é"), None);
    }

    #[test]
    fn a_seeded_generator_is_reproducible() {
        let mut a = SidGenerator::from_seed([1; 32]);
        let mut b = SidGenerator::from_seed([1; 32]);
        assert_eq!(a.generate(), b.generate());
    }
}
