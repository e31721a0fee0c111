//! Lowercase hex, the fixtures' encoding of binary values (`{"binary_hex": "0102"}`).

use crate::FormatError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes bytes as lowercase hex.
///
/// ```
/// assert_eq!(conformance::hex::encode(&[0x01, 0xab]), "01ab");
/// ```
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex (either case), which must have an even number of digits.
///
/// ```
/// assert_eq!(conformance::hex::decode("01AB").unwrap(), vec![0x01, 0xab]);
/// assert!(conformance::hex::decode("123").is_err());
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, FormatError> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(FormatError::new("hex has an odd number of digits"));
    }
    digits
        .chunks_exact(2)
        .map(|pair| Ok((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}

fn digit(c: u8) -> Result<u8, FormatError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(FormatError::new(format!(
            "{:?} is not a hex digit",
            char::from(c)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_survives_a_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
    }

    #[test]
    fn rejects_non_hex_digits() {
        assert!(decode("0g").is_err());
        assert!(decode("é0").is_err());
    }
}
