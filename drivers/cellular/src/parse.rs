//! Small helpers to take apart information responses such as `+CREG: 2,1,"1A2B","01A2D101",7`.

use std::str::FromStr;

/// One comma-separated field of an information response, with its quotes removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field's text without surrounding quotes or blanks.
    pub text: &'a str,
    /// Whether the modem quoted it.
    pub quoted: bool,
}

impl Field<'_> {
    /// The field as a number, when it is one.
    pub fn number<T: FromStr>(&self) -> Option<T> {
        self.text.parse().ok()
    }
}

/// The fields after `prefix` (`+CSQ:`), or `None` when `line` does not start with it. The prefix
/// is compared ignoring ASCII case; commas inside quotes do not split.
pub(crate) fn fields<'a>(line: &'a str, prefix: &str) -> Option<Vec<Field<'a>>> {
    let line = line.trim();
    let head = line.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    Some(split_fields(&line[prefix.len()..]))
}

/// The first line of `lines` that starts with `prefix`, split into fields.
pub(crate) fn first_fields<'a>(lines: &'a [String], prefix: &str) -> Option<Vec<Field<'a>>> {
    lines.iter().find_map(|line| fields(line, prefix))
}

fn split_fields(text: &str) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                out.push(field(&text[start..at]));
                start = at + 1;
            }
            _ => {}
        }
    }
    out.push(field(&text[start..]));
    out
}

fn field(raw: &str) -> Field<'_> {
    let text = raw.trim();
    match text
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => Field {
            text: inner,
            quoted: true,
        },
        None => Field {
            text,
            quoted: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_empty_fields() {
        let got = fields(r#"+CMGR: 0,"a,b",24"#, "+CMGR:").unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            Field {
                text: "a,b",
                quoted: true
            }
        );
        assert_eq!(got[2].number::<u32>(), Some(24));
        let empty = fields("+CMGL: 1,0,,23", "+CMGL:").unwrap();
        assert_eq!(
            empty[2],
            Field {
                text: "",
                quoted: false
            }
        );
    }

    #[test]
    fn prefix_must_match() {
        assert!(fields("+CGREG: 1", "+CREG:").is_none());
        assert!(fields("+creg: 1", "+CREG:").is_some());
        assert!(fields("", "+CREG:").is_none());
    }
}
