//! Introspection data as `busctl tree` and `gdbus introspect` read it, and the interface XML in
//! docs/dbus: a signal's arguments carry no `direction` (the D-Bus specification allows only
//! "out" there, and `busctl` warns about every other value).

use std::path::Path;

use m2mhal_tests::*;

/// Every `<arg>` of every `<signal>` in `xml` that carries a `direction`, as "Interface.Signal".
fn signal_args_with_direction(xml: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut interface = "";
    let mut signal: Option<&str> = None;
    for element in xml.split('<').skip(1) {
        let tag = element.split('>').next().unwrap_or_default();
        let name = attribute(tag, "name").unwrap_or_default();
        if tag.starts_with("interface ") {
            interface = name;
        } else if tag.starts_with("signal ") {
            signal = (!tag.ends_with('/')).then_some(name);
        } else if tag.starts_with("/signal") {
            signal = None;
        } else if tag.starts_with("arg ")
            && let Some(signal) = signal
            && attribute(tag, "direction").is_some()
        {
            found.push(format!("{interface}.{signal}({name})"));
        }
    }
    found
}

/// The value of `name="..."` in the text of a start tag.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next()
}

/// How many `<signal` elements `xml` declares.
fn signal_count(xml: &str) -> usize {
    xml.matches("<signal ").count()
}

/// The introspection XML of the root, the manager and every device object (zbus nests the
/// objects below a node into its answer, `busctl tree` asks each node itself).
async fn introspect_objects(conn: &zbus::Connection) -> Vec<(String, String)> {
    let mut paths = vec!["/".to_owned(), MANAGER_PATH.to_owned()];
    paths.extend(devices(conn).await.iter().map(|path| path.to_string()));
    let mut documents = Vec::new();
    for path in paths {
        let xml: String = call(
            conn,
            &path,
            "org.freedesktop.DBus.Introspectable",
            "Introspect",
            &(),
        )
        .await
        .unwrap_or_else(|e| panic!("Introspect {path}: {e:?}"));
        documents.push((path, xml));
    }
    documents
}

#[test]
fn the_parser_finds_a_signal_argument_with_direction() {
    let xml = r#"<node><interface name="a.B">
      <method name="M"><arg name="x" type="s" direction="in"/></method>
      <signal name="S"><arg name="y" type="s" direction="in"/><arg name="z" type="s"/></signal>
      <signal name="Empty"/>
      <method name="N"><arg name="w" type="s" direction="in"/></method>
    </interface></node>"#;
    assert_eq!(signal_args_with_direction(xml), ["a.B.S(y)"]);
    assert_eq!(signal_count(xml), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_arguments_carry_no_direction_over_the_bus() {
    let rig = ModemRig::start(&["modem"], "").await;
    let documents = introspect_objects(rig.conn()).await;
    let device = documents
        .iter()
        .find(|(path, _)| *path == rig.path)
        .map(|(_, xml)| xml)
        .expect("the modem's object is in the tree");
    // The objects declare signals: the Messaging ones, PropertiesChanged, InterfacesAdded.
    assert!(device.contains("name=\"Received\""), "{device}");
    let signals: usize = documents.iter().map(|(_, xml)| signal_count(xml)).sum();
    assert!(signals >= 5, "{signals} signals in {documents:?}");
    for (path, xml) in &documents {
        let wrong = signal_args_with_direction(xml);
        assert!(
            wrong.is_empty(),
            "{path}: signal arguments with a direction: {wrong:?}"
        );
    }

    // What the user ran: busctl reads every node (and the nested nodes in each) and warns about
    // each argument it does not like.
    if !busctl_is_quiet(&rig.bus.address, &["tree", BUS_NAME]) {
        return;
    }
    for path in ["/", MANAGER_PATH, &rig.path] {
        busctl_is_quiet(&rig.bus.address, &["introspect", BUS_NAME, path]);
    }
}

/// Runs `busctl --address=ADDRESS <args>` and asserts that it succeeds without warnings; false
/// when busctl is not installed.
fn busctl_is_quiet(address: &str, args: &[&str]) -> bool {
    let output = std::process::Command::new("busctl")
        .arg(format!("--address={address}"))
        .args(args)
        .output();
    let Ok(output) = output else {
        eprintln!("note: busctl is not installed; checked the XML here only");
        return false;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "busctl {args:?}: {stderr}");
    assert!(
        !String::from_utf8_lossy(&output.stdout).is_empty(),
        "busctl {args:?} printed nothing"
    );
    assert!(stderr.trim().is_empty(), "busctl {args:?} warns: {stderr}");
    true
}

#[test]
fn interface_xml_in_docs_gives_signal_arguments_no_direction() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dbus");
    let mut files = 0;
    let mut signals = 0;
    for entry in std::fs::read_dir(&dir).expect("docs/dbus") {
        let path = entry.expect("docs/dbus entry").path();
        if path.extension().is_none_or(|ext| ext != "xml") {
            continue;
        }
        let xml = std::fs::read_to_string(&path).expect("read interface XML");
        files += 1;
        signals += signal_count(&xml);
        let wrong = signal_args_with_direction(&xml);
        assert!(wrong.is_empty(), "{}: {wrong:?}", path.display());
    }
    assert!(
        files >= 7 && signals >= 3,
        "{files} files, {signals} signals"
    );
}
