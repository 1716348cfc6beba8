//! The value tree: what msgspec decodes for ``Any`` (objects as dicts, keys in first-seen order; a repeated key
//! keeps its first place and its last value), and the storability check of its depth (schemas/storable.py).
//!
//! Contract: `P::value` reads one value at `P.i` whole or fails with `E::Bad` (grammar, numbers out of
//! msgspec's range); it bounds only the recursion. Whether the tree nests too deeply for the tables is a
//! separate question, `too_deep_tree`, asked of the finished tree, answered as `E::Unstorable` by `too_deep`.

use crate::json_scan::{bad, Num, E, MAX_DEPTH, MAX_SKIP_DEPTH, P, R};
use crate::num;

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

impl<'a> P<'a> {
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
