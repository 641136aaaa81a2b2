//! Waiting for events: polling with a deadline ([`WAIT`]), failing with what was awaited.

use std::time::Duration;

/// How long the harness waits for anything before a test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `check` until it is true, failing the test after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(
        what,
        async || if check().await { Ok(()) } else { Err(None) },
    )
    .await
}

/// Polls `probe` every 20 ms until it gives `Ok`; fails the test after [`WAIT`], naming `what`
/// it waited for and what `probe` saw last (its `Err`, if it says).
pub(crate) async fn poll<T>(
    what: &str,
    mut probe: impl AsyncFnMut() -> Result<T, Option<String>>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = match probe().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            match seen {
                Some(seen) => panic!("timed out waiting for {what}; last {seen}"),
                None => panic!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `value` if `accept` takes it, else what it is (for the failure message of [`poll`]).
pub(crate) fn accepted<T: std::fmt::Debug>(
    value: T,
    accept: impl Fn(&T) -> bool,
) -> Result<T, Option<String>> {
    if accept(&value) {
        Ok(value)
    } else {
        Err(Some(format!("{value:?}")))
    }
}
