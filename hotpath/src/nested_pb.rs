//! A nested request in protobuf's binary form (``Protobuf``, a ``Mapping``), written out as the JSON form the
//! walk reads (nested_walk.rs, which knows nothing of protobuf),
//! member by member by the same declaration (nested.rs): each message's fields grouped by member (a repeated
//! member's elements in the order written), ids in hex, 64-bit integers as numbers, bytes in base64, AnyValue
//! and KeyValue as OTLP's common.proto defines them. So both encodings of a request go through one mapping.
//!
//! Contract: ``transcode`` writes JSON that the walk maps to the rows protobuf's decoding and the reference
//! (schemas/rows/nested.py) give, or declines the record (``E::Slow``) where the decoding might read the bytes
//! another way than one JSON member per field: a non-repeated field given twice (protobuf keeps the last scalar
//! and merges messages), an AnyValue or KeyValue giving two of its values, a field the message has that the
//! declaration does not name (protobuf checks its contents), a field on a wire type its type does not take,
//! a string that is not UTF-8, an id of another size than declared, a double that is not finite, messages
//! nested near protobuf's own limit (``MAX_MESSAGES``).

use crate::json::{E, R};
use crate::json_write::write_str;
use crate::mapper::Cols;
use crate::nested::{Config, Form};
use crate::nested_walk::Scratch;
use crate::num::write_f64;
use crate::pb::{Fields, Wire};
use crate::record::Mapping;

/// A field's protobuf type, as far as its wire and its value go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PbType {
    Str,
    Bytes,
    Fixed64,
    Fixed32,
    UInt32,
    Int32,
    Int64,
    UInt64,
    Message,
}

/// One declared message's fields: each member's (field number, type), in the members' order, and the numbers
/// of the fields the message has that the declaration does not name.
pub struct PbMessage {
    pub fields: Vec<(u32, PbType)>,
    pub others: Vec<u32>,
}

/// As Python gives it (sluice/hotpath.py ``wire``): each member's (number, type name), the other numbers.
pub type DeclaredWire = (Vec<(u32, String)>, Vec<u32>);

/// A nested mapping over requests in protobuf's binary form: each written as JSON, then walked by ``config``.
pub struct Protobuf {
    config: Config,
    wire: Vec<PbMessage>,
}

impl Protobuf {
    /// ``config`` with its messages' wire, checked against their members' forms.
    pub fn new(config: Config, declared: Vec<DeclaredWire>) -> Result<Self, String> {
        let wire = wire(&config, declared)?;
        Ok(Protobuf { config, wire })
    }
}

/// The walk's scratch and a request's JSON, reused across requests.
#[derive(Default)]
pub struct PbScratch {
    walk: Scratch,
    json: Vec<u8>,
}

impl Mapping for Protobuf {
    type Scratch = PbScratch;
    const SLOW: &'static str = <Config as Mapping>::SLOW;

    fn source(&self) -> &[u8] {
        self.config.source()
    }

    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, s: &mut PbScratch) -> R<()> {
        s.json.clear();
        transcode(&self.config, &self.wire, body, &mut s.json)?;
        self.config.rows(cols, &s.json, received_ns, &mut s.walk)
    }
}

fn wire(cfg: &Config, declared: Vec<DeclaredWire>) -> Result<Vec<PbMessage>, String> {
    if declared.len() != cfg.messages.len() {
        return Err("one wire table per declared message".into());
    }
    let mut out = Vec::with_capacity(declared.len());
    for (message, (fields, others)) in cfg.messages.iter().zip(declared) {
        if fields.len() != message.members.len() {
            return Err("one field per declared member".into());
        }
        let mut typed = Vec::with_capacity(fields.len());
        for (member, (number, kind)) in message.members.iter().zip(fields) {
            let name = String::from_utf8_lossy(&member.name).into_owned();
            let kind = match kind.as_str() {
                "string" => PbType::Str,
                "bytes" => PbType::Bytes,
                "fixed64" => PbType::Fixed64,
                "fixed32" => PbType::Fixed32,
                "uint32" => PbType::UInt32,
                "int32" | "enum" => PbType::Int32,
                "int64" => PbType::Int64,
                "uint64" => PbType::UInt64,
                "message" => PbType::Message,
                _ => return Err(format!("{name}: the protobuf type {kind:?} is not read here")),
            };
            let fits = match member.form {
                Form::Str => kind == PbType::Str,
                Form::Int => matches!(kind, PbType::Fixed64 | PbType::Fixed32 | PbType::UInt32 | PbType::Int32
                                            | PbType::Int64 | PbType::UInt64),
                Form::Enum => kind == PbType::Int32,
                Form::HexId(_) => kind == PbType::Bytes,
                Form::AnyValue | Form::KeyValues | Form::Message(_) | Form::Repeated(_) => kind == PbType::Message,
            };
            if !fits || number == 0 || others.contains(&number) || typed.iter().any(|&(n, _)| n == number) {
                return Err(format!("{name}: field {number} of type {kind:?} cannot be read in its form"));
            }
            typed.push((number, kind));
        }
        out.push(PbMessage { fields: typed, others });
    }
    Ok(out)
}

/// Messages nested deeper than this are declined: protobuf's decoding refuses a request past 100.
const MAX_MESSAGES: u32 = 96;

/// The protobuf request `body` as the JSON the walk reads, appended to `out`.
fn transcode(cfg: &Config, wire: &[PbMessage], body: &[u8], out: &mut Vec<u8>) -> R<()> {
    message(cfg, wire, 0, body, out, &mut Vec::new(), 1)
}

/// `depth`: how many messages hold this one, itself included.
fn deep(depth: u32) -> R<()> {
    if depth > MAX_MESSAGES { Err(E::Slow) } else { Ok(()) }
}

fn repeated(form: Form) -> bool {
    matches!(form, Form::Repeated(_) | Form::KeyValues)
}

/// Message `m` as a JSON object. A repeated member's elements wait in `found` (scratch, left as it was), any
/// other member's one value in `one`.
fn message<'a>(cfg: &Config, wire: &[PbMessage], m: usize, b: &'a [u8], out: &mut Vec<u8>,
               found: &mut Vec<(usize, Wire<'a>)>, depth: u32) -> R<()> {
    deep(depth)?;
    let (members, pb) = (&cfg.messages[m].members, &wire[m]);
    let base = found.len();
    let mut one: [Option<Wire<'a>>; 32] = [None; 32];
    let mut seen = 0u32;
    let mut fields = Fields::new(b);
    while let Some((number, value)) = fields.next()? {
        let Some(i) = pb.fields.iter().position(|&(n, _)| n == number) else {
            if pb.others.contains(&number) {
                return Err(E::Slow);
            }
            continue; // unknown to the message: protobuf skips it too
        };
        if !on_its_wire(pb.fields[i].1, value) {
            return Err(E::Slow);
        }
        if repeated(members[i].form) {
            found.push((i, value));
        } else if one[i].replace(value).is_some() {
            return Err(E::Slow);
        }
        seen |= 1 << i;
    }
    out.push(b'{');
    let mut first = true;
    for (i, member) in members.iter().enumerate() {
        if seen & (1 << i) == 0 {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(&member.name, out);
        out.push(b':');
        let Some(value) = one[i] else {
            out.push(b'[');
            let mut k = base;
            let mut n = 0;
            while k < found.len() {
                if let (j, Wire::Len(element)) = found[k] {
                    if j == i {
                        if n > 0 {
                            out.push(b',');
                        }
                        n += 1;
                        match member.form {
                            Form::Repeated(c) => message(cfg, wire, c, element, out, found, depth + 1)?,
                            _ => key_value(element, out, depth + 1)?,
                        }
                    }
                }
                k += 1;
            }
            out.push(b']');
            continue;
        };
        match (member.form, value) {
            (Form::Message(c), Wire::Len(inner)) => message(cfg, wire, c, inner, out, found, depth + 1)?,
            (Form::AnyValue, Wire::Len(inner)) => any_value(inner, out, depth + 1)?,
            (Form::Str, Wire::Len(s)) => string(s, out)?,
            (Form::HexId(size), Wire::Len(id)) => hex_id(id, size, out)?,
            (Form::Int | Form::Enum, _) => integer(pb.fields[i].1, value, out),
            _ => return Err(E::Slow),
        }
    }
    out.push(b'}');
    found.truncate(base);
    Ok(())
}

fn on_its_wire(kind: PbType, value: Wire) -> bool {
    matches!((kind, value),
        (PbType::Str | PbType::Bytes | PbType::Message, Wire::Len(_))
        | (PbType::Fixed64, Wire::Fixed64(_))
        | (PbType::Fixed32, Wire::Fixed32(_))
        | (PbType::UInt32 | PbType::Int32 | PbType::Int64 | PbType::UInt64, Wire::Varint(_)))
}

/// An integer as protobuf's decoding reads its type: 32-bit varints cut to their low 32 bits.
fn integer(kind: PbType, value: Wire, out: &mut Vec<u8>) {
    match (kind, value) {
        (PbType::Int32, Wire::Varint(v)) => signed(i64::from(v as u32 as i32), out),
        (PbType::UInt32, Wire::Varint(v)) => decimal(u64::from(v as u32), out),
        (PbType::Int64, Wire::Varint(v)) => signed(v as i64, out),
        (PbType::Fixed32, Wire::Fixed32(v)) => decimal(v.into(), out),
        (_, Wire::Varint(v) | Wire::Fixed64(v)) => decimal(v, out),
        _ => out.push(b'0'), // on_its_wire has ruled the rest out
    }
}

fn signed(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    decimal(v.unsigned_abs(), out);
}

fn decimal(mut v: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn string(s: &[u8], out: &mut Vec<u8>) -> R<()> {
    std::str::from_utf8(s).map_err(|_| E::Slow)?; // protobuf refuses a string that is not UTF-8
    write_str(s, out);
    Ok(())
}

fn hex_id(id: &[u8], size: usize, out: &mut Vec<u8>) -> R<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if !id.is_empty() && id.len() != size {
        return Err(E::Slow); // protobuf keeps an id of any size; the JSON form takes the declared size only
    }
    out.push(b'"');
    for &c in id {
        out.extend_from_slice(&[HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
    }
    out.push(b'"');
    Ok(())
}

/// common.proto's AnyValue: a oneof of string 1, bool 2, int64 3, double 4, ArrayValue 5, KeyValueList 6,
/// bytes 7. Here and in the messages below it any other field is declined: the reader does not know whether
/// protobuf's decoding would read it (sluice/hotpath.py COMMON).
fn any_value(b: &[u8], out: &mut Vec<u8>, depth: u32) -> R<()> {
    deep(depth)?;
    let mut fields = Fields::new(b);
    let mut set: Option<(u32, Wire)> = None;
    while let Some((number, value)) = fields.next()? {
        if !(1..=7).contains(&number) || set.is_some() {
            return Err(E::Slow); // another field (the oneof's newer values among them), two of the oneof, or
                                 // one twice (the last wins, messages merge)
        }
        set = Some((number, value));
    }
    let Some((number, value)) = set else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    match (number, value) {
        (1, Wire::Len(s)) => {
            out.extend_from_slice(b"{\"stringValue\":");
            string(s, out)?;
        }
        (2, Wire::Varint(v)) => out.extend_from_slice(if v != 0 { b"{\"boolValue\":true" } else { b"{\"boolValue\":false" }),
        (3, Wire::Varint(v)) => {
            out.extend_from_slice(b"{\"intValue\":");
            signed(v as i64, out);
        }
        (4, Wire::Fixed64(bits)) => {
            let x = f64::from_bits(bits);
            if !x.is_finite() {
                return Err(E::Slow);
            }
            out.extend_from_slice(b"{\"doubleValue\":");
            write_f64(x, out);
        }
        (5, Wire::Len(list)) => {
            out.extend_from_slice(b"{\"arrayValue\":");
            values(list, out, depth + 1, |element, out| any_value(element, out, depth + 2))?;
        }
        (6, Wire::Len(list)) => {
            out.extend_from_slice(b"{\"kvlistValue\":");
            values(list, out, depth + 1, |element, out| key_value(element, out, depth + 2))?;
        }
        (7, Wire::Len(bytes)) => {
            out.extend_from_slice(b"{\"bytesValue\":\"");
            base64(bytes, out);
            out.push(b'"');
        }
        _ => return Err(E::Slow),
    }
    out.push(b'}');
    Ok(())
}

/// ArrayValue's and KeyValueList's one member, ``repeated … values = 1``, as ``{"values":[…]}``.
fn values(b: &[u8], out: &mut Vec<u8>, depth: u32, mut element: impl FnMut(&[u8], &mut Vec<u8>) -> R<()>) -> R<()> {
    deep(depth)?;
    out.extend_from_slice(b"{\"values\":[");
    let mut fields = Fields::new(b);
    let mut n = 0;
    while let Some((number, value)) = fields.next()? {
        match (number, value) {
            (1, Wire::Len(inner)) => {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                element(inner, out)?;
            }
            _ => return Err(E::Slow), // a field this reader does not know
        }
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

/// common.proto's KeyValue: key 1, value 2 (an AnyValue).
fn key_value(b: &[u8], out: &mut Vec<u8>, depth: u32) -> R<()> {
    deep(depth)?;
    let mut fields = Fields::new(b);
    let (mut key, mut value): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    while let Some((number, wire)) = fields.next()? {
        let slot = match number {
            1 => &mut key,
            2 => &mut value,
            _ => return Err(E::Slow), // ``key_strindex`` among them
        };
        let Wire::Len(inner) = wire else { return Err(E::Slow) };
        if slot.replace(inner).is_some() {
            return Err(E::Slow);
        }
    }
    out.push(b'{');
    if let Some(key) = key {
        out.extend_from_slice(b"\"key\":");
        string(key, out)?;
    }
    if let Some(value) = value {
        out.extend_from_slice(if key.is_some() { b",\"value\":" } else { b"\"value\":" });
        any_value(value, out, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}

fn base64(bytes: &[u8], out: &mut Vec<u8>) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &c)| n | u32::from(c) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' });
        }
    }
}
