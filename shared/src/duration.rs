//! Times on the command line: always a number with its unit, `300ms`, `2s`, `1m`.
//!
//! One parser for every time flag of every lesson, so a student never has to guess
//! whether `--timeout 2` meant seconds or milliseconds. The unit is required: a bare
//! number is refused with an example, because it is exactly the guess we want to avoid.

use std::time::Duration;

/// Parses `300ms`, `2s`, `1.5s`, `1m`, `1m 30s` (the `humantime` crate's grammar).
///
/// Use it as a clap value parser: `#[arg(long, value_parser = shared::duration::parse)]`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "`{text}` has no unit: write e.g. `{text}s` or `{text}ms` (units: ms, s, m)"
        ));
    }
    // humantime does not take fractions ("1.5s"); students do write them, so allow one.
    if let Some(secs) = text.strip_suffix('s').filter(|n| n.contains('.')) {
        return match secs.parse::<f64>() {
            Ok(secs) if (0.0..1e9).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
            _ => Err(format!(
                "`{text}` is not a time: write e.g. `300ms`, `2s` or `1m`"
            )),
        };
    }
    humantime::parse_duration(text)
        .map_err(|err| format!("`{text}` is not a time ({err}): write e.g. `300ms`, `2s` or `1m`"))
}

/// Shows a time the way [`parse`] reads it back: `300ms`, `2s`, `1m 30s`.
pub fn show(time: Duration) -> String {
    humantime::format_duration(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read() {
        assert_eq!(parse("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("0.2s"), Ok(Duration::from_millis(200)));
        assert_eq!(parse(" 5s "), Ok(Duration::from_secs(5)));
    }

    #[test]
    fn a_bare_number_is_refused_with_an_example() {
        let err = parse("30").unwrap_err();
        assert!(err.contains("no unit") && err.contains("`30s`"), "{err}");
        let err = parse("0.5").unwrap_err();
        assert!(err.contains("`0.5s`"), "{err}");
    }

    #[test]
    fn nonsense_is_refused_without_a_panic() {
        for text in [
            "",
            "s",
            "abc",
            "-1s",
            "1.2.3s",
            "nan s",
            "1e400s",
            "99999999999999999999s",
        ] {
            assert!(parse(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn show_reads_back() {
        for time in [
            Duration::from_millis(300),
            Duration::from_secs(2),
            Duration::from_secs(90),
        ] {
            assert_eq!(parse(&show(time)), Ok(time));
        }
    }
}
