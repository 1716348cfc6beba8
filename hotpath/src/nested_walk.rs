//! One OTLP/JSON LogRecord becoming one row, as ``schemas.dialects.otlp.rows.normalize_otlp`` maps it: its own time,
//! else
//! its observed time, else the receive time; its severity number, else the one its text names
//! (schemas/severity.py); the body as ``_body`` writes it; trace and span ids as lower-case hex; its attributes
//! flattened; ``flags & 0xFF``. The columns of its scope and resource are written when those close (otlp.rs).
//!
//! Contract: `Cols::otlp_record` appends exactly one value to every per-record column (time, severity text and
//! number, body, ids, attributes, flags) and returns `Ok`, or returns why the record is declined, leaving a
//! partial row that the caller truncates away.

use crate::json::{bad, encode, object, E, P, R};
use crate::mapper::Cols;
use crate::otlp::Config;
use crate::otlp_attributes::{attributes, Attrs};
use crate::otlp_scan::{int, once, skip_unknown, string};
use crate::otlp_value::{any_value, Value};

impl Cols {
    /// The LogRecord object at `p` appended as one row; `attrs` and `text` are scratch reused across records.
    pub(crate) fn otlp_record(&mut self, cfg: &Config, p: &mut P, attrs: &mut Attrs, text: &mut Vec<u8>,
                              received_ns: i64) -> R<()> {
        let (mut seen, mut time, mut observed, mut number, mut flags) = (0u32, 0i128, 0i128, 0u8, 0u8);
        let at = p.i;
        object(p, |p, key| {
            let bit = match key {
                b"timeUnixNano" => 1,
                b"observedTimeUnixNano" => 2,
                b"severityNumber" => 4,
                b"severityText" => 8,
                b"body" => 16,
                b"attributes" => 32,
                b"droppedAttributesCount" => 64,
                b"flags" => 128,
                b"traceId" => 256,
                b"spanId" => 512,
                b"eventName" => 1024,
                _ => return skip_unknown(p),
            };
            once(&mut seen, bit, p.i)?;
            match bit {
                1 => time = int(p)?,
                2 => observed = int(p)?,
                4 => number = severity_number(cfg, p, text)?,
                8 => string(p, &mut self.severity_text.data)?,
                16 if p.peek() == b'n' => p.literal(b"null")?,
                16 => body(p, &mut self.body.data)?,
                32 => attributes(p, &mut self.attributes, attrs)?,
                64 => drop(int(p)?),
                128 => flags = (int(p)? & 0xFF) as u8, // Python's `& 0xFF` on any int: two's complement
                256 => hex_id(p, 16, &mut self.trace_id.data)?,
                512 => hex_id(p, 8, &mut self.span_id.data)?,
                _ => {
                    text.clear();
                    string(p, text)?;
                }
            }
            Ok(())
        })?;
        for t in [time, observed] {
            if t != 0 && !(cfg.time_low as i128..=cfg.time_high as i128).contains(&t) {
                return Err(E::Unstorable(format!("a time outside the Timestamp column (byte {at})")));
            }
        }
        let stamp = if time != 0 { time as i64 } else if observed != 0 { observed as i64 } else { received_ns };
        self.timestamp.push(stamp);
        let number = if number != 0 { number } else { cfg.severities.number(self.severity_text.current())? };
        self.severity_number.push(number);
        self.trace_flags.push(flags);
        for c in [&mut self.severity_text, &mut self.body, &mut self.trace_id, &mut self.span_id] {
            c.finish().map_err(E::Bad)?;
        }
        self.attributes.finish_row();
        Ok(())
    }
}

/// ``schemas.dialects.otlp.rows._body``: nothing for no value, a scalar's text (a string as it is), a container as
/// msgspec's
/// JSON.
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
