//! JSON strings as msgspec reads them: a string unescaped into bytes (UTF-8 checked, `\uXXXX` escapes with
//! surrogate pairs joined into one character), or a string skipped with only its escapes and control
//! characters and surrogate pairs checked (an unknown field, where msgspec does not check UTF-8).
//!
//! Contract: called with `P.i` at the opening `"`; on `Ok`, `P.i` is just past the closing `"` and `out`
//! holds the string's bytes appended (never cleared here); on error, `E::Bad` names the byte.

use crate::json_scan::{bad, P, R};

impl<'a> P<'a> {
    /// The string at `"`, unescaped, appended to `out`.
    #[inline]
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> R<()> {
        self.i += 1;
        let b = self.b;
        loop {
            let start = self.i;
            let mut j = start;
            while j < b.len() {
                let c = b[j];
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                j += 1;
            }
            if j >= b.len() {
                return bad("Input data was truncated", j);
            }
            let chunk = &b[start..j];
            if !chunk.is_ascii() && std::str::from_utf8(chunk).is_err() {
                return bad("Invalid UTF-8 encoded string", start);
            }
            out.extend_from_slice(chunk);
            match b[j] {
                b'"' => {
                    self.i = j + 1;
                    return Ok(());
                }
                b'\\' => {
                    self.i = j + 1;
                    self.escape(out)?;
                }
                _ => return bad("invalid character", j),
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        let mut x = 0u32;
        for _ in 0..4 {
            let c = self.peek();
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return bad("invalid character in unicode escape", self.i),
            };
            x = x * 16 + d as u32;
            self.i += 1;
        }
        Ok(x)
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> R<()> {
        let c = self.peek();
        self.i += 1;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let ch = char::from_u32(self.code_point()?).unwrap();
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            _ => return bad("invalid escape character in string", self.i - 1),
        };
        out.push(byte);
        Ok(())
    }

    /// The character of a `\\uXXXX` escape (`P.i` just past the `u`), a surrogate pair joined; a lone or
    /// mismatched surrogate is refused.
    fn code_point(&mut self) -> R<u32> {
        let cp = self.hex4()?;
        if (0xD800..0xDC00).contains(&cp) {
            if self.peek() != b'\\' || self.b.get(self.i + 1) != Some(&b'u') {
                return bad("invalid utf-16 surrogate pair", self.i);
            }
            self.i += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return bad("invalid utf-16 surrogate pair", self.i);
            }
            return Ok(0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
        }
        if (0xDC00..0xE000).contains(&cp) {
            return bad("invalid utf-16 surrogate pair", self.i);
        }
        Ok(cp)
    }

    /// A string skipped (an unknown field): msgspec checks its escapes and control characters, not its UTF-8.
    pub(crate) fn skip_string(&mut self) -> R<()> {
        self.i += 1;
        loop {
            let c = self.peek();
            if self.i >= self.b.len() {
                return bad("Input data was truncated", self.i);
            }
            self.i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = self.peek();
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            self.code_point()?; // msgspec checks a skipped string's surrogate pairs too
                        }
                        _ => return bad("invalid escaped character", self.i - 1),
                    }
                }
                c if c < 0x20 => return bad("invalid character", self.i - 1),
                _ => {}
            }
        }
    }
}
