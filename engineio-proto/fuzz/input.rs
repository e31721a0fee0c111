//! The fuzz bytes as a stream of small decisions, for the targets that drive a state machine
//! (included by path by the targets of both proto crates): reads past the end give zeros,
//! so every input is a valid run.

/// The decisions left to read.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// No decision left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next byte (0 past the end).
    pub fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    /// A yes or no.
    pub fn bit(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// Up to 255 bytes: a length byte, then that many bytes (fewer at the end).
    pub fn chunk(&mut self) -> &[u8] {
        let n = usize::from(self.byte()).min(self.0.len());
        let (chunk, rest) = self.0.split_at(n);
        self.0 = rest;
        chunk
    }
}
