//! One member's value read in its form (schemas/nested.py) and written where its role puts it: a row's
//! column, or the frame of the level being read (nested_walk.rs). A member with no role is read and checked
//! in its form, then dropped. The forms are OTLP/JSON's: proto3's integers and enums, AnyValue (otlp_value.rs),
//! KeyValue lists (otlp_attributes.rs), hex ids.
//!
//! Contract: `Cols::value` reads exactly one JSON value at `p` and writes it, or returns why the record is
//! declined (what it wrote is then taken back with the record).

use crate::columns::MapCol;
use crate::json::{bad, encode, P, R};
use crate::mapper::Cols;
use crate::nested::{Config, Form, Member, Role};
use crate::nested_walk::{At, Scratch};
use crate::otlp_attributes::attributes;
use crate::otlp_scan::{int, string};
use crate::otlp_value::{any_value, Value};

impl Cols {
    pub(crate) fn value(&mut self, cfg: &Config, member: &Member, p: &mut P, s: &mut Scratch, to: &mut At) -> R<()> {
        let Some(role) = member.role else {
            return dropped(cfg, member.form, p, s);
        };
        match (role, to) {
            (Role::Time, At::Row(v)) => v.time = int(p)?,
            (Role::ObservedTime, At::Row(v)) => v.observed = int(p)?,
            (Role::SeverityNumber, At::Row(v)) => v.number = severity_number(cfg, p, &mut s.text)?,
            (Role::TraceFlags, At::Row(v)) => v.flags = (int(p)? & 0xFF) as u8, // Python's `& 0xFF`: two's complement
            (Role::Level, At::Row(_)) => string(p, &mut self.severity_text.data)?,
            (Role::Body, At::Row(_)) if p.peek() == b'n' => p.literal(b"null")?, // no value
            (Role::Body, At::Row(_)) => body(p, &mut self.body.data)?,
            (Role::Attributes, At::Row(_)) => attributes(p, &mut self.attributes, &mut s.attrs)?,
            (Role::TraceId | Role::SpanId, At::Row(_)) => {
                let Form::HexId(size) = member.form else { return bad("an id declared in another form", p.i) };
                hex_id(p, size, &mut self.string_col(role).data)?
            }
            (Role::ScopeName | Role::ScopeVersion, At::Level(frame)) => string(p, frame.string(role))?,
            (Role::ResourceAttributes | Role::ScopeAttributes, At::Level(frame)) => {
                attributes(p, frame.map(role), &mut s.attrs)?
            }
            _ => return bad("a role on the wrong side of the rows", p.i), // Config::new refuses such declarations
        }
        Ok(())
    }
}

/// A member no column takes: read in its form, checked, dropped.
fn dropped(cfg: &Config, form: Form, p: &mut P, s: &mut Scratch) -> R<()> {
    s.text.clear();
    match form {
        Form::Str => string(p, &mut s.text),
        Form::Int => int(p).map(drop),
        Form::Enum => severity_number(cfg, p, &mut s.text).map(drop),
        Form::AnyValue if p.peek() == b'n' => p.literal(b"null"),
        Form::AnyValue => body(p, &mut s.text),
        Form::KeyValues => {
            let mut map = s.map.take().unwrap_or_else(|| MapCol::with_capacity(1, 8, 128));
            map.truncate_entries(0);
            let read = attributes(p, &mut map, &mut s.attrs);
            s.map = Some(map);
            read
        }
        Form::HexId(size) => hex_id(p, size, &mut s.text),
        Form::Message(_) | Form::Repeated(_) => bad("a message read as a value", p.i),
    }
}

/// An AnyValue as a column's text (``schemas.rows.nested._text``): nothing for no value, a scalar's text (a
/// string as it is), a container as msgspec's JSON.
fn body(p: &mut P, out: &mut Vec<u8>) -> R<()> {
    let mark = out.len();
    match any_value(p, 1, out)? {
        Value::Scalar(0) => out.truncate(mark), // none set: "null" was written
        Value::Scalar(_) => {}
        Value::Tree(v) => encode(&v, out),
    }
    Ok(())
}

/// A severityNumber: a JSON integer, a string of digits, or the enum's name (``json_mirror.parse``), 0 to
/// 255 (UInt8); anything else is declined.
fn severity_number(cfg: &Config, p: &mut P, text: &mut Vec<u8>) -> R<u8> {
    let at = p.i;
    let quoted_name = p.peek() == b'"' && !matches!(p.b.get(p.i + 1), Some(b'0'..=b'9' | b'-'));
    if !quoted_name {
        return match int(p)? {
            n @ 0..=255 => Ok(n as u8),
            _ => bad("a severityNumber outside SeverityNumber (UInt8)", at),
        };
    }
    text.clear();
    string(p, text)?;
    match cfg.names.iter().find(|(name, _)| name == text) {
        Some(&(_, n)) => Ok(n),
        None => bad("a severityNumber that names no SeverityNumber", at),
    }
}

/// A trace or span id: "" or exactly `size` bytes of hex, lower-cased (``json_mirror._hex``; the spellings
/// ``bytes.fromhex`` also reads, with spaces, are left to the reference).
fn hex_id(p: &mut P, size: usize, out: &mut Vec<u8>) -> R<()> {
    let at = p.i;
    if p.peek() != b'"' {
        return bad("Expected `str`", at);
    }
    let b = p.b;
    let start = at + 1;
    let end = start + b[start..].iter().position(|&c| c == b'"').unwrap_or(b.len() - start);
    let id = &b[start..end];
    if end >= b.len() || !(id.is_empty() || (id.len() == 2 * size && id.iter().all(u8::is_ascii_hexdigit))) {
        return bad("an id that is not plain hex of its size", at);
    }
    out.extend(id.iter().map(u8::to_ascii_lowercase));
    p.i = end + 1;
    Ok(())
}
