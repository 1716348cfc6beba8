//! A level's text to its severity number, as ``schemas.severity.severity_number`` derives it: the text
//! ``strip().lower()``-ed and looked up in the dialect's table, 0 when unknown. Shared by every mapper.

use crate::json::{bad, R};

/// Lower-case ASCII level names (at most 32 bytes each) to OTel severity numbers.
pub struct Severities(Vec<(Vec<u8>, u8)>);

impl Severities {
    /// The table from Python (sluice/hotpath.py); refused unless every name is lower-case ASCII of at most 32
    /// bytes, the only names a stripped, lowered ASCII text can equal.
    pub fn new(table: Vec<(String, u8)>) -> Result<Self, String> {
        if table.iter().any(|(name, _)| name.len() > 32 || !name.is_ascii() || name.to_ascii_lowercase() != *name) {
            return Err("severity names must be lower-case ASCII of at most 32 bytes".into());
        }
        Ok(Severities(table.into_iter().map(|(name, n)| (name.into_bytes(), n)).collect()))
    }

    /// The number of ``level`` (0 when unknown). A non-ASCII text is unknown, unless it holds U+212A (the one
    /// character Python lowers to ASCII, `k`): that record is declined and left to the reference.
    pub fn number(&self, level: &[u8]) -> R<u8> {
        let Ok(text) = std::str::from_utf8(level) else { return bad("a level that is no UTF-8", 0) };
        let name = text.trim_matches(py_space);
        if !name.is_ascii() {
            return if name.contains('\u{212A}') { bad("a level Python lowers to ASCII", 0) } else { Ok(0) };
        }
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return Ok(0); // longer than any name of the table
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        Ok(self.0.iter().find(|(n, _)| n.as_slice() == &*lower).map_or(0, |&(_, n)| n))
    }
}

/// Python's ``str.isspace`` (what ``str.strip()`` removes).
pub fn py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x20' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}
