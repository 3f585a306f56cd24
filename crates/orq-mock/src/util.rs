//! Small self-contained helpers: timestamps, identifiers, hashing and query strings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch for the current wall-clock time.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC, e.g. `2025-01-15T09:00:00.000Z`.
pub(crate) fn rfc3339_millis(millis: u64) -> String {
    let secs = millis / 1000;
    let ms = millis % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// 64-bit FNV-1a hash, used to derive stable identifiers from text.
pub(crate) fn fnv1a(data: &[u8], seed: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// SplitMix64 step: turns a counter into well-mixed bits.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A UUID-shaped (version 4 layout) identifier derived deterministically from `text`.
pub(crate) fn uuid_from(text: &str) -> String {
    let hi = fnv1a(text.as_bytes(), 0x5eed);
    let lo = fnv1a(text.as_bytes(), 0x0f0f_f0f0);
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID-shaped identifier: 48-bit millisecond timestamp then 80 bits derived from `counter`.
pub(crate) fn ulid(millis: u64, counter: u64) -> String {
    let random_hi = splitmix64(counter) & 0xffff; // 16 bits
    let random_lo = splitmix64(counter ^ 0xdead_beef_cafe_f00d); // 64 bits
    let value: u128 =
        (u128::from(millis & 0xffff_ffff_ffff) << 80) | (u128::from(random_hi) << 64) | u128::from(random_lo);
    (0..26).rev().map(|i| CROCKFORD[((value >> (i * 5)) & 0x1f) as usize] as char).collect()
}

/// A ULID-shaped id for the `index`-th thing of a `kind` (say `"variant"`) belonging to
/// `owner`: the same arguments always give the same id, different ones different ids.
pub(crate) fn derived_ulid(millis: u64, owner: &str, kind: &str, index: u64) -> String {
    ulid(millis, fnv1a(owner.as_bytes(), fnv1a(kind.as_bytes(), index)))
}

/// Decodes `application/x-www-form-urlencoded` query strings into ordered key/value pairs.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(input: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the RFC 3339 UTC timestamps the mock writes (`2025-01-15T09:00:00.000Z`, with
/// or without fractional seconds) into milliseconds since the Unix epoch.
pub(crate) fn parse_rfc3339_millis(text: &str) -> Option<u64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, d) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.splitn(3, ':').map(str::parse::<u64>);
    let (h, min, sec) = (clock.next()?.ok()?, clock.next()?.ok()?, clock.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let days = u64::try_from(days_from_civil(y, m as u32, d as u32)).ok()?;
    Some(((days * 86_400 + h * 3600 + min * 60 + sec) * 1000) + millis)
}

/// Converts a proleptic Gregorian date into days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Decodes a percent-encoded URL path segment (`%2F` is `/`, `+` stays `+`). `None` when
/// an escape is malformed or the bytes are not UTF-8.
pub(crate) fn percent_decode_path(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(1_736_931_600_123), "2025-01-15T09:00:00.123Z");
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parses_the_timestamps_it_formats() {
        for millis in [0, 1_736_931_600_123, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339_millis(&rfc3339_millis(millis)), Some(millis));
        }
        assert_eq!(parse_rfc3339_millis("2025-01-15T09:00:00Z"), Some(1_736_931_600_000));
        assert_eq!(parse_rfc3339_millis("2025-01-15T09:00:00.5Z"), Some(1_736_931_600_500));
        for bad in ["", "2025-01-15", "2025-01-15T09:00:00+01:00", "2025-13-01T00:00:00Z", "x-y-zT1:2:3Z"] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn decodes_path_segments() {
        assert_eq!(percent_decode_path("team%20a%2Fbot%251%20%C3%BC").as_deref(), Some("team a/bot%1 ü"));
        assert_eq!(percent_decode_path("a+b").as_deref(), Some("a+b"));
        assert_eq!(percent_decode_path("plain").as_deref(), Some("plain"));
        for bad in ["%", "%2", "%zz", "%C3", "%FF", "a%2"] {
            assert_eq!(percent_decode_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn ulids_look_like_ulids() {
        let a = ulid(1_736_931_600_000, 1);
        let b = ulid(1_736_931_600_000, 2);
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| CROCKFORD.contains(&(c as u8))));
        assert!(a.starts_with("01J"));
    }

    #[test]
    fn uuids_are_stable() {
        let id = uuid_from("support-bot");
        assert_eq!(id, uuid_from("support-bot"));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn decodes_queries() {
        assert_eq!(
            parse_query("a=1&b=x%20y+z&c&d=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), String::new()),
                ("d".into(), "%zz".into()),
            ]
        );
    }
}
