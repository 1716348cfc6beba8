//! OTLP/JSON record values (one ExportLogsServiceRequest each) into ``logs`` columns, with the semantics of the
//! worker's reference path: the msgspec mirror (schemas/dialects/otlp/json_mirror.py, unknown fields ignored)
//! checked against the tables' bounds (schemas/dialects/otlp/bounds.py), then
//! ``schemas.dialects.otlp.rows.normalize_otlp``.
//!
//! The request is read in one pass, in its members' order: each log record's own columns as it is read
//! (otlp_record.rs), those of its scope when its ScopeLogs closes, those of its resource (the flattened
//! attributes, ``service.name``) when its ResourceLogs closes, since a message's members may come in any order.
//! Below those: attribute sets flattened (otlp_attributes.rs), AnyValues (otlp_value.rs), and the reading of
//! messages and scalars (otlp_scan.rs).
//!
//! Contract: ``Config`` is a ``Mapping`` (record.rs): a request's rows are appended all or none. Declined is
//! whatever the reference might read otherwise (a spelling the lax decoding reads its own way, a key given
//! twice) and whatever it would refuse.

use crate::columns::MapCol;
use crate::json::{array, bad, object, E, P, R};
use crate::mapper::Cols;
use crate::record::{whole, Mapping};
use crate::severity::Severities;
use crate::otlp_attributes::{attributes, Attrs};
use crate::otlp_scan::{int, once, skip_unknown, string};

/// The mapping's fixed data, from Python (sluice/hotpath.py).
pub struct Config {
    pub source: Vec<u8>,
    /// Severity texts to numbers (schemas/severity.py).
    pub severities: Severities,
    /// SeverityNumber's names (``SEVERITY_NUMBER_WARN``) to numbers.
    pub names: Vec<(Vec<u8>, u8)>,
    /// ``Timestamp``'s bounds in nanoseconds (schemas/storable.py TIMESTAMP).
    pub time_low: i64,
    pub time_high: i64,
}

/// Scratch reused across requests.
#[derive(Default)]
pub struct Scratch {
    attrs: Attrs,
    text: Vec<u8>,
    scope_name: Vec<u8>,
    scope_version: Vec<u8>,
    resource: Option<MapCol>,
    scope: Option<MapCol>,
}

/// The one-row map column kept in `slot` (taken out while a message fills it), emptied.
fn taken(slot: &mut Option<MapCol>) -> MapCol {
    let mut map = slot.take().unwrap_or_else(|| MapCol::with_capacity(1, 8, 128));
    map.truncate_entries(0);
    map
}

/// Appends the entries of `src` (a one-row scratch map) as each of `n` rows of `dst`.
fn repeat_map(dst: &mut MapCol, src: &MapCol, n: usize) -> R<()> {
    let k = &src.keys;
    let v = &src.values;
    for _ in 0..n {
        for i in 0..src.entries() {
            dst.keys.push(&k.data[k.offsets[i] as usize..k.offsets[i + 1] as usize]).map_err(E::Bad)?;
            dst.values.push(&v.data[v.offsets[i] as usize..v.offsets[i + 1] as usize]).map_err(E::Bad)?;
        }
        dst.finish_row();
    }
    Ok(())
}

impl Mapping for Config {
    type Scratch = Scratch;
    const SLOW: &'static str = "a value the OTLP mapper does not read";

    fn source(&self) -> &[u8] {
        &self.source
    }

    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, s: &mut Scratch) -> R<()> {
        if cols.scope_attributes.offsets.len() != cols.rows() + 1 {
            return bad("the OTLP mapper fills columns of its own only", 0);
        }
        whole(body, |p| cols.request(self, p, s, received_ns))
    }
}

impl Cols {
    fn request(&mut self, cfg: &Config, p: &mut P, s: &mut Scratch, received_ns: i64) -> R<()> {
        let mut seen = 0u32;
        object(p, |p, key| {
            if key != b"resourceLogs" {
                return skip_unknown(p);
            }
            once(&mut seen, 1, p.i)?;
            array(p, |p| self.resource_logs(cfg, p, s, received_ns))
        })
    }

    /// One ResourceLogs: its scopes' rows, then the resource's columns on each of them.
    fn resource_logs(&mut self, cfg: &Config, p: &mut P, s: &mut Scratch, received_ns: i64) -> R<()> {
        let start = self.rows();
        let mut resource = taken(&mut s.resource);
        let mut seen = 0u32;
        object(p, |p, key| match key {
            b"resource" => {
                once(&mut seen, 1, p.i)?;
                let mut inner = 0u32;
                object(p, |p, key| match key {
                    b"attributes" => {
                        once(&mut inner, 1, p.i)?;
                        attributes(p, &mut resource, &mut s.attrs)
                    }
                    b"droppedAttributesCount" => {
                        once(&mut inner, 2, p.i)?;
                        int(p).map(drop)
                    }
                    _ => skip_unknown(p),
                })
            }
            b"scopeLogs" => {
                once(&mut seen, 2, p.i)?;
                array(p, |p| self.scope_logs(cfg, p, s, received_ns))
            }
            b"schemaUrl" => {
                once(&mut seen, 4, p.i)?;
                s.text.clear();
                string(p, &mut s.text)
            }
            _ => skip_unknown(p),
        })?;
        let n = self.rows() - start;
        let service = service_name(&resource);
        self.service.repeat(service, n).map_err(E::Bad)?;
        repeat_map(&mut self.resource, &resource, n)?;
        s.resource = Some(resource);
        Ok(())
    }

    /// One ScopeLogs: its records' rows, then the scope's columns on each of them.
    fn scope_logs(&mut self, cfg: &Config, p: &mut P, s: &mut Scratch, received_ns: i64) -> R<()> {
        let start = self.rows();
        let mut scope = taken(&mut s.scope);
        s.scope_name.clear();
        s.scope_version.clear();
        let mut seen = 0u32;
        object(p, |p, key| match key {
            b"scope" => {
                once(&mut seen, 1, p.i)?;
                let mut inner = 0u32;
                object(p, |p, key| match key {
                    b"name" => once(&mut inner, 1, p.i).and_then(|_| string(p, &mut s.scope_name)),
                    b"version" => once(&mut inner, 2, p.i).and_then(|_| string(p, &mut s.scope_version)),
                    b"attributes" => {
                        once(&mut inner, 4, p.i)?;
                        attributes(p, &mut scope, &mut s.attrs)
                    }
                    b"droppedAttributesCount" => once(&mut inner, 8, p.i).and_then(|_| int(p).map(drop)),
                    _ => skip_unknown(p),
                })
            }
            b"logRecords" => {
                once(&mut seen, 2, p.i)?;
                array(p, |p| self.otlp_record(cfg, p, &mut s.attrs, &mut s.text, received_ns))
            }
            b"schemaUrl" => {
                once(&mut seen, 4, p.i)?;
                s.text.clear();
                string(p, &mut s.text)
            }
            _ => skip_unknown(p),
        })?;
        let n = self.rows() - start;
        self.scope_name.repeat(&s.scope_name, n).map_err(E::Bad)?;
        self.scope_version.repeat(&s.scope_version, n).map_err(E::Bad)?;
        repeat_map(&mut self.scope_attributes, &scope, n)?;
        s.scope = Some(scope);
        Ok(())
    }
}

/// ``resource.get("service.name", "")`` of the flattened resource attributes.
fn service_name(resource: &MapCol) -> &[u8] {
    let k = &resource.keys;
    let v = &resource.values;
    (0..resource.entries())
        .find(|&i| &k.data[k.offsets[i] as usize..k.offsets[i + 1] as usize] == b"service.name")
        .map_or(b"", |i| &v.data[v.offsets[i] as usize..v.offsets[i + 1] as usize])
}
