//! The MyKey ID (マイキーID): the citizen's platform id, shown to them and given to the programs
//! they join (Mynapoint, library cards, municipal measures).
//!
//! A MyKey ID is exactly 8 characters from a 31-symbol alphabet: the digits `2`–`9` and the upper-case
//! letters without the look-alikes — `0`/`O`, `1`/`I`/`L` never occur:
//!
//! ```text
//! 23456789ABCDEFGHJKMNPQRSTUVWXYZ
//! ```
//!
//! That is 31^8 = 852,891,037,441 (≈ 8.5 × 10^11) IDs. [`MyKeyId::parse`] accepts lower case (people
//! type what they read) and normalises to upper case; anything else is refused with a reason.
//! [`MyKeyId::generate`] draws each character from the operating system's CSPRNG
//! ([`rand::rngs::OsRng`]) by rejection sampling: a random byte below 248 (= 8 × 31) picks
//! `ALPHABET[byte % 31]`, a byte from 248 up is thrown away, so every symbol is exactly equally likely
//! (no modulo bias). Uniqueness is not this type's business: the lifecycle claims an ID with a
//! conditional write (see [`super::lifecycle`]).

use std::fmt;

use rand::RngCore;

/// The symbols of a MyKey ID, in order.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// The length of a MyKey ID.
pub const LEN: usize = 8;
/// The number of distinct MyKey IDs (31^8).
pub const SPACE: u64 = 31u64.pow(LEN as u32);
/// The JSON Schema pattern of a MyKey ID as a client may send it (lower case accepted).
pub const PATTERN: &str = "^[2-9A-HJKMNP-Za-hjkmnp-z]{8}$";

/// Bytes at or above this are rejected when sampling (the largest multiple of 31 that fits a byte).
const REJECT_FROM: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;

/// A valid MyKey ID, in its normal (upper-case) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MyKeyId(String);

impl MyKeyId {
    /// Parses a MyKey ID as typed: 8 characters from [`ALPHABET`], lower case allowed (normalised to
    /// upper case). Surrounding spaces are not trimmed: the caller sends exactly the ID.
    pub fn parse(s: &str) -> Result<MyKeyId, String> {
        let n = s.chars().count();
        if n != LEN {
            return Err(format!(
                "a MyKey ID is exactly {LEN} characters (digits 2-9 and letters A-Z except I, L, O); got {n}"
            ));
        }
        let mut out = String::with_capacity(LEN);
        for (i, c) in s.chars().enumerate() {
            let u = c.to_ascii_uppercase();
            if u.is_ascii() && ALPHABET.contains(&(u as u8)) {
                out.push(u);
                continue;
            }
            let why = match u {
                '0' | '1' | 'I' | 'L' | 'O' => {
                    "is not used in MyKey IDs (the look-alikes 0, 1, I, L and O are left out)".to_owned()
                }
                _ => "is not allowed (only digits 2-9 and letters A-Z except I, L, O)".to_owned(),
            };
            return Err(format!("character {} ({c:?}) {why}", i + 1));
        }
        Ok(MyKeyId(out))
    }

    /// A random MyKey ID from the operating system's CSPRNG (see the module doc).
    pub fn generate() -> MyKeyId {
        sample(&mut rand::rngs::OsRng)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `mykey:<ID>`, the audit target naming this MyKey ID.
    pub fn target(&self) -> String {
        format!("mykey:{}", self.0)
    }
}

impl fmt::Display for MyKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Draws an ID from `rng` by rejection sampling, a byte per attempt.
fn sample(rng: &mut impl RngCore) -> MyKeyId {
    let mut out = String::with_capacity(LEN);
    let mut buf = [0u8; 16];
    while out.len() < LEN {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < REJECT_FROM && out.len() < LEN {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    MyKeyId(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields the given bytes over and over.
    struct Bytes(Vec<u8>, usize);
    impl RngCore for Bytes {
        fn next_u32(&mut self) -> u32 {
            unimplemented!()
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for d in dest {
                *d = self.0[self.1 % self.0.len()];
                self.1 += 1;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn the_alphabet_has_31_symbols_without_look_alikes() {
        assert_eq!(ALPHABET.len(), 31);
        assert_eq!(SPACE, 852_891_037_441);
        assert_eq!(REJECT_FROM, 248);
        for c in b"01ILO" {
            assert!(!ALPHABET.contains(c));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 31);
    }

    #[test]
    fn sampling_rejects_the_biased_top_of_the_byte_range() {
        // 248..=255 would map to the first 8 symbols a second time; they are skipped.
        let id = sample(&mut Bytes(vec![248, 255, 0, 30, 31, 247], 0));
        assert_eq!(id.as_str(), "2Z2Z2Z2Z");
        // Every byte below 248 maps to each symbol exactly 8 times.
        let mut counts = [0u32; 31];
        for b in 0..REJECT_FROM {
            counts[usize::from(b) % 31] += 1;
        }
        assert!(counts.iter().all(|&c| c == 8));
    }

    #[test]
    fn parse_normalises_case_and_names_the_bad_character() {
        assert_eq!(MyKeyId::parse("abcd2345").unwrap().as_str(), "ABCD2345");
        let e = MyKeyId::parse("ABCD234O").unwrap_err();
        assert!(e.contains("character 8") && e.contains("look-alike"), "{e}");
        assert!(MyKeyId::parse("abcd234l").unwrap_err().contains("look-alike"));
        assert!(MyKeyId::parse("ABCD-234").unwrap_err().contains("not allowed"));
        assert!(MyKeyId::parse("ABCD234").unwrap_err().contains("got 7"));
        assert!(MyKeyId::parse("ＡBCD2345").unwrap_err().contains("character 1"));
        assert!(MyKeyId::parse(" ABCD234").is_err());
        assert_eq!(MyKeyId::parse("ABCD2345").unwrap().target(), "mykey:ABCD2345");
    }
}
