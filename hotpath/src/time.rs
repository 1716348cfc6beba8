//! msgspec's datetime parser (``ms_decode_datetime_from_str``) to UTC microseconds, then the
//! ``Timestamp`` column's storable range (schemas/storable.py) and nanoseconds.

/// 1900-01-01T00:00:00Z and 2262-04-11T23:47:16.854775Z in microseconds: what ``storable.time_fits`` accepts.
const EARLIEST_US: i64 = -2_208_988_800_000_000;
const LATEST_US: i64 = 9_223_372_036_854_775;

#[inline]
fn fixint(s: &[u8], at: usize, width: usize) -> Option<i64> {
    let mut x = 0i64;
    for &c in &s[at..at + width] {
        if !c.is_ascii_digit() {
            return None;
        }
        x = x * 10 + (c - b'0') as i64;
    }
    Some(x)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    const DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if m == 2 && is_leap(y) { 29 } else { DAYS[(m - 1) as usize] }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Microseconds since the epoch (UTC) of an RFC 3339 text as msgspec reads it (naive = UTC, fraction
/// rounded to the microsecond by its 7th digit), or msgspec's error message.
pub fn parse_us(s: &[u8]) -> Result<i64, &'static str> {
    const INVALID: &str = "Invalid RFC3339 encoded datetime";
    let n = s.len();
    if n < 19 {
        return Err(INVALID);
    }
    let year = fixint(s, 0, 4).ok_or(INVALID)?;
    let month = fixint(s, 5, 2).ok_or(INVALID)?;
    let day = fixint(s, 8, 2).ok_or(INVALID)?;
    let hour = fixint(s, 11, 2).ok_or(INVALID)?;
    let minute = fixint(s, 14, 2).ok_or(INVALID)?;
    let second = fixint(s, 17, 2).ok_or(INVALID)?;
    if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') || s[13] != b':' || s[16] != b':' {
        return Err(INVALID);
    }
    let mut i = 19;
    let mut micro = 0i64;
    let mut round_up = false;
    let mut c = s.get(i).copied();
    i += 1;
    if c == Some(b'.') {
        let mut ndigits = 0;
        loop {
            c = s.get(i).copied();
            i += 1;
            match c {
                Some(d) if d.is_ascii_digit() && ndigits < 6 => {
                    ndigits += 1;
                    micro = micro * 10 + (d - b'0') as i64;
                }
                Some(d) if d.is_ascii_digit() => {
                    round_up = d >= b'5';
                    loop {
                        c = s.get(i).copied();
                        i += 1;
                        if !matches!(c, Some(d) if d.is_ascii_digit()) {
                            break;
                        }
                    }
                    break;
                }
                _ => break,
            }
        }
        if ndigits == 0 {
            return Err(INVALID);
        }
        micro *= [100000, 10000, 1000, 100, 10, 1][ndigits - 1];
    }
    let mut offset_min = 0i64;
    if let Some(c) = c {
        if c == b'Z' || c == b'z' {
            if i != n {
                return Err(INVALID);
            }
        } else {
            let sign = match c {
                b'-' => -1,
                b'+' => 1,
                _ => return Err(INVALID),
            };
            if n < i + 3 {
                return Err(INVALID);
            }
            let oh = fixint(s, i, 2).ok_or(INVALID)?;
            i += 2;
            if s[i] == b':' {
                i += 1;
            }
            if n != i + 2 {
                return Err(INVALID);
            }
            let om = fixint(s, i, 2).ok_or(INVALID)?;
            if oh > 23 || om > 59 {
                return Err(INVALID);
            }
            offset_min = sign * (oh * 60 + om);
        }
    }
    if year == 0 || month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
        return Err(INVALID);
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(INVALID);
    }
    let (mut year, mut month, mut day, mut hour, mut minute, mut second) = (year, month, day, hour, minute, second);
    if round_up {
        micro += 1;
        if micro == 1_000_000 {
            micro = 0;
            second += 1;
            if second == 60 {
                second = 0;
                minute += 1;
                if minute == 60 {
                    minute = 0;
                    hour += 1;
                    if hour == 24 {
                        hour = 0;
                        day += 1;
                        if day == days_in_month(year, month) + 1 {
                            day = 1;
                            month += 1;
                            if month > 12 {
                                month = 1;
                                year += 1;
                                if year > 9999 {
                                    return Err(INVALID);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(seconds * 1_000_000 + micro)
}

/// The nanoseconds of ``Timestamp`` for microseconds since the epoch, when the column holds them.
pub fn storable_ns(us: i64) -> Result<i64, &'static str> {
    if !(EARLIEST_US..=LATEST_US).contains(&us) {
        return Err("timestamp is outside Timestamp (DateTime64(9)): 1900-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z");
    }
    Ok(us * 1000)
}
