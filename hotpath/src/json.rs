//! The JSON reader and writer of the hot path, with msgspec's behaviour: its grammar (RFC 8259, UTF-8 checked,
//! surrogate pairs joined), a small value tree with Python dict semantics (a repeated key keeps its first place
//! and its last value), and its writer. What runs here must accept, reject and re-encode exactly as msgspec
//! does for the worker's reference mapping, or the record is declined (``E``) and the reference judges it.
//!
//! This file is the one door the mappers use; the parts, from the bottom:
//! - json_scan.rs: the cursor over a record's bytes, its grammar piece by piece, skipping unknown values;
//! - json_string.rs: strings unescaped, or skipped with their escapes checked;
//! - json_value.rs: the value tree (msgspec's ``Any``) and its storable depth;
//! - json_write.rs: ``msgspec.json.encode`` of a tree.

pub use crate::json_scan::{array, bad, object, Num, E, MAX_DEPTH, P, R};
pub use crate::json_value::{too_deep, too_deep_tree, V};
pub use crate::json_write::encode;
