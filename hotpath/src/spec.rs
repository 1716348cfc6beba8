//! A JSON dialect's mapping as data: which member of an entry fills which ``logs`` column.
//!
//! Declared once per dialect in Python (``schemas/dialects/<name>/columns.py``, a ``schemas.columns.JsonColumns``)
//! and handed over as ``(source, entries_key, [(member, role, key, required)])``; this module only reads it.

use crate::severity::Severities;

/// What one member of an entry is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// RFC 3339 text → ``Timestamp``; absent or null means the receive time (when not required).
    Time,
    /// ``SeverityText``, and ``SeverityNumber`` derived from it.
    Level,
    Service,
    Body,
    TraceId,
    SpanId,
    /// An object (or null) flattened into ``LogAttributes``.
    Attributes,
    /// A string stored under ``key`` in ``ResourceAttributes``, even when empty.
    Resource,
    /// A string stored under ``key`` in ``ResourceAttributes`` only when not empty.
    ResourceIfSet,
    /// A string (or null) added to ``LogAttributes`` under ``key`` when not null.
    Attribute,
    /// An integer (or null) → ``SeverityNumber``; missing or null: derived from the level.
    SeverityNumber,
    /// An integer → ``TraceFlags``; missing: 0.
    TraceFlags,
    ScopeName,
    ScopeVersion,
    /// An object flattened into ``ResourceAttributes``.
    ResourceAttributes,
}

impl Role {
    pub fn parse(name: &str) -> Option<Role> {
        Some(match name {
            "time" => Role::Time,
            "level" => Role::Level,
            "service" => Role::Service,
            "body" => Role::Body,
            "trace_id" => Role::TraceId,
            "span_id" => Role::SpanId,
            "attributes" => Role::Attributes,
            "resource" => Role::Resource,
            "resource_if_set" => Role::ResourceIfSet,
            "attribute" => Role::Attribute,
            "severity_number" => Role::SeverityNumber,
            "trace_flags" => Role::TraceFlags,
            "scope_name" => Role::ScopeName,
            "scope_version" => Role::ScopeVersion,
            "resource_attributes" => Role::ResourceAttributes,
            _ => return None,
        })
    }
}

pub struct Member {
    pub name: Vec<u8>,
    pub role: Role,
    /// The map key (resource and attribute roles).
    pub key: Vec<u8>,
    /// Absent means the record is not one this path maps (the worker's reference mapping judges it).
    pub required: bool,
    /// The values a string member may take (its wire type's ``Literal``); empty: any.
    pub choices: Vec<Vec<u8>>,
    /// Whether null is a value (the wire type is Optional): the member's default then.
    pub nullable: bool,
    /// The least and greatest value of an integer member.
    pub low: i64,
    pub high: i64,
}

/// How Python describes a member: (name, role, key, required, nullable, choices, low, high).
pub type MemberTuple = (String, String, String, bool, bool, Vec<String>, i64, i64);

/// The roles that fill one column each.
fn single(role: Role) -> bool {
    !matches!(role, Role::Resource | Role::ResourceIfSet | Role::Attribute)
}

pub struct Spec {
    pub source: Vec<u8>,
    /// The body's member holding the array of entries (``{"logs": [...]}``); empty: the body is one entry.
    pub entries: Vec<u8>,
    pub members: Vec<Member>,
    /// Level names to OTel severity numbers (schemas/severity.py).
    pub severities: Severities,
}

impl Spec {
    pub fn new(source: String, entries: String, members: Vec<MemberTuple>,
               severities: Vec<(String, u8)>) -> Result<Spec, String> {
        let severities = Severities::new(severities)?;
        let mut out = Vec::with_capacity(members.len());
        for (name, role, key, required, nullable, choices, low, high) in members {
            let role = Role::parse(&role).ok_or_else(|| format!("unknown role {role:?} of member {name:?}"))?;
            if out.iter().any(|m: &Member| m.name == name.as_bytes()) {
                return Err(format!("member {name:?} declared twice"));
            }
            if single(role) && out.iter().any(|m: &Member| m.role == role) {
                return Err(format!("two members fill the column of {name:?}"));
            }
            let choices = choices.into_iter().map(String::into_bytes).collect();
            out.push(Member { name: name.into_bytes(), role, key: key.into_bytes(), required, choices, nullable, low, high });
        }
        if !out.iter().any(|m| m.role == Role::Level) || !out.iter().any(|m| m.role == Role::Body) {
            return Err("a mapping needs a level and a body".into());
        }
        Ok(Spec { source: source.into_bytes(), entries: entries.into_bytes(), members: out, severities })
    }

    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.members.iter().position(|m| m.name == name)
    }
}
