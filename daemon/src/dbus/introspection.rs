//! Introspection XML that `busctl` reads without warnings.
//!
//! zbus nests the whole subtree into a node's introspection data, and busctl (systemd 252 and
//! later) keeps the `direction` of the last method argument while it reads a nested node: every
//! signal argument after a method argument with `direction="in"` is reported as "Unexpected
//! signal <arg> direction value 'in'". A method argument's direction is "in" when it is left out
//! (D-Bus specification, introspection format), so m2mhal's interfaces leave it out: then only
//! "out" is ever carried over, which busctl accepts on signal arguments.

/// `xml` with ` direction="in"` removed from every `<arg>` element (one element per line, as
/// zbus writes it; documentation comments are left as they are).
pub fn implicit_in_directions(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut in_comment = false;
    for line in xml.split_inclusive('\n') {
        let element = line.trim();
        if !in_comment && element.starts_with("<arg ") {
            out.push_str(&line.replacen(" direction=\"in\"", "", 1));
        } else {
            out.push_str(line);
        }
        if element.starts_with("<!--") {
            in_comment = true;
        }
        if element.ends_with("-->") {
            in_comment = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_in_directions_of_arguments_go() {
        let xml = "  <!--\n   <arg direction=\"in\"/> in a comment stays\n   -->\n\
                   <method name=\"Send\">\n    <arg name=\"to\" type=\"s\" direction=\"in\"/>\n    \
                   <arg type=\"s\" direction=\"out\"/>\n  </method>\n  <signal name=\"Sent\">\n    \
                   <arg name=\"id\" type=\"s\"/>\n  </signal>";
        let expected = "  <!--\n   <arg direction=\"in\"/> in a comment stays\n   -->\n\
                        <method name=\"Send\">\n    <arg name=\"to\" type=\"s\"/>\n    \
                        <arg type=\"s\" direction=\"out\"/>\n  </method>\n  <signal name=\"Sent\">\n    \
                        <arg name=\"id\" type=\"s\"/>\n  </signal>";
        assert_eq!(implicit_in_directions(xml), expected);
    }
}
