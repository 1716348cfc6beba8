//! A nested request read in one pass by its declaration (nested.rs), in its members' order: a row's columns
//! as its element is read (its times, numbers and flags when it closes), an outer level's columns (kept in
//! its ``Frame``) repeated on the rows below it when its element closes, since a message's members may come
//! in any order. Each member's value is read by nested_value.rs.
//!
//! Contract: ``Config`` is a ``Mapping`` (record.rs): a request's rows are appended all or none. Declined is
//! whatever the reference might read otherwise (a spelling the lax decoding reads its own way, a member given
//! twice) and whatever it would refuse.

use crate::columns::{MapCol, StrCol};
use crate::json::{array, bad, object, E, P, R};
use crate::mapper::Cols;
use crate::nested::{Config, Form, Role};
use crate::otlp_attributes::Attrs;
use crate::otlp_scan::{once, skip_unknown};
use crate::record::{whole, Mapping};

/// An outer level's values while its element is read: a string or a one-row map per role it fills.
#[derive(Default)]
pub struct Frame {
    roles: Vec<Role>,
    strings: Vec<Vec<u8>>,
    maps: Vec<MapCol>,
}

impl Frame {
    /// Emptied for an element filling `roles`.
    fn reset(&mut self, roles: &[Role]) {
        if self.roles != roles {
            self.roles = roles.to_vec();
            self.strings = roles.iter().map(|_| Vec::new()).collect();
            self.maps = roles.iter().map(|_| MapCol::with_capacity(1, 8, 128)).collect();
        }
        self.strings.iter_mut().for_each(Vec::clear);
        self.maps.iter_mut().for_each(|m| m.truncate_entries(0));
    }

    pub(crate) fn string(&mut self, role: Role) -> &mut Vec<u8> {
        let i = self.roles.iter().position(|&r| r == role).expect("a level's own role");
        &mut self.strings[i]
    }

    pub(crate) fn map(&mut self, role: Role) -> &mut MapCol {
        let i = self.roles.iter().position(|&r| r == role).expect("a level's own role");
        &mut self.maps[i]
    }
}

/// A row's values that are written when it closes.
#[derive(Default)]
pub struct RowValues {
    pub time: i128,
    pub observed: i128,
    pub number: u8,
    pub flags: u8,
}

/// Where the values being read go: a row's columns, or an outer level's frame.
pub enum At<'a> {
    Row(&'a mut RowValues),
    Level(&'a mut Frame),
}

/// Scratch reused across requests: one frame per level, the forms' scratch.
#[derive(Default)]
pub struct Scratch {
    frames: Vec<Frame>,
    pub(crate) attrs: Attrs,
    pub(crate) text: Vec<u8>,
    pub(crate) map: Option<MapCol>,
}

impl Mapping for Config {
    type Scratch = Scratch;
    const SLOW: &'static str = "a value the nested mapper does not read";

    fn source(&self) -> &[u8] {
        &self.source
    }

    fn rows(&self, cols: &mut Cols, body: &[u8], received_ns: i64, s: &mut Scratch) -> R<()> {
        if cols.scope_attributes.offsets.len() != cols.rows() + 1 {
            return bad("the nested mapper fills columns of its own only", 0);
        }
        whole(body, |p| cols.level(self, 0, p, s, 0, received_ns))
    }
}

impl Cols {
    /// One element of an outer level (message `m`, `depth` levels down): its rows, then its columns on each.
    fn level(&mut self, cfg: &Config, m: usize, p: &mut P, s: &mut Scratch, depth: usize, received_ns: i64) -> R<()> {
        let start = self.rows();
        if s.frames.len() <= depth {
            s.frames.resize_with(depth + 1, Frame::default);
        }
        let mut frame = std::mem::take(&mut s.frames[depth]);
        frame.reset(&cfg.messages[m].level_roles);
        self.members(cfg, m, p, s, depth, &mut At::Level(&mut frame), received_ns)?;
        let n = self.rows() - start;
        for (i, &role) in frame.roles.iter().enumerate() {
            match role {
                Role::ScopeName | Role::ScopeVersion => self.string_col(role).repeat(&frame.strings[i], n).map_err(E::Bad)?,
                _ => {
                    repeat_map(self.map_col(role), &frame.maps[i], n)?;
                    if role == Role::ResourceAttributes {
                        self.service.repeat(lookup(&frame.maps[i], &cfg.service_key), n).map_err(E::Bad)?;
                    }
                }
            }
        }
        s.frames[depth] = frame;
        Ok(())
    }

    /// One row (message `m`): its values, then the columns written when it closes, as the reference has
    /// them: its own time, else its observed time, else the receive time; its number, else its text's.
    fn row(&mut self, cfg: &Config, m: usize, p: &mut P, s: &mut Scratch, depth: usize, received_ns: i64) -> R<()> {
        let at = p.i;
        let mut v = RowValues::default();
        self.members(cfg, m, p, s, depth, &mut At::Row(&mut v), received_ns)?;
        for t in [v.time, v.observed] {
            if t != 0 && !(cfg.time_low as i128..=cfg.time_high as i128).contains(&t) {
                return Err(E::Unstorable(format!("a time outside the Timestamp column (byte {at})")));
            }
        }
        let stamp = if v.time != 0 { v.time as i64 } else if v.observed != 0 { v.observed as i64 } else { received_ns };
        self.timestamp.push(stamp);
        let number = if v.number != 0 { v.number } else { cfg.severities.number(self.severity_text.current())? };
        self.severity_number.push(number);
        self.trace_flags.push(v.flags);
        for c in [&mut self.severity_text, &mut self.body, &mut self.trace_id, &mut self.span_id] {
            c.finish().map_err(E::Bad)?;
        }
        self.attributes.finish_row();
        Ok(())
    }

    /// The object at `p` read as message `m`: each member it declares read into `to`, each member once; a
    /// message inside read into the same place, a level's elements each appended.
    fn members(&mut self, cfg: &Config, m: usize, p: &mut P, s: &mut Scratch, depth: usize, to: &mut At,
               received_ns: i64) -> R<()> {
        let message = &cfg.messages[m];
        let mut seen = 0u32;
        object(p, |p, key| {
            let Some(i) = message.members.iter().position(|x| x.name == key) else {
                return skip_unknown(p);
            };
            once(&mut seen, 1 << i, p.i)?;
            let member = &message.members[i];
            match member.form {
                Form::Message(c) => self.members(cfg, c, p, s, depth, to, received_ns),
                Form::Repeated(c) if cfg.messages[c].row => array(p, |p| self.row(cfg, c, p, s, depth + 1, received_ns)),
                Form::Repeated(c) => array(p, |p| self.level(cfg, c, p, s, depth + 1, received_ns)),
                _ => self.value(cfg, member, p, s, to),
            }
        })
    }

    pub(crate) fn string_col(&mut self, role: Role) -> &mut StrCol {
        match role {
            Role::ScopeName => &mut self.scope_name,
            Role::ScopeVersion => &mut self.scope_version,
            Role::Level => &mut self.severity_text,
            Role::Body => &mut self.body,
            Role::TraceId => &mut self.trace_id,
            _ => &mut self.span_id,
        }
    }

    pub(crate) fn map_col(&mut self, role: Role) -> &mut MapCol {
        match role {
            Role::ResourceAttributes => &mut self.resource,
            Role::ScopeAttributes => &mut self.scope_attributes,
            _ => &mut self.attributes,
        }
    }
}

/// Appends the entries of `src` (a one-row scratch map) as each of `n` rows of `dst`.
fn repeat_map(dst: &mut MapCol, src: &MapCol, n: usize) -> R<()> {
    for _ in 0..n {
        for i in 0..src.entries() {
            dst.keys.push(src.keys.get(i)).map_err(E::Bad)?;
            dst.values.push(src.values.get(i)).map_err(E::Bad)?;
        }
        dst.finish_row();
    }
    Ok(())
}

/// ``map.get(key, "")`` of a flattened one-row map.
fn lookup<'a>(map: &'a MapCol, key: &[u8]) -> &'a [u8] {
    (0..map.entries()).find(|&i| map.keys.get(i) == key).map_or(b"", |i| map.values.get(i))
}
