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
    if n % 4 != 0 {
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
    fn anything_else_is_refused() {
        for s in ["Zg", "Zg=", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zm 9"] {
            assert_eq!(dec(s), None, "{s:?}");
        }
    }
}
