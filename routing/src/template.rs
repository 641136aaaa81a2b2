//! A rule's message text: literal text with `{rule}`, `{device}`, `{reading}`, `{value}` and
//! `{time}` placeholders, parsed once (an unknown placeholder is a config error) and rendered
//! each time the rule fires.

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Rule,
    Device,
    Reading,
    Value,
    Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Field),
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` with a name the template does not know.
    #[error("unknown placeholder {{{0}}}; known: rule, device, reading, value, time")]
    UnknownPlaceholder(String),
    /// A `{` without its `}`.
    #[error("unclosed {{ at byte {0}")]
    Unclosed(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The values a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// The rule's name.
    pub rule: &'a str,
    /// The device Id.
    pub device: &'a str,
    /// The reading's key (`temperature`, `state`).
    pub reading: &'a str,
    /// The value as read, rendered.
    pub value: &'a str,
    /// Unix seconds.
    pub time: u64,
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or(TemplateError::Unclosed(offset + open))?;
            let field = match &after[..close] {
                "rule" => Field::Rule,
                "device" => Field::Device,
                "reading" => Field::Reading,
                "value" => Field::Value,
                "time" => Field::Time,
                other => return Err(TemplateError::UnknownPlaceholder(other.to_owned())),
            };
            pieces.push(Piece::Field(field));
            offset += open + 1 + close + 1;
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template { pieces })
    }

    /// The text for `values`; `{time}` as UTC ISO 8601 (`2026-12-07T20:18:33Z`).
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(Field::Rule) => out.push_str(values.rule),
                Piece::Field(Field::Device) => out.push_str(values.device),
                Piece::Field(Field::Reading) => out.push_str(values.reading),
                Piece::Field(Field::Value) => out.push_str(values.value),
                Piece::Field(Field::Time) => out.push_str(&utc(values.time)),
            }
        }
        out
    }
}

/// Unix seconds as UTC ISO 8601 (days to civil date after H. Hinnant's algorithm).
fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let seconds = unix % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            rule: "tank-hot",
            device: "ble:AA:BB:CC:DD:EE:01",
            reading: "temperature",
            value: "30.5",
            time: 1_796_674_713,
        }
    }

    #[test]
    fn every_placeholder_renders() {
        let template = Template::parse("{rule}: {device} {reading} = {value} at {time}!").unwrap();
        assert_eq!(
            template.render(&values()),
            "tank-hot: ble:AA:BB:CC:DD:EE:01 temperature = 30.5 at 2026-12-07T20:18:33Z!"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_errors() {
        assert_eq!(
            Template::parse("hot {temp}"),
            Err(TemplateError::UnknownPlaceholder("temp".into()))
        );
        assert_eq!(Template::parse("ab {rule"), Err(TemplateError::Unclosed(3)));
        assert_eq!(Template::parse("plain").unwrap().render(&values()), "plain");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
