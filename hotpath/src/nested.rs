//! A nested dialect's mapping (schemas/nested.py), as the hot path runs it: a request is a tree of messages,
//! each a table of members (its JSON name, the form its value takes, the column it fills); one member of a
//! message may hold the next level's elements, and the innermost level's elements are the rows. The walk that
//! executes it is nested_walk.rs, a member's value read by its form and role in nested_value.rs, with the forms'
//! readers in otlp_scan.rs, otlp_value.rs and otlp_attributes.rs.
//!
//! Contract: ``Config::new`` refuses a declaration the walk could not fill every column from (a role missing,
//! given twice, or on the wrong side of the rows; more than 32 members in a message; more than one level
//! below a message; a member naming no message), so every row the walk appends has a value in each column.

use crate::severity::Severities;

/// The column a member fills. The first ``ROW`` ones are a row's own; the others belong to an outer level
/// and are repeated on the rows below the element that set them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Time,
    ObservedTime,
    SeverityNumber,
    Level,
    Body,
    Attributes,
    TraceFlags,
    TraceId,
    SpanId,
    ResourceAttributes,
    ScopeName,
    ScopeVersion,
    ScopeAttributes,
}

const ROLES: [(&str, Role); 13] = [
    ("time", Role::Time), ("observed_time", Role::ObservedTime), ("severity_number", Role::SeverityNumber),
    ("level", Role::Level), ("body", Role::Body), ("attributes", Role::Attributes),
    ("trace_flags", Role::TraceFlags), ("trace_id", Role::TraceId), ("span_id", Role::SpanId),
    ("resource_attributes", Role::ResourceAttributes), ("scope_name", Role::ScopeName),
    ("scope_version", Role::ScopeVersion), ("scope_attributes", Role::ScopeAttributes),
];
const ROW: usize = 9;

impl Role {
    fn on_row(self) -> bool {
        ROLES[..ROW].iter().any(|&(_, r)| r == self)
    }
}

/// How a member's value is read (schemas/nested.py's forms); a message or a level names its message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    Str,
    Int,
    Enum,
    AnyValue,
    KeyValues,
    HexId(usize),
    Message(usize),
    Repeated(usize),
}

pub struct Member {
    pub name: Vec<u8>,
    pub form: Form,
    pub role: Option<Role>,
}

pub struct Message {
    pub members: Vec<Member>,
    /// Whether its elements are rows (no level below it).
    pub row: bool,
    /// The outer-level roles its members (and the messages in them) fill, in order: what an element repeats
    /// on its rows when it closes.
    pub level_roles: Vec<Role>,
}

/// The mapping's data, from Python (sluice/hotpath.py): message 0 is the request.
pub struct Config {
    pub source: Vec<u8>,
    /// Severity texts to numbers (schemas/severity.py).
    pub severities: Severities,
    /// The enum's names (``SEVERITY_NUMBER_WARN``) to numbers.
    pub names: Vec<(Vec<u8>, u8)>,
    /// ``Timestamp``'s bounds in nanoseconds (schemas/storable.py TIMESTAMP).
    pub time_low: i64,
    pub time_high: i64,
    pub messages: Vec<Message>,
    /// The resource attribute that is ``ServiceName``.
    pub service_key: Vec<u8>,
}

/// One member as Python gives it: (JSON name, form, role or "", message index or -1, hex id size).
pub type Declared = (String, String, String, i64, usize);

impl Config {
    pub fn new(source: Vec<u8>, severities: Severities, names: Vec<(Vec<u8>, u8)>, time: (i64, i64),
               declared: Vec<Vec<Declared>>, service_key: Vec<u8>) -> Result<Self, String> {
        let n = declared.len();
        let mut messages = Vec::with_capacity(n);
        for members in declared {
            if members.len() > 32 {
                return Err("a message has more than 32 members".into());
            }
            let members = members.into_iter().map(|(name, form, role, child, size)| member(name, &form, &role, child, size, n))
                .collect::<Result<Vec<_>, _>>()?;
            messages.push(Message { members, row: false, level_roles: Vec::new() });
        }
        let mut cfg = Config { source, severities, names, time_low: time.0, time_high: time.1, messages, service_key };
        cfg.levels()?;
        Ok(cfg)
    }

    /// Follows the levels from the request down, marking the row message and each level's roles, and checks
    /// that every role is filled once, on its side of the rows.
    fn levels(&mut self) -> Result<(), String> {
        let mut found: Vec<Role> = Vec::new();
        let mut at = 0usize;
        for _ in 0..self.messages.len() {
            let (roles, below) = self.flat(at, 0)?;
            let row = below.is_none();
            if roles.iter().any(|r| r.on_row() != row) {
                return Err("a role on the wrong side of the rows (a row's above them, or a level's on a row)".into());
            }
            found.extend(&roles);
            self.messages[at].row = row;
            self.messages[at].level_roles = if row { Vec::new() } else { roles };
            match below {
                None if at == 0 => return Err("the request itself cannot be a row".into()),
                None => {
                    found.sort_by_key(|r| ROLES.iter().position(|(_, x)| x == r));
                    return if found == ROLES.map(|(_, r)| r) { Ok(()) } else { Err("every role exactly once".into()) };
                }
                Some(next) => at = next,
            }
        }
        Err("the levels never reach a row".into())
    }

    /// The roles of message `m`'s members and of the messages in them, and the message of its level below.
    fn flat(&self, m: usize, depth: usize) -> Result<(Vec<Role>, Option<usize>), String> {
        if depth > 16 {
            return Err("messages nested too deep".into());
        }
        let (mut roles, mut below) = (Vec::new(), None);
        for member in &self.messages[m].members {
            match member.form {
                Form::Message(c) => {
                    let (inner, deeper) = self.flat(c, depth + 1)?;
                    roles.extend(inner);
                    if deeper.is_some() && below.is_some() {
                        return Err("more than one level below a message".into());
                    }
                    below = below.or(deeper);
                }
                Form::Repeated(c) if below.is_some() => return Err(format!("more than one level below message {c}")),
                Form::Repeated(c) => below = Some(c),
                _ => roles.extend(member.role),
            }
        }
        Ok((roles, below))
    }
}

fn member(name: String, form: &str, role: &str, child: i64, size: usize, messages: usize) -> Result<Member, String> {
    let child = || usize::try_from(child).ok().filter(|&c| c < messages).ok_or(format!("{name}: no such message"));
    let form = match form {
        "string" => Form::Str,
        "int" => Form::Int,
        "enum" => Form::Enum,
        "any_value" => Form::AnyValue,
        "key_values" => Form::KeyValues,
        "hex_id" if size > 0 => Form::HexId(size),
        "message" => Form::Message(child()?),
        "repeated" => Form::Repeated(child()?),
        _ => return Err(format!("{name}: the form {form:?} is unknown")),
    };
    let role = match role {
        "" => None,
        _ => Some(ROLES.iter().find(|(n, _)| *n == role).ok_or(format!("{name}: the role {role:?} is unknown"))?.1),
    };
    let takes = |r: Role| match r {
        Role::Time | Role::ObservedTime | Role::TraceFlags => form == Form::Int,
        Role::SeverityNumber => form == Form::Enum,
        Role::Level | Role::ScopeName | Role::ScopeVersion => form == Form::Str,
        Role::Body => form == Form::AnyValue,
        Role::Attributes | Role::ResourceAttributes | Role::ScopeAttributes => form == Form::KeyValues,
        Role::TraceId | Role::SpanId => matches!(form, Form::HexId(_)),
    };
    if role.is_some_and(|r| !takes(r)) {
        return Err(format!("{name}: its role takes another form"));
    }
    Ok(Member { name: name.into_bytes(), form, role })
}
