//! Protobuf's binary wire format read field by field: a field's number and its value as the wire carries it
//! (a varint, 8 or 4 little-endian bytes, or a length-delimited slice), nothing decoded further.
//!
//! Contract: ``Fields::next`` returns the next field, ``None`` at the end of the message, or ``E::Slow`` where
//! the bytes are not a message this reader takes (a varint past 64 bits or 10 bytes, a tag or a length written
//! in more than 5 bytes or past 32 bits, which protobuf's decoding refuses, a field number 0, a length past the
//! end, a group): the record is then declined and protobuf's own decoding judges it.

use crate::json::{E, R};

/// A field's value as the wire carries it.
#[derive(Clone, Copy)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// The fields of one message, in the order written.
pub struct Fields<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Fields<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Fields { b, i: 0 }
    }

    pub fn next(&mut self) -> R<Option<(u32, Wire<'a>)>> {
        if self.i == self.b.len() {
            return Ok(None);
        }
        let key = self.short_varint()?;
        let number = key >> 3;
        if number == 0 || number >= 1 << 29 {
            return Err(E::Slow);
        }
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| E::Slow)?)),
            2 => {
                let n = self.short_varint()?;
                if n > i32::MAX as u64 {
                    return Err(E::Slow);
                }
                Wire::Len(self.take(n as usize)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| E::Slow)?)),
            _ => return Err(E::Slow), // groups (3, 4) and the wire types protobuf does not define
        };
        Ok(Some((number as u32, wire)))
    }

    /// A tag or a length: protobuf's decoding refuses one longer than 5 bytes or past 32 bits.
    fn short_varint(&mut self) -> R<u64> {
        let start = self.i;
        let x = self.varint()?;
        if self.i - start > 5 || x > u64::from(u32::MAX) {
            return Err(E::Slow);
        }
        Ok(x)
    }

    fn varint(&mut self) -> R<u64> {
        let mut x = 0u64;
        for k in 0..10 {
            let &c = self.b.get(self.i).ok_or(E::Slow)?;
            self.i += 1;
            if k == 9 && c > 1 {
                return Err(E::Slow); // bits past 64: decoders differ on what they keep
            }
            x |= u64::from(c & 0x7f) << (7 * k);
            if c < 0x80 {
                return Ok(x);
            }
        }
        Err(E::Slow)
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.i.checked_add(n).filter(|&end| end <= self.b.len()).ok_or(E::Slow)?;
        let taken = &self.b[self.i..end];
        self.i = end;
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(b: &[u8]) -> Option<Vec<(u32, u64)>> {
        let mut f = Fields::new(b);
        let mut out = Vec::new();
        loop {
            match f.next() {
                Ok(None) => return Some(out),
                Ok(Some((n, Wire::Varint(v) | Wire::Fixed64(v)))) => out.push((n, v)),
                Ok(Some((n, Wire::Fixed32(v)))) => out.push((n, v.into())),
                Ok(Some((n, Wire::Len(s)))) => out.push((n, s.len() as u64)),
                Err(_) => return None,
            }
        }
    }

    #[test]
    fn fields_of_each_wire_type() {
        let b = [0x08, 0x96, 0x01, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1a, 2, b'h', b'i', 0x25, 7, 0, 0, 0];
        assert_eq!(all(&b), Some(vec![(1, 150), (2, 1), (3, 2), (4, 7)]));
    }

    #[test]
    fn what_is_not_a_message_here_is_declined() {
        assert_eq!(all(&[0x1a, 5, b'x']), None); // a length past the end
        assert_eq!(all(&[0x0b]), None); // a group
        assert_eq!(all(&[0x00, 0x01]), None); // field number 0
        assert_eq!(all(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), None); // past 64 bits
        assert_eq!(all(&[0x08, 0x80]), None); // a varint cut short
        assert_eq!(all(&[0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01]), None); // a tag in 6 bytes
        assert_eq!(all(&[0x1a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, b'x']), None); // a length in 6 bytes
        assert_eq!(all(&[0x88, 0x80, 0x80, 0x80, 0x00, 0x01]), Some(vec![(1, 1)])); // a tag in 5 bytes
        let max = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(all(&max), Some(vec![(1, u64::MAX)]));
    }
}
