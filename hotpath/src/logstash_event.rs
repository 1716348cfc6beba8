//! One event's members sorted by what ``schemas.dialects.logstash.wire.split`` makes of them: ``@version`` and
//! ``sluice_token`` dropped; ``@timestamp`` read (logstash_value.rs); ``host`` read into its name; each of the
//! columns level, message, logger and service taking the first non-null of its fields in ``wire.py``'s order
//! (the nulls before it are dropped, the fields after it stay attributes); every other member an attribute.
//!
//! Contract: `Event::read` reads the object at `P.i` whole (`P.i` just past it on `Ok`) and leaves in `Event`
//! what the row needs: the time, the host's name, each column's chosen value (where it starts in the record)
//! and the attribute members' spans in the event's order. A column's field or ``host`` given twice is
//! declined (Python's dict would keep the first place and the last value); a repeated attribute is not, since
//! flatten.rs gives the attributes those dict semantics. Values are checked as read, or where they are used:
//! a chosen value by logstash_value.rs, an attribute by flatten.rs.

use crate::json::{bad, P, R};
use crate::logstash_value::{host_name, timestamp};

/// The columns filled from a field of the event, in ``wire.split``'s order.
pub(crate) const LEVEL: usize = 0;
pub(crate) const MESSAGE: usize = 1;
pub(crate) const LOGGER: usize = 2;
pub(crate) const SERVICE: usize = 3;

/// What ``wire.split`` makes of a field.
enum Field {
    Dropped,
    Timestamp,
    Host,
    /// A candidate of a column: (column, rank among its fields).
    Candidate(usize, usize),
    Attribute,
}

/// ``wire.py``'s VERSION, TOKEN_FIELD, TIMESTAMP, LEVEL_FIELDS, MESSAGE, LOGGER_FIELDS, SERVICE_FIELDS, host.
fn field(key: &[u8]) -> Field {
    match key {
        b"@version" | b"sluice_token" => Field::Dropped,
        b"@timestamp" => Field::Timestamp,
        b"host" => Field::Host,
        b"level" => Field::Candidate(LEVEL, 0),
        b"levelname" => Field::Candidate(LEVEL, 1),
        b"severity" => Field::Candidate(LEVEL, 2),
        b"log.level" => Field::Candidate(LEVEL, 3),
        b"message" => Field::Candidate(MESSAGE, 0),
        b"logger_name" => Field::Candidate(LOGGER, 0),
        b"logger" => Field::Candidate(LOGGER, 1),
        b"service" => Field::Candidate(SERVICE, 0),
        b"service_name" => Field::Candidate(SERVICE, 1),
        b"app" => Field::Candidate(SERVICE, 2),
        b"application" => Field::Candidate(SERVICE, 3),
        _ => Field::Attribute,
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
    candidates: [[Option<usize>; 4]; 4],
    /// Per column: where its value starts in the record (a non-null candidate), None for "".
    pub chosen: [Option<usize>; 4],
    /// ``@timestamp`` in microseconds since the epoch (UTC); None: the receive time.
    pub stamp: Option<i64>,
    /// ``host.name``, empty for none.
    pub host: Vec<u8>,
    seen_host: bool,
}

impl Event {
    /// The event object at `p`; `key` and `text` are scratch.
    pub(crate) fn read(&mut self, p: &mut P, key: &mut Vec<u8>, text: &mut Vec<u8>) -> R<()> {
        self.members.clear();
        self.candidates = [[None; 4]; 4];
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
                self.member(p, field(key), start, text)?;
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
                    return bad("a column's field given twice", start);
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

    /// ``wire._first`` for each column: the nulls before the first non-null are dropped, that one is the
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
