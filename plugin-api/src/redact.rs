//! Masking private values before they are logged: the journal is readable by more people than
//! the messages are, so a phone number at the default log level shows only enough to tell
//! numbers apart (`+4915112345678` -> `+49151******78`).

/// Characters kept at the start of a long number (country and network code).
const KEPT_HEAD: usize = 6;
/// Characters kept at the end of a number.
const KEPT_TAIL: usize = 2;

/// `number` with every character but the first six and the last two replaced by `*`; a number
/// of eight characters or fewer keeps only its last two (an alphanumeric sender is masked the
/// same way).
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let tail = chars.len().saturating_sub(KEPT_TAIL);
    let head = if chars.len() > KEPT_HEAD + KEPT_TAIL {
        KEPT_HEAD
    } else {
        0
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < head || i >= tail { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_keep_their_prefix_and_last_two_digits() {
        assert_eq!(mask_number("+4915112345678"), "+49151******78");
        assert_eq!(mask_number("004915112345678"), "004915*******78");
    }

    #[test]
    fn short_numbers_and_names_keep_only_their_end() {
        assert_eq!(mask_number("+4917"), "***17");
        assert_eq!(mask_number("Vodafone"), "******ne");
        assert_eq!(mask_number("7"), "7");
        assert_eq!(mask_number(""), "");
    }
}
