//! What every mapper shares (the declared ``Spec``, OTLP's and Logstash's ``Config``): a record is mapped whole
//! or not at all, its envelope's columns repeated on its rows (``Cols::record``), and a batch of records is
//! mapped in order with one scratch (``build``). lib.rs turns a batch into what Python reads.
//!
//! Contract: ``Cols::record`` appends all of a record's rows and returns their number, or returns why it is
//! declined with every column as it was before the record.

use crate::json::{bad, E, P, R};
use crate::mapper::{Cols, Envelope};
use crate::Env;

/// One dialect's mapping of a record's bytes to rows.
pub trait Mapping: Sync {
    /// Buffers reused across the records of one batch.
    type Scratch: Default;
    /// Why a record is declined when the mapper met a value only the reference reads exactly (``E::Slow``).
    const SLOW: &'static str;
    /// The ``Source`` column of every row.
    fn source(&self) -> &[u8];
    /// Appends the rows of the record ``body`` (all of it: trailing characters are refused). On an error some
    /// rows may have been appended: ``Cols::record`` takes them back.
    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, scratch: &mut Self::Scratch) -> R<()>;
}

impl Cols {
    /// One record's rows appended, with the envelope's columns: their number, or why the record is declined
    /// (the columns are then as before).
    pub fn record<M: Mapping>(&mut self, mapping: &M, body: &[u8], env: &Envelope, scratch: &mut M::Scratch)
                              -> Result<usize, String> {
        let before = self.rows();
        if let Err(e) = mapping.rows(self, body, env.received_ns, scratch) {
            self.truncate(before);
            return Err(match e {
                E::Bad(message) | E::Unstorable(message) => message,
                E::Slow => M::SLOW.into(),
            });
        }
        let n = self.rows() - before;
        self.tenant.repeat(env.tenant, n)?;
        self.environment.repeat(env.environment, n)?;
        self.source.repeat(mapping.source(), n)?;
        self.request_id.repeat(env.request_id, n)?;
        self.received.extend(std::iter::repeat_n(env.received_ns, n));
        Ok(n)
    }
}

/// A batch mapped: the columns, each value's rows (-1: declined) and the declined values' (index, reason).
pub type Built = (Cols, Vec<i32>, Vec<(usize, String)>);

/// The rows of every value (``(address, length)`` of bytes that outlive the call), in order, each with its
/// envelope.
pub fn build<M: Mapping>(mapping: &M, values: &[(usize, usize)], envelopes: &[Env]) -> Built {
    let total: usize = values.iter().map(|v| v.1).sum();
    let mut cols = Cols::with_capacity(total);
    let mut scratch = M::Scratch::default();
    let mut counts = Vec::with_capacity(values.len());
    let mut declined = Vec::new();
    for (index, (&(ptr, len), env)) in values.iter().zip(envelopes).enumerate() {
        let body = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
        let env = Envelope { tenant: env.0.as_bytes(), environment: env.1.as_bytes(), request_id: env.2.as_bytes(),
                             received_ns: env.3 };
        match cols.record(mapping, body, &env, &mut scratch) {
            Ok(n) => counts.push(n as i32),
            Err(message) => {
                counts.push(-1);
                declined.push((index, message));
            }
        }
    }
    (cols, counts, declined)
}

/// ``read`` over the whole of ``body``, JSON whitespace allowed around it, nothing after it.
pub fn whole(body: &[u8], read: impl FnOnce(&mut P) -> R<()>) -> R<()> {
    let mut p = P { b: body, i: 0 };
    p.ws();
    read(&mut p)?;
    p.ws();
    if p.i == body.len() { Ok(()) } else { bad("trailing characters", p.i) }
}
