//! LogFlux record values (one entry, or ``{"entries": [...]}``) read into their entries' fields, without the
//! tenant's secret: what ``schemas.dialects.logflux`` decodes and ``wire.check`` checks, read strictly.
//!
//! Only the plain spelling of a valid entry is read here: every member once, base64 canonical and unescaped,
//! integers in their range written as digits, timestamps as ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`` (which
//! ``datetime.fromisoformat`` and Arrow's cast read alike, to the microsecond). Anything else declines the
//! record, and the worker's reference mapping judges it with msgspec.

use crate::b64;
use crate::json::{bad, Num, E, P, R};
use crate::time::{parse_us, storable_ns};

/// ``wire.MAX_PAYLOAD_BYTES`` and the GCM tag: the payload's bounds.
const MAX_PAYLOAD: usize = 1024 * 1024;
pub const TAG: usize = 16;
const MAX_NODE_CHARS: usize = 255;
const FIELDS: [&[u8]; 7] = [b"node", b"payload", b"loglevel", b"timestamp", b"encryption_mode", b"iv", b"salt"];

/// One entry's fields; spans point into ``Scan::text`` (node) and ``Scan::bytes`` (payload).
pub struct Entry {
    pub node: (usize, usize),
    pub payload: (usize, usize),
    pub level: u8,
    pub stamp_ns: i64,
    pub iv: [u8; 12],
    /// Index of the entry's salt among its record's distinct salts.
    pub salt: usize,
}

/// One record's entries (a range of ``Scan::entries``) and the distinct salts they use, in first-seen order.
pub struct Record {
    pub first: usize,
    pub end: usize,
    pub salts: Vec<[u8; 32]>,
}

#[derive(Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// Per value: its entries, or why it is declined.
    pub records: Vec<Result<Record, String>>,
    pub text: Vec<u8>,
    pub bytes: Vec<u8>,
    /// A timestamp's text, an iv's or a salt's bytes, reused.
    scratch: Vec<u8>,
}

impl Scan {
    /// Every value read; ``batch``: the values are ``{"entries": [...]}`` (else one entry each).
    pub fn new(values: &[&[u8]], batch: bool) -> Scan {
        let mut scan = Scan::default();
        let mut key = Vec::with_capacity(16);
        for value in values {
            let (entries, text, bytes) = (scan.entries.len(), scan.text.len(), scan.bytes.len());
            let mut salts = Vec::with_capacity(1);
            let read = scan.value(value, batch, &mut salts, &mut key);
            scan.records.push(match read {
                Ok(()) => Ok(Record { first: entries, end: scan.entries.len(), salts }),
                Err(E::Bad(m)) | Err(E::Unstorable(m)) => {
                    scan.entries.truncate(entries);
                    scan.text.truncate(text);
                    scan.bytes.truncate(bytes);
                    Err(m)
                }
                Err(E::Slow) => unreachable!("no attributes are read here"),
            });
        }
        scan
    }

    fn value(&mut self, body: &[u8], batch: bool, salts: &mut Vec<[u8; 32]>, key: &mut Vec<u8>) -> R<()> {
        let mut p = P { b: body, i: 0 };
        p.ws();
        if !batch {
            self.entry(&mut p, salts, key)?;
        } else {
            if p.peek() != b'{' {
                return bad("Expected `object`", p.i);
            }
            p.i += 1;
            p.ws();
            let mut seen = false;
            if p.peek() == b'}' {
                p.i += 1;
            } else {
                loop {
                    p.member_key(key)?;
                    if key == b"entries" {
                        if seen {
                            return bad("`entries` given twice", p.i);
                        }
                        seen = true;
                        self.entries_array(&mut p, salts, key)?;
                    } else {
                        p.skip(1)?;
                    }
                    if !p.next_or_close(b'}')? {
                        break;
                    }
                }
            }
            if !seen {
                return bad("Object missing required field `entries`", p.i);
            }
        }
        p.ws();
        if p.i != body.len() {
            return bad("trailing characters", p.i);
        }
        Ok(())
    }

    fn entries_array(&mut self, p: &mut P, salts: &mut Vec<[u8; 32]>, key: &mut Vec<u8>) -> R<()> {
        p.expect(b'[')?;
        p.ws();
        if p.peek() == b']' {
            p.i += 1;
            return Ok(());
        }
        loop {
            self.entry(p, salts, key)?;
            if !p.next_or_close(b']')? {
                return Ok(());
            }
        }
    }

    fn entry(&mut self, p: &mut P, salts: &mut Vec<[u8; 32]>, key: &mut Vec<u8>) -> R<()> {
        p.expect(b'{')?;
        p.ws();
        let mut seen = [false; FIELDS.len()];
        let mut e = Entry { node: (0, 0), payload: (0, 0), level: 0, stamp_ns: 0, iv: [0; 12], salt: 0 };
        if p.peek() == b'}' {
            p.i += 1;
        } else {
            loop {
                p.member_key(key)?;
                match FIELDS.iter().position(|f| *f == key.as_slice()) {
                    Some(field) => {
                        if std::mem::replace(&mut seen[field], true) {
                            return bad("a member given twice", p.i);
                        }
                        self.field(field, p, &mut e, salts)?;
                    }
                    None => p.skip(1)?,
                }
                if !p.next_or_close(b'}')? {
                    break;
                }
            }
        }
        if !seen.iter().all(|s| *s) {
            return bad("Object missing a required field", p.i);
        }
        self.entries.push(e);
        Ok(())
    }

    fn field(&mut self, field: usize, p: &mut P, e: &mut Entry, salts: &mut Vec<[u8; 32]>) -> R<()> {
        match FIELDS[field] {
            b"node" => {
                if p.peek() != b'"' {
                    return bad("Expected `str`", p.i);
                }
                let start = self.text.len();
                p.string_into(&mut self.text)?;
                let chars = self.text[start..].iter().filter(|&&c| c & 0xC0 != 0x80).count();
                if !(1..=MAX_NODE_CHARS).contains(&chars) {
                    return bad("`node` must be 1-255 characters", p.i);
                }
                e.node = (start, self.text.len());
            }
            b"payload" => {
                let start = self.bytes.len();
                if p.peek() != b'"' {
                    return bad("Expected `str`", p.i);
                }
                p.i = b64::decode_string(p.b, p.i + 1, &mut self.bytes)
                    .ok_or_else(|| E::Bad("`payload` is not canonical base64".into()))?;
                if !(TAG..=MAX_PAYLOAD).contains(&(self.bytes.len() - start)) {
                    return bad("`payload` out of its bounds", p.i);
                }
                e.payload = (start, self.bytes.len());
            }
            b"loglevel" => e.level = digit(p, 1, 8)?,
            b"encryption_mode" => {
                digit(p, 1, 1)?;
            }
            b"timestamp" => {
                if p.peek() != b'"' {
                    return bad("Expected `str`", p.i);
                }
                self.scratch.clear();
                p.string_into(&mut self.scratch)?;
                e.stamp_ns = stamp(&self.scratch).ok_or_else(|| E::Bad("a timestamp this path does not read".into()))?;
            }
            name => {
                let text = plain_string(p)?;
                let out = &mut self.scratch;
                out.clear();
                if text.len() > 44 || !b64::decode_into(text, out) {
                    return bad("not canonical base64", p.i);
                }
                if name == b"iv" {
                    e.iv = out.as_slice().try_into().map_err(|_| E::Bad("`iv` is not 12 bytes".into()))?;
                } else {
                    let salt: [u8; 32] = out.as_slice().try_into().map_err(|_| E::Bad("`salt` is not 32 bytes".into()))?;
                    e.salt = salts.iter().position(|s| *s == salt).unwrap_or_else(|| {
                        salts.push(salt);
                        salts.len() - 1
                    });
                }
            }
        }
        Ok(())
    }
}

/// The raw content of the string at `p`, up to the next `"`. Only base64 is read this way: an escape or a
/// control character in it is no base64 character, so the decoding refuses it.
fn plain_string<'a>(p: &mut P<'a>) -> R<&'a [u8]> {
    if p.peek() != b'"' {
        return bad("Expected `str`", p.i);
    }
    let start = p.i + 1;
    let Some(n) = p.b[start..].iter().position(|&c| c == b'"') else {
        return bad("Input data was truncated", p.i);
    };
    p.i = start + n + 1;
    Ok(&p.b[start..start + n])
}

/// A one-digit integer in `low..=high`.
fn digit(p: &mut P, low: u8, high: u8) -> R<u8> {
    let at = p.i;
    match p.number()? {
        Num::Int(a, b) if b == a + 1 && (b'0' + low..=b'0' + high).contains(&p.b[a]) => Ok(p.b[a] - b'0'),
        _ => bad("an integer outside the member's bounds", at),
    }
}

/// Nanoseconds since the epoch of ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`` when a valid date and time in
/// ``Timestamp``'s range; None for any other text.
pub fn stamp(s: &[u8]) -> Option<i64> {
    let mut i = 19;
    if s.len() < 20 || s[10] != b'T' {
        return None;
    }
    if s[i] == b'.' {
        let digits = s[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&digits) {
            return None;
        }
        i += 1 + digits;
    }
    let zone = &s[i..];
    let plain = zone == b"Z"
        || (zone.len() == 6 && matches!(zone[0], b'+' | b'-') && zone[3] == b':'
            && [1, 2, 4, 5].iter().all(|&k| zone[k].is_ascii_digit()));
    if !plain {
        return None;
    }
    parse_us(s).ok().and_then(|us| storable_ns(us).ok())
}

#[cfg(test)]
mod tests {
    use super::stamp;

    #[test]
    fn plain_timestamps_are_read_to_the_microsecond() {
        assert_eq!(stamp(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(stamp(b"1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(stamp(b"1970-01-01T01:00:00.000001+01:00"), Some(1_000));
        assert_eq!(stamp(b"1969-12-31T23:00:00-01:00"), Some(0));
    }

    #[test]
    fn other_spellings_and_unstorable_times_are_left_to_the_reference() {
        for s in ["1970-01-01T00:00:00", "1970-01-01 00:00:00Z", "1970-01-01t00:00:00z", "1970-01-01T00:00:00.Z",
                  "1970-01-01T00:00:00.1234567Z", "1970-01-01T00:00:00+0100", "1970-01-01T00:00:00+01",
                  "2025-02-29T00:00:00Z", "1899-12-31T23:59:59Z", "2262-04-11T23:47:16.854776Z", "x"] {
            assert_eq!(stamp(s.as_bytes()), None, "{s}");
        }
    }
}
