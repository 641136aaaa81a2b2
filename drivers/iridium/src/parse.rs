//! Small helpers to read the numeric answers of an Iridium terminal.

/// The comma-separated numbers after `prefix` (compared ignoring ASCII case):
/// `+SBDIX: 0, 12, 1, 5, 6, 0` gives `[0, 12, 1, 5, 6, 0]`. `None` when the line does not start
/// with `prefix` or a field is not a number.
pub(crate) fn numbers(line: &str, prefix: &str) -> Option<Vec<i64>> {
    let line = line.trim();
    let head = line.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    line[prefix.len()..]
        .split(',')
        .map(|field| field.trim().parse::<i64>().ok())
        .collect()
}

/// The numbers of the first line of `lines` that starts with `prefix`.
pub(crate) fn first_numbers(lines: &[String], prefix: &str) -> Option<Vec<i64>> {
    lines.iter().find_map(|line| numbers(line, prefix))
}

/// The bare numeric result code among `lines` (`AT+SBDWB`, `AT+SBDD0` answer `0` before `OK`).
pub(crate) fn result_code(lines: &[String]) -> Option<u8> {
    lines.iter().rev().find_map(|line| line.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_after_a_prefix() {
        assert_eq!(
            numbers("+SBDIX: 0, 12, 1, 5, 6, 0", "+SBDIX:"),
            Some(vec![0, 12, 1, 5, 6, 0])
        );
        assert_eq!(numbers("+csq:5", "+CSQ:"), Some(vec![5]));
        assert_eq!(
            numbers("+SBDS: 0, 7, 0, -1", "+SBDS:"),
            Some(vec![0, 7, 0, -1])
        );
        assert_eq!(numbers("+SBDIX: 0, x", "+SBDIX:"), None);
        assert_eq!(numbers("+SBDS: 0", "+SBDIX:"), None);
        assert_eq!(numbers("", "+CSQ:"), None);
    }

    #[test]
    fn result_code_is_the_bare_number() {
        let lines = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(result_code(&lines(&["0"])), Some(0));
        assert_eq!(result_code(&lines(&["READY", "2"])), Some(2));
        assert_eq!(result_code(&lines(&["READY"])), None);
        assert_eq!(result_code(&lines(&["999"])), None, "not a u8");
    }
}
