//! One event's members sorted by what the dialect's declaration (``schemas.free_form.FreeForm``, Logstash's in
//! ``schemas/dialects/logstash/columns.py``) makes of them: the dropped names dropped; the time read
//! (free_form_value.rs); the host read into its name; each column taking the first non-null of its names in the
//! declared order (the nulls before it are dropped, the names after it stay attributes); every other member an
//! attribute.
//!
//! Contract: `Event::read` reads the object at `P.i` whole (`P.i` just past it on `Ok`) and leaves in `Event`
//! what the row needs: the time, the host's name, each column's chosen value (where it starts in the record)
//! and the attribute members' spans in the event's order. A column's name or the host given twice is
//! declined (Python's dict would keep the first place and the last value); a repeated attribute is not, since
//! flatten.rs gives the attributes those dict semantics. Values are checked as read, or where they are used:
//! a chosen value by free_form_value.rs, an attribute by flatten.rs.

use crate::json::{bad, P, R};
use crate::free_form_value::{host_name, timestamp};

/// The columns filled from named members, numbered as ``schemas.free_form.COLUMN_ROLES`` lists them.
const ROLES: [&str; 4] = ["level", "body", "scope_name", "service"];
pub(crate) const LEVEL: usize = 0;
pub(crate) const BODY: usize = 1;
pub(crate) const SCOPE_NAME: usize = 2;
pub(crate) const SERVICE: usize = 3;
/// ``schemas.free_form.MAX_NAMES``: how many names one column may have.
const MAX_NAMES: usize = 8;

/// What the declaration makes of a member.
#[derive(Clone, Copy)]
enum Field {
    Dropped,
    Timestamp,
    Host,
    /// A candidate of a column: (column, rank among its names).
    Candidate(usize, usize),
    Attribute,
}

/// The declaration as a lookup from a member's name to what it is for.
pub struct Names {
    /// The names by their length, so that a member's key is compared only with names as long as it: every
    /// member of every event is looked up here.
    by_len: Vec<Vec<(Vec<u8>, Field)>>,
    /// The time member's name, for the messages that name it.
    pub time: String,
}

impl Names {
    /// ``FreeForm``'s fields as Python hands them over: the dropped names, the time's and the host's, and each
    /// role of ``ROLES`` with its names, first preferred. Refused unless every role is named once, with 1 to
    /// ``MAX_NAMES`` names, and no name has two meanings.
    pub fn new(dropped: Vec<String>, time: String, host: String, columns: Vec<(String, Vec<String>)>) -> Result<Names, String> {
        let mut table: Vec<(Vec<u8>, Field)> = dropped.into_iter().map(|n| (n.into_bytes(), Field::Dropped)).collect();
        table.push((time.clone().into_bytes(), Field::Timestamp));
        table.push((host.into_bytes(), Field::Host));
        let mut seen = [false; 4];
        for (role, names) in columns {
            let column = ROLES.iter().position(|r| *r == role).ok_or_else(|| format!("no column role {role:?}"))?;
            if std::mem::replace(&mut seen[column], true) || !(1..=MAX_NAMES).contains(&names.len()) {
                return Err(format!("{role}: named twice, or not with 1 to {MAX_NAMES} names"));
            }
            table.extend(names.into_iter().enumerate().map(|(rank, n)| (n.into_bytes(), Field::Candidate(column, rank))));
        }
        if seen.contains(&false) {
            return Err(format!("every column of {ROLES:?} needs names"));
        }
        if (1..table.len()).any(|i| table[..i].iter().any(|(n, _)| *n == table[i].0)) {
            return Err("a name has two meanings".into());
        }
        let mut by_len: Vec<Vec<(Vec<u8>, Field)>> = Vec::new();
        for (name, f) in table {
            if by_len.len() <= name.len() {
                by_len.resize_with(name.len() + 1, Vec::new);
            }
            by_len[name.len()].push((name, f));
        }
        Ok(Names { by_len, time })
    }

    fn field(&self, key: &[u8]) -> Field {
        self.by_len.get(key.len()).and_then(|same| same.iter().find(|(name, _)| name == key))
            .map_or(Field::Attribute, |&(_, f)| f)
    }
}

/// One member that may be an attribute: its bytes from its key's `"` to its value's end.
#[derive(Clone, Copy)]
pub(crate) struct Member {
    pub start: usize,
    pub value: usize,
    pub end: usize,
    pub null: bool,
    /// Still an attribute once the columns took their values.
    pub attribute: bool,
}

/// What the row needs of one event (scratch reused across events).
#[derive(Default)]
pub(crate) struct Event {
    /// Attributes and candidates, in the event's order.
    pub members: Vec<Member>,
    /// Per column, per rank: the candidate's index in `members`.
    candidates: [[Option<usize>; MAX_NAMES]; 4],
    /// Per column: where its value starts in the record (a non-null candidate), None for "".
    pub chosen: [Option<usize>; 4],
    /// The time member in microseconds since the epoch (UTC); None: the receive time.
    pub stamp: Option<i64>,
    /// ``host.name``, empty for none.
    pub host: Vec<u8>,
    seen_host: bool,
}

impl Event {
    /// The event object at `p`, its members sorted by `names`; `key` and `text` are scratch.
    pub(crate) fn read(&mut self, p: &mut P, names: &Names, key: &mut Vec<u8>, text: &mut Vec<u8>) -> R<()> {
        self.members.clear();
        self.candidates = [[None; MAX_NAMES]; 4];
        self.stamp = None;
        self.host.clear();
        self.seen_host = false;
        if p.peek() != b'{' {
            return bad("Expected `object` in the events", p.i);
        }
        p.i += 1;
        p.ws();
        if p.peek() == b'}' {
            p.i += 1;
        } else {
            loop {
                let start = p.i;
                p.member_key(key)?;
                self.member(p, names.field(key), start, text)?;
                if !p.next_or_close(b'}')? {
                    break;
                }
            }
        }
        self.choose();
        Ok(())
    }

    /// One member's value at `p`, sorted; its key began at `start`.
    fn member(&mut self, p: &mut P, field: Field, start: usize, text: &mut Vec<u8>) -> R<()> {
        let value = p.i;
        match field {
            // a dict keeps the last of a repeated field: so does each overwrite
            Field::Dropped => drop(p.value(1)?),
            Field::Timestamp => self.stamp = timestamp(p, text)?,
            Field::Host => {
                if std::mem::replace(&mut self.seen_host, true) {
                    return bad("`host` given twice", start);
                }
                host_name(p, &mut self.host)?;
            }
            Field::Candidate(column, rank) => {
                if self.candidates[column][rank].is_some() {
                    return bad("a column's name given twice", start);
                }
                self.candidates[column][rank] = Some(self.members.len());
                self.push(p, start, value)?;
            }
            Field::Attribute => self.push(p, start, value)?,
        }
        Ok(())
    }

    /// A member kept by its span: checked for grammar only, fully where it is used.
    fn push(&mut self, p: &mut P, start: usize, value: usize) -> R<()> {
        let null = p.peek() == b'n';
        if null {
            p.literal(b"null")?;
        } else {
            p.skip(1)?;
        }
        self.members.push(Member { start, value, end: p.i, null, attribute: true });
        Ok(())
    }

    /// ``free_form._first`` for each column: the nulls before the first non-null are dropped, that one is the
    /// column's value, the candidates after it stay attributes.
    fn choose(&mut self) {
        for (column, ranks) in self.candidates.iter().enumerate() {
            self.chosen[column] = None;
            for &index in ranks.iter().flatten() {
                let m = &mut self.members[index];
                m.attribute = false;
                if !m.null {
                    self.chosen[column] = Some(m.value);
                    break;
                }
            }
        }
    }
}
