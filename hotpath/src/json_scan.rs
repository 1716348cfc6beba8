//! The JSON scanner: a cursor (`P`) over one record's bytes that reads msgspec's grammar (RFC 8259) piece by
//! piece (whitespace, punctuation, a member's key, a number's span, a literal) and skips an unknown value with
//! its grammar checked, as msgspec's skip does; ``object`` and ``array`` walk a container, handing each member
//! (key unescaped) or element to the caller.
//!
//! Contract: a method either moves `P.i` past what it read and returns `Ok`, or returns `E::Bad` naming the
//! byte where the input breaks the grammar; after an error the position means nothing (the caller declines
//! the whole record).

pub enum E {
    /// The record does not decode: msgspec (or the storability check) would reject it.
    Bad(String),
    /// The fast flattening met a repeated or colliding key: redo the attributes on the tree.
    Slow,
    /// Decodes, but the tables cannot hold it (schemas/storable.py): checked on a field's last occurrence only.
    Unstorable(String),
}

pub type R<T> = Result<T, E>;

#[cold]
pub fn bad<T>(what: &str, at: usize) -> R<T> {
    Err(E::Bad(format!("{what} (byte {at})")))
}

/// Objects and arrays an attribute set may nest (schemas/storable.py MAX_DEPTH).
pub const MAX_DEPTH: u32 = 32;
/// Deepest nesting skipped in an unknown field (stack safety; msgspec stops at Python's recursion limit).
pub(crate) const MAX_SKIP_DEPTH: u32 = 900;

pub struct P<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

pub enum Num {
    Int(usize, usize),
    Float(usize, usize),
}

impl<'a> P<'a> {
    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    #[inline]
    pub fn peek(&self) -> u8 {
        // NUL is never valid outside strings, so it stands for the end too.
        *self.b.get(self.i).unwrap_or(&0)
    }
    #[inline]
    pub fn expect(&mut self, c: u8) -> R<()> {
        if self.peek() == c {
            self.i += 1;
            Ok(())
        } else if self.i >= self.b.len() {
            bad("Input data was truncated", self.i)
        } else {
            bad(&format!("expected `{}`", c as char), self.i)
        }
    }
    /// After a member or element: true for `,` (another follows), false for `close`.
    #[inline]
    pub fn next_or_close(&mut self, close: u8) -> R<bool> {
        self.ws();
        let c = self.peek();
        if c == b',' {
            self.i += 1;
            self.ws();
            if self.peek() == close {
                return bad("trailing comma", self.i);
            }
            Ok(true)
        } else if c == close {
            self.i += 1;
            Ok(false)
        } else {
            bad("invalid character", self.i)
        }
    }

    /// An object member's key (at `"`) into `key`, and the `:` after it; `p` is then at the value.
    #[inline]
    pub fn member_key(&mut self, key: &mut Vec<u8>) -> R<()> {
        if self.peek() != b'"' {
            return bad("expected a key", self.i);
        }
        key.clear();
        self.string_into(key)?;
        self.ws();
        self.expect(b':')?;
        self.ws();
        Ok(())
    }

    /// A number's span, by JSON's grammar.
    #[inline]
    pub fn number(&mut self) -> R<Num> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return bad("invalid number", i),
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            i += 1;
            float = true;
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                return bad("invalid number", i);
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            float = true;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                return bad("invalid number", i);
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'0'..=b'9')) {
            return bad("invalid number", i); // a leading zero: 01
        }
        self.i = i;
        Ok(if float { Num::Float(start, i) } else { Num::Int(start, i) })
    }

    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            bad("invalid character", self.i)
        }
    }

    /// A value skipped (an unknown field), checked for grammar like msgspec's skip.
    pub fn skip(&mut self, depth: u32) -> R<()> {
        if depth > MAX_SKIP_DEPTH {
            return bad("nested too deeply", self.i);
        }
        match self.peek() {
            b'"' => self.skip_string(),
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek() == b'}' {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if self.peek() != b'"' {
                        return bad("expected a key", self.i);
                    }
                    self.skip_string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.skip(depth + 1)?;
                    if !self.next_or_close(b'}')? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == b']' {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.next_or_close(b']')? {
                        return Ok(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ if self.i >= self.b.len() => bad("Input data was truncated", self.i),
            _ => bad("invalid character", self.i),
        }
    }
}

/// The object at `p`, each member's key (unescaped) and the cursor at its value handed to `f`.
pub fn object<'a>(p: &mut P<'a>, mut f: impl FnMut(&mut P<'a>, &[u8]) -> R<()>) -> R<()> {
    if p.peek() != b'{' {
        return bad("Expected `object`", p.i);
    }
    p.i += 1;
    p.ws();
    if p.peek() == b'}' {
        p.i += 1;
        return Ok(());
    }
    let mut escaped = Vec::new();
    loop {
        if p.peek() != b'"' {
            return bad("expected a key", p.i);
        }
        let b = p.b;
        let start = p.i + 1;
        let mut j = start;
        while j < b.len() && b[j] != b'"' && b[j] != b'\\' && b[j] >= 0x20 {
            j += 1;
        }
        let plain = j < b.len() && b[j] == b'"' && (b[start..j].is_ascii() || std::str::from_utf8(&b[start..j]).is_ok());
        let key: &[u8] = if plain {
            p.i = j + 1;
            &b[start..j]
        } else {
            escaped.clear();
            p.string_into(&mut escaped)?;
            &escaped
        };
        p.ws();
        p.expect(b':')?;
        p.ws();
        f(p, key)?;
        if !p.next_or_close(b'}')? {
            return Ok(());
        }
    }
}

/// The array at `p`, the cursor at each element handed to `f`.
pub fn array<'a>(p: &mut P<'a>, mut f: impl FnMut(&mut P<'a>) -> R<()>) -> R<()> {
    if p.peek() != b'[' {
        return bad("Expected `array`", p.i);
    }
    p.i += 1;
    p.ws();
    if p.peek() == b']' {
        p.i += 1;
        return Ok(());
    }
    loop {
        f(p)?;
        if !p.next_or_close(b']')? {
            return Ok(());
        }
    }
}
