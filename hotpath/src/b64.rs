//! Base64 as LogFlux sends it (RFC 4648's standard alphabet, padded), read strictly: only the canonical
//! spelling (length a multiple of 4, `=` only at the end, zero unused bits) is decoded. Anything else is
//! declined, and msgspec, which decodes the wire type's ``bytes`` fields, judges it.

const INVALID: u8 = 0xFF;

const fn table() -> [u8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

static TABLE: [u8; 256] = table();

/// `text` decoded, appended to `out`; false (with `out` as it was) when `text` is not canonical base64.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> bool {
    let n = text.len();
    if !n.is_multiple_of(4) {
        return false;
    }
    let before = out.len();
    let pad = if n > 0 && text[n - 1] == b'=' { if text[n - 2] == b'=' { 2 } else { 1 } } else { 0 };
    let full = if pad > 0 { n - 4 } else { n };
    out.resize(before + full / 4 * 3, 0);
    for (quad, dst) in text[..full].chunks_exact(4).zip(out[before..].chunks_exact_mut(3)) {
        let (a, b, c, d) =
            (TABLE[quad[0] as usize], TABLE[quad[1] as usize], TABLE[quad[2] as usize], TABLE[quad[3] as usize]);
        if (a | b | c | d) > 63 {
            out.truncate(before);
            return false;
        }
        let v = (a as u32) << 18 | (b as u32) << 12 | (c as u32) << 6 | d as u32;
        dst[0] = (v >> 16) as u8;
        dst[1] = (v >> 8) as u8;
        dst[2] = v as u8;
    }
    if pad > 0 {
        let q = &text[full..];
        let a = TABLE[q[0] as usize];
        let b = TABLE[q[1] as usize];
        let c = if pad == 1 { TABLE[q[2] as usize] } else { 0 };
        let ok = a <= 63 && b <= 63 && c <= 63
            && if pad == 2 { b & 0x0F == 0 } else { c & 0x03 == 0 };
        if !ok {
            out.truncate(before);
            return false;
        }
        out.push(a << 2 | b >> 4);
        if pad == 1 {
            out.push(b << 4 | c >> 2);
        }
    }
    true
}

/// The JSON string whose content starts at `b[start]`, read as canonical base64 up to its closing quote in one
/// pass and appended to `out`: the index after the quote, or None (with `out` as it was) for anything else,
/// escapes included (a backslash is no base64 character).
pub fn decode_string(b: &[u8], start: usize, out: &mut Vec<u8>) -> Option<usize> {
    let before = out.len();
    let mut i = start;
    loop {
        match b.get(i..i + 4) {
            Some(quad) if quad[0] != b'"' => {
                let (a, b1, c, d) =
                    (TABLE[quad[0] as usize], TABLE[quad[1] as usize], TABLE[quad[2] as usize], TABLE[quad[3] as usize]);
                if (a | b1 | c | d) > 63 {
                    // the last quad, padded: then the closing quote
                    let ok = decode_into(quad, out) && b.get(i + 4) == Some(&b'"');
                    if !ok || out.len() == before {
                        out.truncate(before);
                        return None;
                    }
                    return Some(i + 5);
                }
                let v = (a as u32) << 18 | (b1 as u32) << 12 | (c as u32) << 6 | d as u32;
                out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
                i += 4;
            }
            _ if b.get(i) == Some(&b'"') => return Some(i + 1),
            _ => {
                out.truncate(before);
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_into;

    fn dec(s: &str) -> Option<Vec<u8>> {
        let mut out = vec![7];
        decode_into(s.as_bytes(), &mut out).then(|| out[1..].to_vec()).or_else(|| {
            assert_eq!(out, vec![7], "a refusal leaves the buffer as it was");
            None
        })
    }

    #[test]
    fn canonical_text_decodes() {
        assert_eq!(dec(""), Some(vec![]));
        assert_eq!(dec("Zg=="), Some(b"f".to_vec()));
        assert_eq!(dec("Zm8="), Some(b"fo".to_vec()));
        assert_eq!(dec("Zm9v"), Some(b"foo".to_vec()));
        assert_eq!(dec("Zm9vYmFy"), Some(b"foobar".to_vec()));
        assert_eq!(dec("+/+/"), Some(vec![0xFB, 0xFF, 0xBF]));
    }

    #[test]
    fn strings_decode_to_their_closing_quote() {
        let read = |s: &str| {
            let mut out = Vec::new();
            super::decode_string(s.as_bytes(), 1, &mut out).map(|end| (out, end))
        };
        assert_eq!(read("\"\","), Some((vec![], 2)));
        assert_eq!(read("\"Zm9vYmFy\"}"), Some((b"foobar".to_vec(), 10)));
        assert_eq!(read("\"Zm8=\""), Some((b"fo".to_vec(), 6)));
        assert_eq!(read("\"Zg==\","), Some((b"f".to_vec(), 6)));
        for s in ["\"Zm8=Zm9v\"", "\"Zm9\"", "\"Zm9v", "\"Zm\\/v\"", "\"Zh==\"", "\"====\"", "\"Zm8=", "\"Zm9v \""] {
            assert_eq!(read(s), None, "{s:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for s in ["Zg", "Zg=", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zm 9"] {
            assert_eq!(dec(s), None, "{s:?}");
        }
    }
}
