//! ``schemas.rows.normalize.flatten`` without a Python object: attributes written straight into the map column
//! while they are read; a repeated key (in one object) or a dotted key that collides with a nested one
//! sends the entry's attributes through the tree instead, where dict semantics are explicit.

use std::collections::HashMap;

use crate::columns::MapCol;
use crate::json::{bad, encode, too_deep, too_deep_tree, Num, E, P, R, V, MAX_DEPTH};
use crate::num;

/// Keys of one object the fast path compares pairwise to find a repeated one; a wider object goes
/// through the tree, whose walk hashes them (a pairwise scan of 600,000 keys would never end).
const WIDE: usize = 32;

/// Entries one attribute set may flatten to (schemas/storable.py MAX_ENTRIES).
const MAX_ENTRIES: usize = 1000;

#[derive(Default)]
pub struct Flat {
    prefix: Vec<u8>,
    seen: Vec<u8>,
    seen_at: Vec<(usize, usize)>,
    dotted: bool,
}

/// The attributes object at `p` (at `{`), flattened into `out`'s current row.
pub fn attributes(p: &mut P, out: &mut MapCol, fl: &mut Flat) -> R<()> {
    let start = p.i;
    let first = out.entries();
    fl.prefix.clear();
    fl.seen.clear();
    fl.seen_at.clear();
    fl.dotted = false;
    match fast(p, out, fl, 1) {
        Ok(()) if !(fl.dotted && out.shares_key(first)) => {
            if out.entries() - first > MAX_ENTRIES {
                return too_many(start);
            }
            Ok(())
        }
        // a repeated key may also drop a branch that was too deep: decide on the tree
        Ok(()) | Err(E::Slow) | Err(E::Unstorable(_)) => {
            out.truncate_entries(first);
            p.i = start;
            // Bound the tree before building it: repeated keys counted, so never fewer than it holds.
            if raw_leaves(p, 1)? > MAX_ENTRIES {
                return too_many(start);
            }
            p.i = start;
            let tree = p.value(1)?;
            if too_deep_tree(&tree, 1, false) {
                return too_deep(start);
            }
            slow(&tree, out, start)
        }
        Err(e) => Err(e),
    }
}

/// Leaves of the object at `p` (at `{`) as ``storable.check_tree`` counts them, repeated keys included
/// (so at least what the deduplicated tree holds), read past without building anything; more than
/// ``MAX_ENTRIES`` once it is over the bound or nests deeper than the tables allow.
fn raw_leaves(p: &mut P, depth: u32) -> R<usize> {
    if depth > MAX_DEPTH {
        return Ok(MAX_ENTRIES + 1);
    }
    p.i += 1; // `{`
    p.ws();
    if p.peek() == b'}' {
        p.i += 1;
        return Ok(1);
    }
    let mut n = 0;
    let mut key = Vec::new();
    loop {
        p.member_key(&mut key)?;
        n += if p.peek() == b'{' { raw_leaves(p, depth + 1)? } else { p.skip(depth + 1).map(|_| 1)? };
        if n > MAX_ENTRIES {
            return Ok(n);
        }
        if !p.next_or_close(b'}')? {
            return Ok(n);
        }
    }
}

#[cold]
fn too_many<T>(at: usize) -> R<T> {
    Err(E::Unstorable(format!("More than 1000 attributes in one entry (nested keys count one each) (byte {at})")))
}

fn fast(p: &mut P, out: &mut MapCol, fl: &mut Flat, depth: u32) -> R<()> {
    p.i += 1; // `{`
    p.ws();
    if p.peek() == b'}' {
        p.i += 1; // only the outermost object can be empty here
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return too_deep(p.i);
    }
    let frame = fl.seen_at.len();
    loop {
        if p.peek() != b'"' {
            return bad("expected a key", p.i);
        }
        let plen = fl.prefix.len();
        p.string_into(&mut fl.prefix)?;
        {
            if fl.seen_at.len() - frame >= WIDE {
                return Err(E::Slow); // a wide object: find repeated keys by hashing, on the tree
            }
            let key = &fl.prefix[plen..];
            for &(a, b) in &fl.seen_at[frame..] {
                if &fl.seen[a..b] == key {
                    return Err(E::Slow);
                }
            }
            if key.contains(&b'.') {
                fl.dotted = true;
            }
            let a = fl.seen.len();
            fl.seen.extend_from_slice(key);
            fl.seen_at.push((a, fl.seen.len()));
        }
        p.ws();
        p.expect(b':')?;
        p.ws();
        match p.peek() {
            b'"' => {
                out.keys.push(&fl.prefix).map_err(E::Bad)?;
                p.string_into(&mut out.values.data)?;
                out.values.finish().map_err(E::Bad)?;
            }
            b'{' => {
                let at = p.i;
                p.i += 1;
                p.ws();
                if p.peek() == b'}' {
                    p.i += 1;
                    out.keys.push(&fl.prefix).map_err(E::Bad)?;
                    out.values.push(b"{}").map_err(E::Bad)?;
                } else {
                    p.i = at;
                    fl.prefix.push(b'.');
                    fast(p, out, fl, depth + 1)?;
                }
            }
            b'[' => {
                let tree = p.value(depth + 1)?;
                if too_deep_tree(&tree, depth + 1, false) {
                    return too_deep(p.i);
                }
                out.keys.push(&fl.prefix).map_err(E::Bad)?;
                encode(&tree, &mut out.values.data);
                out.values.finish().map_err(E::Bad)?;
            }
            b't' => leaf(p, out, fl, b"true")?,
            b'f' => leaf(p, out, fl, b"false")?,
            b'n' => leaf(p, out, fl, b"null")?,
            b'-' | b'0'..=b'9' => {
                out.keys.push(&fl.prefix).map_err(E::Bad)?;
                number(p, &mut out.values.data)?;
                out.values.finish().map_err(E::Bad)?;
            }
            _ if p.i >= p.b.len() => return bad("Input data was truncated", p.i),
            _ => return bad("invalid character", p.i),
        }
        fl.prefix.truncate(plen);
        if !p.next_or_close(b'}')? {
            break;
        }
    }
    let a = fl.seen_at[frame].0;
    fl.seen.truncate(a);
    fl.seen_at.truncate(frame);
    Ok(())
}

#[inline]
fn leaf(p: &mut P, out: &mut MapCol, fl: &Flat, word: &[u8]) -> R<()> {
    p.literal(word)?;
    out.keys.push(&fl.prefix).map_err(E::Bad)?;
    out.values.push(word).map_err(E::Bad)
}

/// An int as ``str(int)``, a float as ``msgspec.json.encode(float)``.
#[inline]
fn number(p: &mut P, out: &mut Vec<u8>) -> R<()> {
    match p.number()? {
        Num::Int(a, b) => match num::int_text(&p.b[a..b]) {
            Some(t) => out.extend_from_slice(t),
            None => return bad("Integer value out of range", a),
        },
        Num::Float(a, b) => match num::parse_float(&p.b[a..b]) {
            Some(f) => num::write_f64(f, out),
            None => return bad("Number out of range", a),
        },
    }
    Ok(())
}

/// ``flatten`` on the decoded tree, into a dict (a later name overwrites an earlier one in its place).
fn slow(tree: &V, out: &mut MapCol, at: usize) -> R<()> {
    let V::Obj(items) = tree else { return bad("Expected `object`", at) };
    if leaves(items) > MAX_ENTRIES {
        return too_many(at);
    }
    let mut names: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    walk(items, &mut Vec::new(), &mut names, &mut index);
    for (k, v) in names {
        out.keys.push(&k).map_err(E::Bad)?;
        out.values.push(&v).map_err(E::Bad)?;
    }
    Ok(())
}

/// Entries as ``storable.check_tree`` counts them: each leaf, each empty object, each array.
fn leaves(items: &[(Vec<u8>, V)]) -> usize {
    items
        .iter()
        .map(|(_, v)| match v {
            V::Obj(inner) if !inner.is_empty() => leaves(inner),
            _ => 1,
        })
        .sum()
}

fn walk(items: &[(Vec<u8>, V)], prefix: &mut Vec<u8>, names: &mut Vec<(Vec<u8>, Vec<u8>)>, index: &mut HashMap<Vec<u8>, usize>) {
    for (key, v) in items {
        let plen = prefix.len();
        prefix.extend_from_slice(key);
        let text = match v {
            V::Obj(inner) if !inner.is_empty() => {
                prefix.push(b'.');
                walk(inner, prefix, names, index);
                prefix.truncate(plen);
                continue;
            }
            V::Obj(_) => b"{}".to_vec(),
            V::Str(s) => s.clone(),
            V::Int(t) => t.clone(),
            V::Null => b"null".to_vec(),
            other => {
                let mut buf = Vec::new();
                encode(other, &mut buf);
                buf
            }
        };
        match index.get(prefix.as_slice()) {
            Some(&i) => names[i].1 = text,
            None => {
                index.insert(prefix.clone(), names.len());
                names.push((prefix.clone(), text));
            }
        }
        prefix.truncate(plen);
    }
}
