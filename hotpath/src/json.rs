//! A JSON reader with msgspec's grammar (RFC 8259, UTF-8 checked, surrogate pairs joined), a small value tree
//! with Python dict semantics (a repeated key keeps its first place and its last value), and msgspec's writer.

use crate::num;

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
const MAX_SKIP_DEPTH: u32 = 900;

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
                let mut cp = self.hex4()?;
                if (0xD800..0xDC00).contains(&cp) {
                    if self.peek() != b'\\' || self.b.get(self.i + 1) != Some(&b'u') {
                        return bad("invalid utf-16 surrogate pair", self.i);
                    }
                    self.i += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return bad("invalid utf-16 surrogate pair", self.i);
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (0xDC00..0xE000).contains(&cp) {
                    return bad("invalid utf-16 surrogate pair", self.i);
                }
                let ch = char::from_u32(cp).unwrap();
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            _ => return bad("invalid escape character in string", self.i - 1),
        };
        out.push(byte);
        Ok(())
    }

    /// A string skipped (an unknown field): msgspec checks its escapes and control characters, not its UTF-8.
    fn skip_string(&mut self) -> R<()> {
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
                            self.hex4()?;
                        }
                        _ => return bad("invalid escaped character", self.i - 1),
                    }
                }
                c if c < 0x20 => return bad("invalid character", self.i - 1),
                _ => {}
            }
        }
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

    /// A value as a tree (what msgspec decodes for ``Any``); `depth` only bounds the recursion (msgspec
    /// stops at Python's recursion limit): the storable depth is checked on the final tree (``too_deep_tree``).
    pub fn value(&mut self, depth: u32) -> R<V> {
        if depth > MAX_SKIP_DEPTH {
            return bad("nested too deeply", self.i);
        }
        match self.peek() {
            b'"' => {
                let mut s = Vec::new();
                self.string_into(&mut s)?;
                Ok(V::Str(s))
            }
            b'{' => {
                self.i += 1;
                self.ws();
                let mut items: Vec<(Vec<u8>, V)> = Vec::new();
                // Where each key is, once the object is too wide to look a repeated key up by scanning.
                let mut index: Option<std::collections::HashMap<Vec<u8>, usize>> = None;
                if self.peek() == b'}' {
                    self.i += 1;
                    return Ok(V::Obj(items));
                }
                loop {
                    let mut key = Vec::new();
                    self.member_key(&mut key)?;
                    let v = self.value(depth + 1)?;
                    let found = match &index {
                        Some(at) => at.get(&key).copied(),
                        None => items.iter().position(|(k, _)| *k == key),
                    };
                    match found {
                        Some(i) => items[i].1 = v,
                        None => {
                            if let Some(at) = index.as_mut() {
                                at.insert(key.clone(), items.len());
                            } else if items.len() == 32 {
                                index = Some(items.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
                                index.as_mut().unwrap().insert(key.clone(), items.len());
                            }
                            items.push((key, v));
                        }
                    }
                    if !self.next_or_close(b'}')? {
                        return Ok(V::Obj(items));
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                let mut items = Vec::new();
                if self.peek() == b']' {
                    self.i += 1;
                    return Ok(V::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if !self.next_or_close(b']')? {
                        return Ok(V::Arr(items));
                    }
                }
            }
            b't' => self.literal(b"true").map(|_| V::Bool(true)),
            b'f' => self.literal(b"false").map(|_| V::Bool(false)),
            b'n' => self.literal(b"null").map(|_| V::Null),
            b'-' | b'0'..=b'9' => self.scalar_number(),
            _ if self.i >= self.b.len() => bad("Input data was truncated", self.i),
            _ => bad("invalid character", self.i),
        }
    }

    fn scalar_number(&mut self) -> R<V> {
        match self.number()? {
            Num::Int(a, b) => match num::int_text(&self.b[a..b]) {
                Some(t) => Ok(V::Int(t.to_vec())),
                None => bad("Integer value out of range", a),
            },
            Num::Float(a, b) => match num::parse_float(&self.b[a..b]) {
                Some(f) => Ok(V::Float(f)),
                None => bad("Number out of range", a),
            },
        }
    }
}

#[cold]
pub fn too_deep<T>(at: usize) -> R<T> {
    Err(E::Unstorable(format!("Attributes nest more than 32 levels of objects and arrays (byte {at})")))
}

/// Whether ``storable.check_tree`` finds a container of `v` deeper than MAX_DEPTH: `v` at `depth`; an empty
/// object counts only inside an array (in an object it is a leaf, "{}").
pub fn too_deep_tree(v: &V, depth: u32, in_array: bool) -> bool {
    match v {
        V::Obj(items) if items.is_empty() => in_array && depth > MAX_DEPTH,
        V::Obj(items) => depth > MAX_DEPTH || items.iter().any(|(_, c)| too_deep_tree(c, depth + 1, in_array)),
        V::Arr(items) => depth > MAX_DEPTH || items.iter().any(|c| too_deep_tree(c, depth + 1, true)),
        _ => false,
    }
}

/// A decoded JSON value, as msgspec gives it to Python (objects: dicts, keys in first-seen order).
pub enum V {
    Str(Vec<u8>),
    Int(Vec<u8>),
    Float(f64),
    Bool(bool),
    Null,
    Arr(Vec<V>),
    Obj(Vec<(Vec<u8>, V)>),
}

/// msgspec's string escaping: `"` and `\`, control characters as \b \t \n \f \r or \u00XX; the rest as is.
pub fn write_str(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            8 => b"\\b",
            9 => b"\\t",
            10 => b"\\n",
            12 => b"\\f",
            13 => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// ``msgspec.json.encode(value)``: compact, keys in dict order.
pub fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Str(s) => write_str(s, out),
        V::Int(t) => out.extend_from_slice(t),
        V::Float(f) => num::write_f64(*f, out),
        V::Bool(true) => out.extend_from_slice(b"true"),
        V::Bool(false) => out.extend_from_slice(b"false"),
        V::Null => out.extend_from_slice(b"null"),
        V::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode(item, out);
            }
            out.push(b']');
        }
        V::Obj(items) => {
            out.push(b'{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                encode(item, out);
            }
            out.push(b'}');
        }
    }
}
