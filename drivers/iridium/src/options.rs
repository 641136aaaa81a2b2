//! The driver options from the daemon configuration (`[device.options]`), all in seconds.

use std::collections::BTreeMap;

/// Default period of the `AT+CSQ` poll, in seconds.
const DEFAULT_SIGNAL_INTERVAL_S: u64 = 60;
/// Default minimum time between the end of one SBD session and the start of the next.
const DEFAULT_MIN_SESSION_INTERVAL_S: u64 = 15;
/// Default longest wait between retries of a failed session.
const DEFAULT_MAX_BACKOFF_S: u64 = 600;

/// The parsed options, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// `signal_interval`: period of the `AT+CSQ` poll that runs only while it is needed (the
    /// terminal refused `+CIEV` indications, or a session waits for service); 0 = never.
    pub signal_interval_ms: u64,
    /// `min_session_interval`: the power budget; no SBD session starts sooner after the last one.
    pub min_session_interval_ms: u64,
    /// `max_backoff`: the cap of the doubling wait between retries of failed sessions.
    pub max_backoff_ms: u64,
}

impl Options {
    /// Reads the options; a value that is not a whole number of seconds is an error naming it.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Self, String> {
        let seconds = |name: &str, default: u64| -> Result<u64, String> {
            match options.get(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("option {name}: {text:?} is not a number of seconds")),
            }
        };
        let ms = |s: u64| s.saturating_mul(1000);
        Ok(Options {
            signal_interval_ms: ms(seconds("signal_interval", DEFAULT_SIGNAL_INTERVAL_S)?),
            min_session_interval_ms: ms(seconds(
                "min_session_interval",
                DEFAULT_MIN_SESSION_INTERVAL_S,
            )?),
            max_backoff_ms: ms(seconds("max_backoff", DEFAULT_MAX_BACKOFF_S)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Options, String> {
        Options::parse(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]),
            Ok(Options {
                signal_interval_ms: 60_000,
                min_session_interval_ms: 15_000,
                max_backoff_ms: 600_000,
            })
        );
    }

    #[test]
    fn values_in_seconds_and_errors_name_the_option() {
        let options = parse(&[("min_session_interval", " 30 "), ("max_backoff", "120")]).unwrap();
        assert_eq!(options.min_session_interval_ms, 30_000);
        assert_eq!(options.max_backoff_ms, 120_000);
        let error = parse(&[("max_backoff", "10m")]).unwrap_err();
        assert!(error.contains("max_backoff"), "{error}");
    }
}
