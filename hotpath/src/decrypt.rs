//! Scanned LogFlux records (``logflux.rs``) to ``logs`` rows: each entry decrypted and verified with AES-256-GCM
//! under the keys the worker's cache holds (Python derives and keeps them; none is derived here),
//! its plaintext mapped (``plaintext.rs``), and the columns filled as ``schemas.dialects.logflux.rows.columns`` does
//! (schemas/dialects/logflux/rows.py).
//!
//! A record is mapped whole or declined whole: an entry that verifies under none of the keys given, or whose
//! plaintext the reference must judge, declines its record, so that each failure is dead-lettered alone by the
//! reference path, with its reason, exactly as before.

use std::collections::HashMap;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::flatten::Flat;
use crate::logflux::{Scan, TAG};
use crate::mapper::{Cols, Envelope};
use crate::plaintext::{map as map_plaintext, Scratch};

/// What the mapping needs beside the records: declared in Python (schemas/dialects/logflux/).
pub struct Config {
    pub source: Vec<u8>,
    /// ``wire.LEVELS`` in loglevel order (1 first): the severity text and number of each.
    pub levels: Vec<(Vec<u8>, u8)>,
    /// The resource attributes ``node`` fills (``schemas.dialects.logflux.rows.NODE_ATTRIBUTES``).
    pub node_keys: Vec<Vec<u8>>,
    /// The plaintext's members that may be the body, first preferred (``rows.BODY_FIELDS``).
    pub body_fields: Vec<Vec<u8>>,
}

/// The keys of a run's (tenant, salt) pairs: per pair, None when not cached, else the keys of the tenant's
/// secrets to try, newest first; and per record, the pair of each of its salts.
pub struct Keys<'a> {
    pub pairs: Vec<Option<Vec<[u8; 32]>>>,
    pub records: &'a [Vec<usize>],
}

pub fn map(config: &Config, scan: &Scan, keys: &Keys<'_>, envelopes: &[Envelope]) -> (Cols, Vec<i32>, Vec<(usize, String)>) {
    let mut cols = Cols::with_capacity(scan.bytes.len() + scan.text.len() * 2);
    let mut counts = Vec::with_capacity(scan.records.len());
    let mut declined = Vec::new();
    let mut run = Run { ciphers: HashMap::new(), buf: Vec::new(), fl: Flat::default(), scratch: Scratch::default() };
    let mut salts: Vec<&[[u8; 32]]> = Vec::new();
    for (index, ((record, pairs), env)) in scan.records.iter().zip(keys.records.iter()).zip(envelopes).enumerate() {
        salts.clear();
        salts.extend(pairs.iter().map_while(|&pair| keys.pairs[pair].as_deref()));
        let outcome = match record {
            Err(message) => Err(message.clone()),
            Ok(_) if salts.len() < pairs.len() => Err("a key of the record is not cached".to_string()),
            Ok(record) => {
                let before = cols.rows();
                let mapped = (record.first..record.end).try_for_each(|e| run.entry(config, scan, e, &salts, &mut cols));
                match mapped {
                    Ok(()) => envelope(config, &mut cols, env, before),
                    Err(message) => {
                        cols.truncate(before);
                        Err(message)
                    }
                }
            }
        };
        match outcome {
            Ok(n) => counts.push(n as i32),
            Err(message) => {
                counts.push(-1);
                declined.push((index, message));
            }
        }
    }
    (cols, counts, declined)
}

/// State of one call, reused from entry to entry.
struct Run {
    /// Ciphers by key: expanding an AES key and its GHASH key costs more than decrypting a short entry.
    ciphers: HashMap<[u8; 32], Aes256Gcm>,
    buf: Vec<u8>,
    fl: Flat,
    scratch: Scratch,
}

impl Run {
    fn entry(&mut self, config: &Config, scan: &Scan, e: usize, keys: &[&[[u8; 32]]], cols: &mut Cols)
             -> Result<(), String> {
        let entry = &scan.entries[e];
        let sealed = &scan.bytes[entry.payload.0..entry.payload.1];
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG);
        let verified = keys[entry.salt].iter().any(|key| {
            let cipher = self.ciphers.entry(*key).or_insert_with(|| Aes256Gcm::new(key.into()));
            self.buf.clear();
            self.buf.extend_from_slice(ciphertext);
            cipher.decrypt_in_place_detached(Nonce::from_slice(&entry.iv), b"", &mut self.buf, Tag::from_slice(tag))
                .is_ok()
        });
        if !verified {
            return Err("an entry verifies under none of the cached keys".into());
        }
        map_plaintext(&self.buf, &config.body_fields, &mut cols.body, &mut cols.attributes, &mut self.fl, &mut self.scratch)
            .map_err(|e| match e {
                crate::json::E::Bad(m) | crate::json::E::Unstorable(m) => format!("decrypted payload: {m}"),
                crate::json::E::Slow => "decrypted payload: attributes left unfinished".into(),
            })?;
        let node = &scan.text[entry.node.0..entry.node.1];
        let (text, number) = &config.levels[entry.level as usize - 1];
        cols.timestamp.push(entry.stamp_ns);
        cols.severity_number.push(*number);
        cols.trace_flags.push(0);
        cols.severity_text.push(text)?;
        cols.service.push(node)?;
        cols.body.finish()?;
        for empty in [&mut cols.trace_id, &mut cols.span_id, &mut cols.scope_name, &mut cols.scope_version] {
            empty.finish()?;
        }
        for key in &config.node_keys {
            cols.resource.keys.push(key)?;
            cols.resource.values.push(node)?;
        }
        cols.resource.finish_row();
        cols.attributes.finish_row();
        Ok(())
    }
}

/// The envelope's columns of the rows from `before`: their number.
fn envelope(config: &Config, cols: &mut Cols, env: &Envelope, before: usize) -> Result<usize, String> {
    let n = cols.rows() - before;
    cols.tenant.repeat(env.tenant, n)?;
    cols.environment.repeat(env.environment, n)?;
    cols.source.repeat(&config.source, n)?;
    cols.request_id.repeat(env.request_id, n)?;
    cols.received.extend(std::iter::repeat_n(env.received_ns, n));
    Ok(n)
}
