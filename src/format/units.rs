//! Docker's human-readable sizes, durations and timestamps.
//!
//! Sizes and durations follow github.com/docker/go-units exactly (including
//! its float rounding, e.g. `999999` bytes is "1e+03kB" in Docker too).
//! Times follow Go's `time` formats. Everything is UTC: the engine has no
//! time zone database, and Docker's "local" parse layouts are read as UTC.

use std::time::Duration;

use super::template::format_float;

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// go-units getSizeAndUnit: divide by `base` while it fits (in float, as Go does).
fn size_and_unit(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// go-units `HumanSizeWithPrecision(size, 3)`, Docker's SIZE column:
/// 4261550 -> "4.26MB", 999 -> "999B", 1000 -> "1kB".
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes as f64, 3)
}

/// go-units `HumanSizeWithPrecision`: `%.*g` of the size in decimal units.
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (s, unit) = size_and_unit(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{}", format_float(s, 'g', precision as i32), unit)
}

/// go-units `BytesSize`: `%.4g` in binary units, 1048576 -> "1MiB".
pub fn bytes_size(bytes: u64) -> String {
    let (s, unit) = size_and_unit(bytes as f64, 1024.0, &BINARY_UNITS);
    format!("{}{}", format_float(s, 'g', 4), unit)
}

/// go-units `HumanDuration`: "Less than a second", "1 second", "N seconds",
/// "About a minute", "N minutes", "About an hour", "N hours", "N days",
/// "N weeks", "N months", "N years".
pub fn human_duration(d: Duration) -> String {
    // Go's Duration is an int64 of nanoseconds.
    let nanos = d.as_nanos().min(i64::MAX as u128) as i64;
    const SEC: i64 = 1_000_000_000;
    const MIN: i64 = 60 * SEC;
    const HOUR: i64 = 60 * MIN;
    let seconds = nanos / SEC;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = nanos / MIN;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // d.Hours() as Go computes it, rounded to the nearest hour.
    let hours_f = (nanos / HOUR) as f64 + (nanos % HOUR) as f64 / HOUR as f64;
    let hours = (hours_f + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (hours_f as i64) / 24 / 365)
}

/// Docker's CREATED column: `HumanDuration(now - t) + " ago"`. A time in
/// the future reads "Less than a second ago", as in Docker.
pub fn since(unix_secs: i64, now_secs: i64) -> String {
    let secs = now_secs.saturating_sub(unix_secs).max(0) as u64;
    format!("{} ago", human_duration(Duration::from_secs(secs)))
}

// ---------------------------------------------------------------------------
// Civil dates (Howard Hinnant's days-from-civil algorithms)

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (m as i64 + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146097 + doe - 719468
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Split unix seconds into a UTC date and time of day.
fn split(secs: i64) -> ((i64, u32, u32), (i64, i64, i64)) {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    (civil_from_days(days), (rem / 3600, rem % 3600 / 60, rem % 60))
}

fn fmt_year(y: i64) -> String {
    if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// Go's `time.RFC3339Nano` in UTC: "2023-05-19T20:19:32.123456789Z", the
/// fraction without trailing zeros and left out when zero.
pub fn rfc3339_nano(secs: i64, nanos: u32) -> String {
    let ((y, mo, d), (h, mi, s)) = split(secs);
    let mut frac = String::new();
    if nanos > 0 {
        frac = format!(".{:09}", nanos.min(999_999_999));
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    format!("{}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z", fmt_year(y))
}

/// Go's `time.Time.String()` of a UTC time: "2023-05-19 20:19:32 +0000 UTC".
pub fn go_time_string(secs: i64) -> String {
    let ((y, mo, d), (h, mi, s)) = split(secs);
    format!("{}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} +0000 UTC", fmt_year(y))
}

// ---------------------------------------------------------------------------
// Parsing

/// A cursor over ASCII date/time text.
struct Cursor<'s> {
    s: &'s [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let part = self.s.get(self.i..self.i + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(part.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')))
    }

    fn byte(&mut self, allowed: &[u8]) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        if !allowed.contains(&b) {
            return None;
        }
        self.i += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }
}

/// Parse `YYYY-MM-DD`, then (when `time_fields` > 0) `Thh`, `:mm`, `:ss`
/// and an optional fraction, then a zone (`Z` or `±hh:mm`) when `zone`,
/// else nothing (a "local" time, read as UTC). Returns UTC (secs, nanos).
fn parse_datetime(s: &str, time_fields: usize, zone: bool) -> Option<(i64, u32)> {
    let mut c = Cursor { s: s.as_bytes(), i: 0 };
    let y = c.digits(4)?;
    c.byte(b"-")?;
    let mo = c.digits(2)? as u32;
    c.byte(b"-")?;
    let d = c.digits(2)? as u32;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let (mut h, mut mi, mut sec, mut nanos) = (0, 0, 0, 0u32);
    if time_fields > 0 {
        c.byte(b"Tt")?;
        h = c.digits(2)?;
        if time_fields > 1 {
            c.byte(b":")?;
            mi = c.digits(2)?;
        }
        if time_fields > 2 {
            c.byte(b":")?;
            sec = c.digits(2)?;
            // Go accepts a fraction after the seconds even when the layout
            // has none, and ignores digits past nanoseconds.
            if matches!(c.peek(), Some(b'.' | b',')) {
                c.i += 1;
                let start = c.i;
                while matches!(c.peek(), Some(b'0'..=b'9')) {
                    c.i += 1;
                }
                let frac = &s[start..c.i];
                if frac.is_empty() {
                    return None;
                }
                let nine: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                nanos = nine.parse().ok()?;
            }
        }
        if h >= 24 || mi >= 60 || sec >= 60 {
            return None;
        }
    }
    let mut offset = 0i64;
    if zone {
        match c.byte(b"Zz+-")? {
            b'Z' | b'z' => {}
            sign => {
                let oh = c.digits(2)?;
                c.byte(b":")?;
                let om = c.digits(2)?;
                if oh >= 24 || om >= 60 {
                    return None;
                }
                offset = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            }
        }
    }
    if !c.done() {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    Some((secs, nanos))
}

/// Parse an RFC 3339 timestamp (`2023-05-19T20:19:32Z`,
/// `2023-05-19T22:19:32.5+02:00`) into UTC unix seconds and nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    parse_datetime(s, 3, true)
}

/// Go's `time.ParseDuration`, in nanoseconds ("1h30m", "1.5s", "-10m", "300ms").
pub fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None, // missing or unknown unit
        };
        rest = &rest[unit_len..];
        let v: i128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
        let mut part = v.checked_mul(unit)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(18)];
            let f: i128 = digits.parse().ok()?;
            part += f * unit / 10i128.pow(digits.len() as u32);
        }
        total = total.checked_add(part)?;
        if total > i64::MAX as i128 {
            return None;
        }
    }
    Some(if neg { -total } else { total })
}

/// Docker's `--since` / `--until` values (api/types/time.GetTimestamp):
/// a Go duration before `now` ("10m", "1h30m"), an RFC 3339 timestamp with
/// or without fraction and zone, a date ("2013-01-02"), shortened times
/// ("2013-01-02T13", "2013-01-02T13:04"), or unix seconds
/// ("1700000000", "1700000000.5"). Returns unix seconds.
pub fn parse_since_until(s: &str, now_secs: i64) -> Option<i64> {
    if s != "0" {
        if let Some(d) = parse_go_duration(s) {
            let t = i128::from(now_secs) * 1_000_000_000 - d;
            return i64::try_from(t.div_euclid(1_000_000_000)).ok();
        }
    }
    // Without a zone Docker parses in the local zone; ours is UTC.
    let local = !s.contains(['z', 'Z', '+']) && s.matches('-').count() != 3;
    let parsed = if s.contains('.') {
        parse_datetime(s, 3, !local)
    } else if s.contains('T') {
        let mut colons = s.matches(':').count();
        if !local && !s.contains(['z', 'Z']) && colons > 0 {
            colons -= 1; // the zone offset's colon
        }
        parse_datetime(s, colons.clamp(0, 2) + 1, !local)
    } else {
        parse_datetime(s, 0, !local)
    };
    if let Some((secs, _)) = parsed {
        return Some(secs);
    }
    if s.contains('-') {
        return None; // a malformed date
    }
    // Unix timestamp, optionally with a fraction.
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    if !frac.is_empty() && !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(secs)
}

/// The current time as (unix seconds, nanoseconds).
pub fn now() -> (i64, u32) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos())
}

/// The current time in RFC 3339 with nanoseconds, as Docker records times.
pub fn now_rfc3339() -> String {
    let (s, n) = now();
    rfc3339_nano(s, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_size_matches_go_units() {
        let cases: &[(u64, &str)] = &[
            (0, "0B"),
            (1, "1B"),
            (999, "999B"),
            (1000, "1kB"),
            (1024, "1.02kB"),
            (1125, "1.12kB"), // %.3g rounds half to even
            (1500, "1.5kB"),
            (10_000, "10kB"),
            (100_000, "100kB"),
            (999_499, "999kB"),
            (999_999, "1e+03kB"), // Go's %.3g, Docker prints this too
            (1_000_000, "1MB"),
            (4_261_550, "4.26MB"),
            (12_345_678, "12.3MB"),
            (72_800_000, "72.8MB"),
            (123_456_789, "123MB"),
            (1_000_000_000, "1GB"),
            (5_500_000_000_000, "5.5TB"),
            (2_000_000_000_000_000, "2PB"),
            (u64::MAX, "18.4EB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_size(*n), *want, "human_size({n})");
        }
        assert_eq!(human_size_with_precision(2746000.0, 4), "2.746MB");
    }

    #[test]
    fn bytes_size_matches_go_units() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1023), "1023B");
        assert_eq!(bytes_size(1024), "1KiB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(1_048_576), "1MiB");
        assert_eq!(bytes_size(1_048_575), "1024KiB");
        assert_eq!(bytes_size(16_384_000_000), "15.26GiB");
        assert_eq!(bytes_size(1 << 40), "1TiB");
    }

    fn hd(secs: u64) -> String {
        human_duration(Duration::from_secs(secs))
    }

    #[test]
    fn human_duration_matches_go_units() {
        const MIN: u64 = 60;
        const HOUR: u64 = 60 * MIN;
        const DAY: u64 = 24 * HOUR;
        const WEEK: u64 = 7 * DAY;
        const MONTH: u64 = 30 * DAY;
        const YEAR: u64 = 365 * DAY;
        assert_eq!(human_duration(Duration::from_millis(450)), "Less than a second");
        assert_eq!(hd(0), "Less than a second");
        assert_eq!(hd(1), "1 second");
        assert_eq!(human_duration(Duration::from_millis(1999)), "1 second");
        assert_eq!(hd(2), "2 seconds");
        assert_eq!(hd(45), "45 seconds");
        assert_eq!(hd(59), "59 seconds");
        assert_eq!(hd(60), "About a minute");
        assert_eq!(hd(119), "About a minute");
        assert_eq!(hd(2 * MIN), "2 minutes");
        assert_eq!(hd(3 * MIN), "3 minutes");
        assert_eq!(hd(35 * MIN + 40), "35 minutes");
        assert_eq!(hd(59 * MIN + 59), "59 minutes");
        assert_eq!(hd(HOUR), "About an hour");
        assert_eq!(hd(HOUR + 29 * MIN), "About an hour");
        assert_eq!(hd(HOUR + 30 * MIN), "2 hours");
        assert_eq!(hd(HOUR + 31 * MIN), "2 hours");
        assert_eq!(hd(3 * HOUR + 29 * MIN), "3 hours");
        assert_eq!(hd(3 * HOUR + 31 * MIN), "4 hours");
        assert_eq!(hd(24 * HOUR), "24 hours");
        assert_eq!(hd(DAY + 12 * HOUR), "36 hours");
        assert_eq!(hd(47 * HOUR + 29 * MIN), "47 hours");
        assert_eq!(hd(47 * HOUR + 30 * MIN), "2 days");
        assert_eq!(hd(2 * DAY), "2 days");
        assert_eq!(hd(7 * DAY), "7 days");
        assert_eq!(hd(13 * DAY + 5 * HOUR), "13 days");
        assert_eq!(hd(2 * WEEK), "2 weeks");
        assert_eq!(hd(2 * WEEK + 4 * DAY), "2 weeks");
        assert_eq!(hd(3 * WEEK), "3 weeks");
        assert_eq!(hd(4 * WEEK + 3 * DAY), "4 weeks");
        assert_eq!(hd(MONTH), "4 weeks");
        assert_eq!(hd(MONTH + 2 * WEEK), "6 weeks");
        assert_eq!(hd(2 * MONTH), "2 months");
        assert_eq!(hd(3 * MONTH + WEEK), "3 months");
        assert_eq!(hd(5 * MONTH + 2 * WEEK), "5 months");
        assert_eq!(hd(13 * MONTH), "13 months");
        assert_eq!(hd(24 * MONTH), "24 months");
        assert_eq!(hd(24 * MONTH + 2 * WEEK), "2 years");
        assert_eq!(hd(3 * YEAR + 2 * MONTH), "3 years");
        assert_eq!(hd(u64::MAX), "292 years");
    }

    #[test]
    fn since_is_created_column() {
        let now = 1_700_000_000;
        assert_eq!(since(now - 2 * 30 * 86400, now), "2 months ago");
        assert_eq!(since(now - 5, now), "5 seconds ago");
        assert_eq!(since(now + 100, now), "Less than a second ago");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-719468, -1, 0, 1, 59, 60, 365, 10957, 11016, 19496, 2932896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11016), (2000, 2, 29));
        assert_eq!(days_from_civil(2023, 5, 19), 19496);
    }

    #[test]
    fn go_time_formats() {
        assert_eq!(rfc3339_nano(1684527572, 123456789), "2023-05-19T20:19:32.123456789Z");
        assert_eq!(rfc3339_nano(1684527572, 120000000), "2023-05-19T20:19:32.12Z");
        assert_eq!(rfc3339_nano(1684527572, 0), "2023-05-19T20:19:32Z");
        assert_eq!(rfc3339_nano(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_nano(-62135596800, 0), "0001-01-01T00:00:00Z");
        assert_eq!(go_time_string(1684527572), "2023-05-19 20:19:32 +0000 UTC");
        assert_eq!(go_time_string(951782400), "2000-02-29 00:00:00 +0000 UTC");
    }

    #[test]
    fn rfc3339_parsing() {
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32Z"), Some((1684527572, 0)));
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32.123456789Z"), Some((1684527572, 123456789)));
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32.5Z"), Some((1684527572, 500000000)));
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32.1234567891Z"), Some((1684527572, 123456789)));
        assert_eq!(parse_rfc3339("2023-05-19T22:19:32+02:00"), Some((1684527572, 0)));
        assert_eq!(parse_rfc3339("2023-05-19T15:49:32.25-04:30"), Some((1684527572, 250000000)));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some((-62135596800, 0)));
        assert_eq!(parse_rfc3339("2023-05-19 20:19:32Z"), None);
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32"), None);
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some((1709164800, 0)));
        assert_eq!(parse_rfc3339("2023-05-19T24:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-05-19T20:19:32.Z"), None);
        assert_eq!(parse_rfc3339(""), None);
        // Round trip with the formatter.
        let (s, n) = parse_rfc3339(&rfc3339_nano(1700000000, 42)).unwrap();
        assert_eq!((s, n), (1700000000, 42));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("2h45m10s"), Some(9_910_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration(".5m"), Some(30_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("1µs2ns"), Some(1_002));
        assert_eq!(parse_go_duration("-1h"), Some(-3_600_000_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("1d"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("h"), None);
        assert_eq!(parse_go_duration("3000000h"), None);
        assert_eq!(parse_go_duration("1.999999999999999999999999999h"), Some(7_199_999_999_999));
    }

    #[test]
    fn since_until_values() {
        let now = 1_700_000_000;
        assert_eq!(parse_since_until("10m", now), Some(now - 600));
        assert_eq!(parse_since_until("1h30m", now), Some(now - 5400));
        assert_eq!(parse_since_until("2h45m10s", now), Some(now - 9910));
        assert_eq!(parse_since_until("1.5s", now), Some(now - 2)); // Unix() floors
        assert_eq!(parse_since_until("-1h", now), Some(now + 3600));
        assert_eq!(parse_since_until("2013-01-02", now), Some(1357084800));
        assert_eq!(parse_since_until("2013-01-02T13", now), Some(1357084800 + 13 * 3600));
        assert_eq!(parse_since_until("2013-01-02T13:04", now), Some(1357084800 + 13 * 3600 + 240));
        assert_eq!(parse_since_until("2013-01-02T13:04:05", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T13:04:05Z", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T13:04:05.5Z", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T13:04:05.123", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T15:04:05+02:00", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T11:04:05-02:00", now), Some(1357131845));
        assert_eq!(parse_since_until("2013-01-02T15:04+02:00", now), Some(1357131840));
        assert_eq!(parse_since_until("2013-01-02Z", now), Some(1357084800));
        assert_eq!(parse_since_until("1700000000", now), Some(1700000000));
        assert_eq!(parse_since_until("1600000000.123", now), Some(1600000000));
        assert_eq!(parse_since_until("0", now), Some(0));
        assert_eq!(parse_since_until("2013-13-02", now), None);
        assert_eq!(parse_since_until("yesterday", now), None);
        assert_eq!(parse_since_until("", now), None);
    }
}
