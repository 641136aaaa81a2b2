//! The files that integrate m2mhal into a Linux system: the systemd unit (hardening, and
//! `systemd-analyze verify` where it exists), `make install`, the D-Bus policy and activation
//! file, the polkit actions and the udev rules (syntax, and what they tag on known devices).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use m2mhal_tests::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The unprivileged user of the bus policy checks.
const NOBODY: u32 = 65534;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Whether `program` is on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// systemd unit

/// A systemd unit file as `(section, key, value)` in file order.
mod unit_file {
    /// One `Key=Value` line with its section.
    pub type Directive = (String, String, String);

    /// Parses unit file syntax: blank lines, `#`/`;` comments, `[Section]` and `Key=Value`.
    pub fn parse(text: &str) -> Result<Vec<Directive>, String> {
        let mut section = None;
        let mut directives = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            let at = |what: &str| format!("line {}: {what}: {line:?}", index + 1);
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.to_owned());
                continue;
            }
            let section = section
                .clone()
                .ok_or_else(|| at("directive before any section"))?;
            let (key, value) = line.split_once('=').ok_or_else(|| at("not Key=Value"))?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(at("bad key"));
            }
            if value.ends_with('\\') {
                return Err(at("continuation lines are not used in m2mhal's units"));
            }
            directives.push((section, key.to_owned(), value.trim().to_owned()));
        }
        Ok(directives)
    }

    /// Every value of `key` in `section`, in order.
    pub fn values<'a>(directives: &'a [Directive], section: &str, key: &str) -> Vec<&'a str> {
        directives
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }
}

fn shipped_unit() -> Vec<unit_file::Directive> {
    unit_file::parse(&read("dist/systemd/m2mhald.service")).expect("unit file syntax")
}

#[test]
fn unit_is_a_hardened_dbus_service() {
    let unit = shipped_unit();
    let one = |key: &str| one_value(&unit, key);
    let expected = [
        ("Type", "dbus"),
        ("BusName", BUS_NAME),
        (
            "ExecStart",
            "/usr/sbin/m2mhald --config /etc/m2mhal/m2mhald.toml",
        ),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
        ("StateDirectory", "m2mhal"),
        ("ConfigurationDirectory", "m2mhal"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DevicePolicy", "closed"),
        ("RestrictAddressFamilies", "AF_UNIX AF_NETLINK"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictRealtime", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        // No capabilities at all, not even ambient ones.
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
    ];
    for (key, value) in expected {
        assert_eq!(one(key), value, "[Service] {key}=");
    }
    let devices = unit_file::values(&unit, "Service", "DeviceAllow");
    for tty in ["ttyS", "ttyUSB", "ttyACM", "ttymxc"] {
        assert!(
            devices.contains(&format!("char-{tty} rw").as_str()),
            "DeviceAllow for {tty}: {devices:?}"
        );
    }
    assert!(
        devices.iter().all(|d| d.starts_with("char-tty")),
        "only ttys: {devices:?}"
    );
    let filters = unit_file::values(&unit, "Service", "SystemCallFilter");
    assert!(filters.contains(&"@system-service"), "{filters:?}");
    assert_eq!(
        unit_file::values(&unit, "Install", "Alias"),
        ["dbus-org.m2mhal.Hal1.service"]
    );
    assert_eq!(
        unit_file::values(&unit, "Install", "WantedBy"),
        ["multi-user.target"]
    );
}

/// `[Service] key=` of `unit`, given once.
fn one_value(unit: &[unit_file::Directive], key: &str) -> String {
    let values = unit_file::values(unit, "Service", key);
    assert_eq!(values.len(), 1, "[Service] {key}= once: {values:?}");
    values[0].to_owned()
}

#[test]
fn bridge_unit_has_the_network_its_own_user_and_nothing_else() {
    let unit = unit_file::parse(&read("dist/systemd/m2mhal-mqtt.service")).expect("unit syntax");
    let expected = [
        (
            "ExecStart",
            "/usr/sbin/m2mhal-mqtt --config /etc/m2mhal/m2mhal-mqtt.toml",
        ),
        ("User", "m2mhal-mqtt"),
        ("SupplementaryGroups", "m2mhal"),
        ("StateDirectory", "m2mhal-mqtt"),
        ("StateDirectoryMode", "0700"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("DevicePolicy", "closed"),
        ("MemoryDenyWriteExecute", "yes"),
    ];
    for (key, value) in expected {
        assert_eq!(one_value(&unit, key), value, "[Service] {key}=");
    }
    // The bridge is the process with network access; it asks for no device and no D-Bus name.
    for absent in ["IPAddressDeny", "DeviceAllow", "BusName"] {
        assert!(
            unit_file::values(&unit, "Service", absent).is_empty(),
            "{absent}="
        );
    }
    // Its state directory is the example config's.
    assert!(read("dist/m2mhal-mqtt.toml").contains("state_dir = \"/var/lib/m2mhal-mqtt\""));
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    if !on_path("systemd-analyze") {
        eprintln!("note: systemd-analyze is not installed; the unit was not verified by systemd");
        return;
    }
    for (unit_name, program, installed) in [
        ("m2mhald.service", "m2mhald", "/usr/sbin/m2mhald"),
        (
            "m2mhal-mqtt.service",
            "m2mhal-mqtt",
            "/usr/sbin/m2mhal-mqtt",
        ),
    ] {
        systemd_analyze(unit_name, program, installed);
    }
}

/// `systemd-analyze verify` and `security` of the shipped `unit_name`, its ExecStart
/// (`installed`) pointed at the built `program`.
fn systemd_analyze(unit_name: &str, program: &str, installed: &str) {
    // verify checks that ExecStart exists: point a copy at the built binary.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join(unit_name);
    let built = binary(program);
    let unit_text = read(&format!("dist/systemd/{unit_name}")).replace(
        &format!("ExecStart={installed}"),
        &format!("ExecStart={}", built.display()),
    );
    std::fs::write(&unit, unit_text).unwrap();

    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = text(&verify.stderr);
    assert!(verify.status.success(), "systemd-analyze verify: {stderr}");
    // Unknown keys and bad values are only warnings, each naming the file.
    assert!(
        !stderr.contains(unit_name),
        "systemd-analyze verify warns: {stderr}"
    );

    // The exposure score ("1.4 OK" when written); 20 = 2.0, well inside "OK".
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = text(&security.stderr);
    if stderr.contains("unrecognized option") {
        eprintln!("note: this systemd-analyze cannot rate a unit file offline");
        return;
    }
    let summary = text(&security.stdout);
    let summary = summary.lines().last().unwrap_or_default();
    assert!(
        security.status.success(),
        "{unit_name}: exposure above 2.0: {summary} {stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// make install

/// `make`, and the Debian build that runs it, write the generated man pages into the target
/// directory: one test at a time.
static MAKE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds [`MAKE_LOCK`] (a test that failed while holding it does not fail the others).
fn make_lock() -> std::sync::MutexGuard<'static, ()> {
    MAKE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `make -s <args>` in the workspace with the test build's binaries.
fn make(args: &[&str]) -> Output {
    let output = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root())
        .args(args)
        .arg(format!("BIN_DIR={}", target_dir().display()))
        .output()
        .expect("make must be installed (package build-essential)");
    assert!(
        output.status.success(),
        "make {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// Every file under `dir`, relative, with its permission bits.
fn tree(dir: &Path) -> BTreeMap<String, u32> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let metadata = std::fs::symlink_metadata(entry.path()).unwrap();
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                let relative = entry.path().strip_prefix(dir).unwrap().to_owned();
                let relative = relative.to_string_lossy().into_owned();
                files.insert(relative, metadata.permissions().mode() & 0o7777);
            }
        }
    }
    files
}

/// The names of the files in `dir` whose names start with `prefix` and end with `suffix`.
fn files_named(dir: &Path, prefix: &str, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix) && name.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Every driver plugin the build produced.
fn built_plugins() -> Vec<String> {
    let plugins = files_named(&target_dir(), "libm2mhal_driver_", ".so");
    assert!(
        plugins.iter().any(|p| p == "libm2mhal_driver_cellular.so"),
        "{plugins:?}"
    );
    plugins
}

/// The man pages `make generated` wrote for `program`: `program.1` and one per subcommand.
fn man_pages(program: &str) -> Vec<String> {
    let pages = files_named(&target_dir().join("generated/man/man1"), program, ".1");
    assert!(pages.contains(&format!("{program}.1")), "{pages:?}");
    assert!(pages.len() > 3, "one page per subcommand: {pages:?}");
    pages
}

/// The interface XML files of docs/dbus.
fn interface_files() -> Vec<String> {
    let files = files_named(&root().join("docs/dbus"), "org.m2mhal.Hal1.", ".xml");
    assert!(files.len() >= 7, "{files:?}");
    files
}

/// What `make install` installs under `PREFIX=/usr`, with modes; `lib` is where the units and
/// udev rules go (`usr/lib`, or `lib` in the Debian package).
fn installed_files(lib: &str) -> BTreeMap<String, u32> {
    let mut expected: BTreeMap<String, u32> = [
        ("usr/sbin/m2mhald", 0o755),
        ("usr/bin/m2mctl", 0o755),
        ("usr/include/m2mhal/m2mhal_plugin.h", 0o644),
        ("usr/share/pkgconfig/m2mhal-plugin.pc", 0o644),
        ("usr/share/dbus-1/system.d/org.m2mhal.Hal1.conf", 0o644),
        (
            "usr/share/dbus-1/system-services/org.m2mhal.Hal1.service",
            0o644,
        ),
        ("usr/share/polkit-1/actions/org.m2mhal.Hal1.policy", 0o644),
        ("usr/share/doc/m2mhal/install.md", 0o644),
        ("usr/share/doc/m2mhal/udev/README.md", 0o644),
        ("usr/share/doc/m2mhal/udev/71-m2mhal-exclusive.rules", 0o644),
        ("usr/share/doc/m2mhal/50-m2mhal-group.rules.example", 0o644),
        ("usr/share/doc/m2mhal/m2mhald.toml", 0o644),
        ("usr/share/man/man8/m2mhald.8", 0o644),
        ("usr/share/bash-completion/completions/m2mctl", 0o644),
        ("usr/share/zsh/vendor-completions/_m2mctl", 0o644),
        ("usr/share/fish/vendor_completions.d/m2mctl.fish", 0o644),
        ("etc/m2mhal/m2mhald.toml", 0o644),
    ]
    .into_iter()
    .map(|(path, mode)| (path.to_owned(), mode))
    .collect();
    expected.insert(format!("{lib}/udev/rules.d/70-m2mhal.rules"), 0o644);
    expected.insert(format!("{lib}/systemd/system/m2mhald.service"), 0o644);
    // Every plugin the build produced, not executable.
    for plugin in built_plugins() {
        expected.insert(format!("usr/lib/m2mhal/drivers/{plugin}"), 0o644);
    }
    for page in man_pages("m2mctl") {
        expected.insert(format!("usr/share/man/man1/{page}"), 0o644);
    }
    for interface in interface_files() {
        expected.insert(format!("usr/share/dbus-1/interfaces/{interface}"), 0o644);
    }
    expected
}

/// What `make install-sim` installs under `PREFIX=/usr`.
fn installed_sim_files() -> BTreeMap<String, u32> {
    let mut expected = BTreeMap::from([("usr/bin/m2msim".to_owned(), 0o755)]);
    for page in man_pages("m2msim") {
        expected.insert(format!("usr/share/man/man1/{page}"), 0o644);
    }
    expected
}

#[test]
fn make_install_stages_the_tree_and_uninstall_removes_it() {
    let _make = make_lock();
    make(&["generated"]);
    let stage = tempfile::tempdir().unwrap();
    let destdir = format!("DESTDIR={}", stage.path().display());
    make(&["install", &destdir, "PREFIX=/usr"]);

    // No simulator on a production gateway.
    assert_eq!(tree(stage.path()), installed_files("usr/lib"));
    assert_eq!(
        std::fs::read(stage.path().join("usr/sbin/m2mhald")).unwrap(),
        std::fs::read(target_dir().join("m2mhald")).unwrap()
    );
    // The introspection XML is docs/dbus's.
    assert_eq!(
        read("docs/dbus/org.m2mhal.Hal1.Messaging.xml"),
        std::fs::read_to_string(
            stage
                .path()
                .join("usr/share/dbus-1/interfaces/org.m2mhal.Hal1.Messaging.xml")
        )
        .unwrap()
    );

    // An administrator's configuration survives a reinstall.
    let config = stage.path().join("etc/m2mhal/m2mhald.toml");
    std::fs::write(&config, "# edited\n").unwrap();
    make(&["install", &destdir]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# edited\n");

    // The simulator is a separate step, and so is its removal.
    make(&["install-sim", &destdir]);
    let mut with_sim = installed_files("usr/lib");
    with_sim.extend(installed_sim_files());
    assert_eq!(tree(stage.path()), with_sim);
    make(&["uninstall-sim", &destdir]);
    assert_eq!(tree(stage.path()), installed_files("usr/lib"));

    // Uninstall removes everything but the configuration.
    make(&["uninstall", &destdir]);
    assert_eq!(
        tree(stage.path()).into_keys().collect::<Vec<_>>(),
        ["etc/m2mhal/m2mhald.toml"]
    );
}

/// What `make install-mqtt` installs under `PREFIX=/usr`; `lib` as in [`installed_files`].
fn installed_bridge_files(lib: &str) -> BTreeMap<String, u32> {
    [
        ("usr/sbin/m2mhal-mqtt".to_owned(), 0o755),
        ("usr/share/man/man8/m2mhal-mqtt.8".to_owned(), 0o644),
        (format!("{lib}/systemd/system/m2mhal-mqtt.service"), 0o644),
        ("usr/lib/sysusers.d/m2mhal-mqtt.conf".to_owned(), 0o644),
        (
            "usr/share/polkit-1/rules.d/50-m2mhal-mqtt.rules".to_owned(),
            0o644,
        ),
        ("etc/m2mhal/m2mhal-mqtt.toml".to_owned(), 0o644),
        (
            "usr/share/dbus-1/system.d/org.m2mhal.Mqtt1.conf".to_owned(),
            0o644,
        ),
    ]
    .into()
}

#[test]
fn make_install_mqtt_stages_the_bridge_and_uninstall_keeps_its_config() {
    let _make = make_lock();
    make(&["generated"]);
    let stage = tempfile::tempdir().unwrap();
    let destdir = format!("DESTDIR={}", stage.path().display());
    make(&["install-mqtt", &destdir, "PREFIX=/usr"]);
    assert_eq!(tree(stage.path()), installed_bridge_files("usr/lib"));
    let page = std::fs::read_to_string(stage.path().join("usr/share/man/man8/m2mhal-mqtt.8"));
    assert!(
        page.unwrap().contains("topic_prefix"),
        "the man page names the config"
    );

    let config = stage.path().join("etc/m2mhal/m2mhal-mqtt.toml");
    std::fs::write(&config, "# edited\n").unwrap();
    make(&["install-mqtt", &destdir]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# edited\n");
    make(&["uninstall-mqtt", &destdir]);
    assert_eq!(
        tree(stage.path()).into_keys().collect::<Vec<_>>(),
        ["etc/m2mhal/m2mhal-mqtt.toml"]
    );
}

#[test]
fn man_pages_and_completions_come_from_the_command_lines() {
    let _make = make_lock();
    make(&["generated"]);
    let generated = target_dir().join("generated");
    let read_generated = |path: &str| {
        std::fs::read_to_string(generated.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let daemon = read_generated("man/man8/m2mhald.8");
    assert!(daemon.contains(".TH m2mhald 8"), "{daemon}");
    assert!(daemon.contains("/etc/m2mhal/m2mhald.toml"), "{daemon}");
    assert!(
        !daemon.contains("driver\\-worker"),
        "hidden option shown: {daemon}"
    );
    assert!(daemon.contains("\\-\\-check\\-plugin"), "{daemon}");
    let send = read_generated("man/man1/m2mctl-send.1");
    assert!(send.contains("\\-\\-wait"), "{send}");
    let modem = read_generated("man/man1/m2msim-modem.1");
    assert!(
        modem.contains("sms <from> <text>"),
        "control commands: {modem}"
    );
    if on_path("man") {
        let rendered = Command::new("man")
            .arg("-l")
            .arg(generated.join("man/man1/m2mctl.1"))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let rendered = text(&rendered.stdout);
        assert!(rendered.contains("m2mctl-send(1)"), "{rendered}");
    }

    let bash = read_generated("completions/m2mctl.bash");
    assert!(bash.contains("complete -F _m2mctl"), "{bash}");
    let zsh = read_generated("completions/_m2mctl");
    assert!(zsh.starts_with("#compdef m2mctl"), "{zsh}");
    let fish = read_generated("completions/m2mctl.fish");
    assert!(fish.contains("complete -c m2mctl"), "{fish}");
    for subcommand in ["send", "messages", "monitor", "wait"] {
        for (shell, script) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
    }
    // bash parses what it is given.
    if on_path("bash") {
        let syntax = Command::new("bash")
            .arg("-n")
            .arg(generated.join("completions/m2mctl.bash"))
            .output()
            .unwrap();
        assert!(syntax.status.success(), "{}", text(&syntax.stderr));
    }
}

// ---------------------------------------------------------------------------------------------
// Debian packages

/// Whether this machine can build the Debian packages (debhelper, dpkg-dev, fakeroot are in
/// scripts/debian-packages.txt; CI has them, so there they are required).
fn can_build_debs() -> bool {
    let tools = ["dpkg-buildpackage", "dh", "dpkg-deb"];
    let missing: Vec<&str> = tools.into_iter().filter(|tool| !on_path(tool)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must build the Debian packages; missing {missing:?}"
    );
    eprintln!("note: {missing:?} not installed; the Debian packages were not built");
    false
}

/// `dpkg-deb <args> <deb>`'s output.
fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap();
    assert!(output.status.success(), "dpkg-deb {args:?}: {output:?}");
    text(&output.stdout)
}

/// The control file `name` of a package (`conffiles`, `postinst`), if it has one.
fn control_file(deb: &Path, name: &str) -> Option<String> {
    let output = Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .arg(name)
        .output()
        .unwrap();
    output.status.success().then(|| text(&output.stdout))
}

/// The files (not directories) of a package, relative, with their modes.
fn package_files(deb: &Path) -> BTreeMap<String, u32> {
    dpkg_deb(&["--contents"], deb)
        .lines()
        .filter(|line| line.starts_with('-'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let mode = fields[0]
                .chars()
                .skip(1)
                .fold(0, |mode, c| (mode << 1) | u32::from(c != '-'));
            let path = fields[fields.len() - 1].trim_start_matches("./");
            (path.to_owned(), mode)
        })
        .collect()
}

#[test]
fn debian_packages_split_daemon_and_simulator_with_the_config_as_conffile() {
    if !can_build_debs() {
        return;
    }
    let _make = make_lock();
    let out = tempfile::tempdir().unwrap();
    let build = Command::new(root().join("scripts/build-deb.sh"))
        .arg("--bin-dir")
        .arg(target_dir())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "build-deb.sh: {}{}",
        text(&build.stdout),
        text(&build.stderr)
    );
    let deb = |name: &str| {
        let prefix = format!("{name}_{}_", env!("CARGO_PKG_VERSION"));
        let found = files_named(out.path(), &prefix, ".deb");
        assert_eq!(found.len(), 1, "{prefix}*.deb: {found:?}");
        out.path().join(&found[0])
    };
    let daemon_deb = deb("m2mhal");
    let sim_deb = deb("m2mhal-sim");

    // The daemon's package: what make install installs, man pages compressed, docs as dh
    // leaves them, units and rules in /lib (Debian 12), and no simulator.
    let daemon = package_files(&daemon_deb);
    // dh_compress compresses man pages, and documents over 4 KiB.
    let doc_sources = [
        ("usr/share/doc/m2mhal/install.md", "docs/install.md"),
        ("usr/share/doc/m2mhal/udev/README.md", "udev/README.md"),
        ("usr/share/doc/m2mhal/m2mhald.toml", "dist/m2mhald.toml"),
    ];
    let compressed = |path: &str| {
        path.starts_with("usr/share/man/")
            || doc_sources.iter().any(|(doc, source)| {
                doc == &path && std::fs::metadata(root().join(source)).unwrap().len() > 4096
            })
    };
    let mut expected: BTreeMap<String, u32> = installed_files("lib")
        .into_iter()
        .map(|(path, mode)| match compressed(&path) {
            true => (format!("{path}.gz"), mode),
            false => (path, mode),
        })
        .collect();
    expected.insert("usr/share/doc/m2mhal/changelog.gz".into(), 0o644);
    expected.insert("usr/share/doc/m2mhal/copyright".into(), 0o644);
    assert_eq!(daemon, expected);
    assert!(!daemon.keys().any(|path| path.contains("m2msim")));

    // The administrator's config is a conffile (Debian Policy 10.7.2: conffiles live in /etc;
    // the unit, rules and policies are overridden from /etc, see docs/install.md).
    assert_eq!(
        control_file(&daemon_deb, "conffiles").as_deref(),
        Some("/etc/m2mhal/m2mhald.toml\n")
    );
    // The service is enabled and started on install (dh_installsystemd), and the group the bus
    // policy lets receive messages exists.
    let postinst = control_file(&daemon_deb, "postinst").unwrap_or_default();
    assert!(
        postinst.contains("deb-systemd-helper") && postinst.contains("m2mhald.service"),
        "{postinst}"
    );
    assert!(
        postinst.contains("addgroup --system --quiet m2mhal"),
        "{postinst}"
    );
    let fields = dpkg_deb(&["--field"], &daemon_deb);
    assert!(
        fields.contains("Depends: ") && fields.contains("dbus") && fields.contains("adduser"),
        "{fields}"
    );

    // The simulator's package: m2msim and its man pages only.
    let sim = package_files(&sim_deb);
    let mut expected: BTreeMap<String, u32> = installed_sim_files()
        .into_iter()
        .map(|(path, mode)| match path.starts_with("usr/share/man/") {
            true => (format!("{path}.gz"), mode),
            false => (path, mode),
        })
        .collect();
    expected.insert("usr/share/doc/m2mhal-sim/changelog.gz".into(), 0o644);
    expected.insert("usr/share/doc/m2mhal-sim/copyright".into(), 0o644);
    assert_eq!(sim, expected);
    assert_eq!(control_file(&sim_deb, "conffiles"), None);

    // The bridge's package: what make install-mqtt installs, its config a conffile, its user
    // made and put in the group m2mhal, its service installed but not enabled (it needs a
    // broker configured first).
    let bridge_deb = deb("m2mhal-mqtt");
    let mut expected: BTreeMap<String, u32> = installed_bridge_files("lib")
        .into_iter()
        .map(|(path, mode)| match path.starts_with("usr/share/man/") {
            true => (format!("{path}.gz"), mode),
            false => (path, mode),
        })
        .collect();
    expected.insert("usr/share/doc/m2mhal-mqtt/changelog.gz".into(), 0o644);
    expected.insert("usr/share/doc/m2mhal-mqtt/copyright".into(), 0o644);
    assert_eq!(package_files(&bridge_deb), expected);
    assert!(!daemon.keys().any(|path| path.contains("mqtt")));
    assert_eq!(
        control_file(&bridge_deb, "conffiles").as_deref(),
        Some("/etc/m2mhal/m2mhal-mqtt.toml\n")
    );
    let postinst = control_file(&bridge_deb, "postinst").unwrap_or_default();
    assert!(
        postinst.contains("adduser --quiet m2mhal-mqtt m2mhal"),
        "{postinst}"
    );
    assert!(
        postinst.contains("m2mhal-mqtt.service") && !postinst.contains("deb-systemd-invoke"),
        "{postinst}"
    );
}

// ---------------------------------------------------------------------------------------------
// XML (bus policy, polkit policy)

/// Just enough of XML 1.0 to check that a policy file is well-formed and to read it: elements,
/// attributes, character data with the predefined and numeric entities, comments, an XML
/// declaration and a DOCTYPE without internal subset.
mod xml {
    /// An element with its attributes, child elements and character data (concatenated).
    #[derive(Debug)]
    pub struct Element {
        /// Tag name.
        pub name: String,
        /// Attributes in file order.
        pub attributes: Vec<(String, String)>,
        /// Child elements in file order.
        pub children: Vec<Element>,
        /// Character data directly inside the element, entities left as written.
        pub text: String,
    }

    impl Element {
        /// The value of attribute `name`.
        pub fn attribute(&self, name: &str) -> Option<&str> {
            self.attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        }

        /// The child elements called `name`.
        pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
            self.children.iter().filter(move |child| child.name == name)
        }

        /// The trimmed text of the only child called `name`.
        pub fn child_text<'a>(&'a self, name: &'a str) -> Option<&'a str> {
            let mut children = self.children_named(name);
            let child = children.next()?;
            children.next().is_none().then(|| child.text.trim())
        }
    }

    /// Parses a document; the error names the byte offset of the first problem.
    pub fn parse(document: &str) -> Result<Element, String> {
        let mut parser = Parser {
            text: document,
            at: 0,
        };
        parser.prolog()?;
        let root = parser.element()?;
        parser.misc()?;
        if parser.at != document.len() {
            return Err(parser.error("content after the root element"));
        }
        Ok(root)
    }

    struct Parser<'a> {
        text: &'a str,
        at: usize,
    }

    impl Parser<'_> {
        fn rest(&self) -> &str {
            &self.text[self.at..]
        }

        fn error(&self, what: &str) -> String {
            let context: String = self.rest().chars().take(30).collect();
            format!("{what} at byte {}: {context:?}", self.at)
        }

        fn eat(&mut self, prefix: &str) -> bool {
            let found = self.rest().starts_with(prefix);
            if found {
                self.at += prefix.len();
            }
            found
        }

        fn expect(&mut self, prefix: &str) -> Result<(), String> {
            if self.eat(prefix) {
                Ok(())
            } else {
                Err(self.error(&format!("expected {prefix:?}")))
            }
        }

        fn whitespace(&mut self) -> bool {
            let skipped = self.rest().len() - self.rest().trim_start().len();
            self.at += skipped;
            skipped > 0
        }

        /// Text up to `end` (consumed, not returned).
        fn until(&mut self, end: &str) -> Result<&str, String> {
            let length = self
                .rest()
                .find(end)
                .ok_or_else(|| self.error(&format!("no closing {end:?}")))?;
            let found = &self.text[self.at..self.at + length];
            self.at += length + end.len();
            Ok(found)
        }

        fn prolog(&mut self) -> Result<(), String> {
            if self.eat("<?xml") {
                self.until("?>")?;
            }
            self.misc()?;
            if self.eat("<!DOCTYPE") {
                if self.until(">")?.contains('[') {
                    return Err(self.error("internal DTD subsets are not supported"));
                }
                self.misc()?;
            }
            Ok(())
        }

        /// Whitespace and comments.
        fn misc(&mut self) -> Result<(), String> {
            loop {
                self.whitespace();
                if !self.comment()? {
                    return Ok(());
                }
            }
        }

        fn comment(&mut self) -> Result<bool, String> {
            if !self.eat("<!--") {
                return Ok(false);
            }
            let body = self.until("-->")?;
            if body.contains("--") || body.ends_with('-') {
                return Err(self.error("\"--\" inside a comment"));
            }
            Ok(true)
        }

        fn name(&mut self) -> Result<String, String> {
            let length = self
                .rest()
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_:.-".contains(c)))
                .unwrap_or(self.rest().len());
            let name = self.rest()[..length].to_owned();
            if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                return Err(self.error("expected a name"));
            }
            self.at += length;
            Ok(name)
        }

        fn element(&mut self) -> Result<Element, String> {
            self.expect("<")?;
            let name = self.name()?;
            let mut attributes: Vec<(String, String)> = Vec::new();
            loop {
                let spaced = self.whitespace();
                if self.eat("/>") {
                    return Ok(Element {
                        name,
                        attributes,
                        children: Vec::new(),
                        text: String::new(),
                    });
                }
                if self.eat(">") {
                    break;
                }
                if !spaced {
                    return Err(self.error("expected whitespace before an attribute"));
                }
                let key = self.name()?;
                self.whitespace();
                self.expect("=")?;
                self.whitespace();
                let quote = if self.eat("\"") { "\"" } else { "'" };
                if quote == "'" {
                    self.expect("'")?;
                }
                let value = self.until(quote)?.to_owned();
                if value.contains('<') {
                    return Err(self.error("'<' in an attribute value"));
                }
                check_entities(&value)?;
                if attributes.iter().any(|(k, _)| *k == key) {
                    return Err(self.error(&format!("attribute {key} twice")));
                }
                attributes.push((key, value));
            }
            let mut children = Vec::new();
            let mut text = String::new();
            loop {
                if self.eat("</") {
                    let end = self.name()?;
                    if end != name {
                        return Err(self.error(&format!("</{end}> closes <{name}>")));
                    }
                    self.whitespace();
                    self.expect(">")?;
                    return Ok(Element {
                        name,
                        attributes,
                        children,
                        text,
                    });
                }
                if self.comment()? {
                    continue;
                }
                if self.rest().starts_with('<') {
                    children.push(self.element()?);
                    continue;
                }
                let length = self
                    .rest()
                    .find('<')
                    .ok_or_else(|| self.error(&format!("<{name}> is never closed")))?;
                let data = &self.rest()[..length];
                check_entities(data)?;
                text.push_str(data);
                self.at += length;
            }
        }
    }

    /// Every `&` starts a predefined or numeric entity reference.
    fn check_entities(data: &str) -> Result<(), String> {
        for (index, _) in data.match_indices('&') {
            let reference = data[index + 1..].split(';').next().unwrap_or_default();
            let numeric = reference
                .strip_prefix("#x")
                .map(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .or_else(|| {
                    reference
                        .strip_prefix('#')
                        .map(|dec| !dec.is_empty() && dec.bytes().all(|b| b.is_ascii_digit()))
                })
                .unwrap_or(false);
            let predefined = ["amp", "lt", "gt", "quot", "apos"].contains(&reference);
            if !(numeric || predefined) || !data[index..].contains(';') {
                return Err(format!("bad entity reference in {data:?}"));
            }
        }
        Ok(())
    }
}

#[test]
fn xml_checker_rejects_what_is_not_well_formed() {
    let bad = [
        "<a><b></a></b>",
        "<a>",
        "<a x=\"1\" x=\"2\"/>",
        "<a x=1/>",
        "<a>fish & chips</a>",
        "<a><!-- a -- b --></a>",
        "<a/><b/>",
    ];
    for document in bad {
        assert!(xml::parse(document).is_err(), "accepted {document:?}");
    }
    let good =
        xml::parse("<?xml version=\"1.0\"?>\n<!-- c -->\n<a k='v'>x &amp; y<b/></a>\n").unwrap();
    assert_eq!(good.attribute("k"), Some("v"));
    assert_eq!(good.text, "x &amp; y");
    assert_eq!(good.children[0].name, "b");
}

/// The polkit action ids the daemon asks for: `m2mhald::dbus::authorize` maps each of its actions
/// to one of the contract's.
fn daemon_action_ids() -> BTreeSet<String> {
    m2mhal_contract::action::ALL.map(str::to_owned).into()
}

#[test]
fn polkit_policy_declares_exactly_the_api_actions() {
    let policy = xml::parse(&read("dist/polkit/org.m2mhal.Hal1.policy")).expect("well-formed");
    assert_eq!(policy.name, "policyconfig");
    let actions: BTreeMap<&str, &xml::Element> = policy
        .children_named("action")
        .map(|action| (action.attribute("id").expect("action id"), action))
        .collect();
    let ids: BTreeSet<String> = actions.keys().map(|id| id.to_string()).collect();
    let api: BTreeSet<String> = [
        "org.m2mhal.Hal1.Command",
        "org.m2mhal.Hal1.Control",
        "org.m2mhal.Hal1.Messaging",
        "org.m2mhal.Hal1.MessagingRead",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(ids, api);
    assert_eq!(
        daemon_action_ids(),
        api,
        "the daemon asks for other actions"
    );
    assert_eq!(policy.children_named("action").count(), 4, "an id twice");

    for (id, action) in actions {
        for field in ["description", "message"] {
            let value = action.child_text(field).unwrap_or_default();
            assert!(!value.is_empty(), "{id}: no {field}");
        }
        let defaults = action.children_named("defaults").next().expect("defaults");
        assert_eq!(defaults.child_text("allow_any"), Some("no"), "{id}");
        assert_eq!(defaults.child_text("allow_inactive"), Some("no"), "{id}");
        let active = defaults.child_text("allow_active");
        // Raw AT commands and reading messages always ask again; the others remember for a while.
        let expected = if id.ends_with(".Command") || id.ends_with(".MessagingRead") {
            "auth_admin"
        } else {
            "auth_admin_keep"
        };
        assert_eq!(active, Some(expected), "{id}");
    }
}

#[test]
fn the_bridge_may_read_and_send_messages_and_nothing_more() {
    // polkit: its user gets exactly the two messaging actions of the contract.
    let rules = read("dist/polkit/50-m2mhal-mqtt.rules");
    let granted: BTreeSet<String> = m2mhal_contract::action::ALL
        .iter()
        .filter(|action| rules.contains(&format!("\"{action}\"")))
        .map(|action| action.to_string())
        .collect();
    let messaging: BTreeSet<String> = [
        m2mhal_contract::action::MESSAGING,
        m2mhal_contract::action::MESSAGING_READ,
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(granted, messaging);
    assert!(rules.contains("subject.user == \"m2mhal-mqtt\""), "{rules}");
    // The bus delivers Messaging.Received to the group m2mhal, and the bridge's user is in it.
    let sysusers = read("dist/sysusers.d/m2mhal-mqtt.conf");
    assert!(
        sysusers
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>()
                == ["m", "m2mhal-mqtt", "m2mhal"]),
        "{sysusers}"
    );
    let config = xml::parse(&read("dist/dbus/org.m2mhal.Hal1.conf")).expect("well-formed");
    let group_receives = config
        .children_named("policy")
        .filter(|policy| policy.attribute("group") == Some("m2mhal"))
        .flat_map(|policy| policy.children_named("allow"))
        .any(|rule| rule.attribute("receive_member") == Some("Received"));
    assert!(
        group_receives,
        "the group m2mhal receives Messaging.Received"
    );
}

#[test]
fn bus_policy_lets_only_root_own_the_name() {
    let config = xml::parse(&read("dist/dbus/org.m2mhal.Hal1.conf")).expect("well-formed");
    assert_eq!(config.name, "busconfig");
    let rules = |attribute: &str, value: &str| -> Vec<(String, String, String)> {
        config
            .children_named("policy")
            .filter(|policy| policy.attribute(attribute) == Some(value))
            .flat_map(|policy| policy.children.iter())
            .flat_map(|rule| {
                rule.attributes
                    .iter()
                    .map(|(k, v)| (rule.name.clone(), k.clone(), v.clone()))
            })
            .collect()
    };
    let owned = |verb: &str| (verb.to_owned(), "own".to_owned(), BUS_NAME.to_owned());
    let send = |verb: &str| {
        let key = "send_destination".to_owned();
        (verb.to_owned(), key, BUS_NAME.to_owned())
    };
    let root = rules("user", "root");
    assert!(root.contains(&owned("allow")), "{root:?}");
    let default = rules("context", "default");
    assert!(default.contains(&owned("deny")), "{default:?}");
    assert!(default.contains(&send("allow")), "{default:?}");
    let grants = config
        .children_named("policy")
        .flat_map(|policy| policy.children.iter())
        .filter(|rule| rule.name == "allow" && rule.attribute("own").is_some())
        .count();
    assert_eq!(grants, 1, "only the root policy may grant ownership");
}

// ---------------------------------------------------------------------------------------------
// D-Bus: activation file and the shipped policy on a live bus

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_file_names_the_service_and_its_unit() {
    let text = read("dist/dbus/org.m2mhal.Hal1.service");
    let keys: BTreeMap<&str, &str> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .collect();
    assert_eq!(keys["Name"], BUS_NAME);
    assert_eq!(keys["User"], "root");
    let unit = shipped_unit();
    let alias = unit_file::values(&unit, "Install", "Alias");
    assert_eq!([keys["SystemdService"]], alias.as_slice());

    // dbus-daemon itself reads the file: the name must be activatable.
    let dir = tempfile::tempdir().unwrap();
    let services = dir.path().join("services");
    std::fs::create_dir(&services).unwrap();
    std::fs::write(services.join("org.m2mhal.Hal1.service"), &text).unwrap();
    let socket = dir.path().join("bus");
    let config = dir.path().join("bus.conf");
    std::fs::write(
        &config,
        format!(
            "<busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
             <servicedir>{}</servicedir><policy context=\"default\"><allow send_destination=\"*\"/>\
             <allow receive_sender=\"*\"/><allow own=\"*\"/></policy></busconfig>",
            socket.display(),
            services.display()
        ),
    )
    .unwrap();
    let _bus = tokio::process::Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .arg("--nofork")
        .kill_on_drop(true)
        .spawn()
        .expect("dbus-daemon must be installed (package dbus)");
    let address = format!("unix:path={}", socket.display());
    let deadline = tokio::time::Instant::now() + WAIT;
    let connection = loop {
        let builder = zbus::connection::Builder::address(address.as_str());
        if let Ok(connection) = builder.build().await {
            break connection;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the activation test bus never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let dbus = zbus::fdo::DBusProxy::new(&connection).await.unwrap();
    let names = dbus.list_activatable_names().await.unwrap();
    assert!(
        names.iter().any(|name| name.as_str() == BUS_NAME),
        "{names:?}"
    );
}

/// The shipped config without its `plugin_dirs`/`state_dir` lines (the harness writes its own).
fn shipped_config_body() -> String {
    read("dist/m2mhald.toml")
        .lines()
        .filter(|line| !line.starts_with("plugin_dirs") && !line.starts_with("state_dir"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// `busctl --system <args>` as the unprivileged user.
fn busctl_as_nobody(bus: &TestBus, args: &[&str]) -> Output {
    let output = Command::new("busctl")
        .arg("--system")
        .arg("--no-pager")
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .expect("busctl (package systemd)");
    eprintln!(
        "[busctl {args:?}] {:?} {} {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// Waits for the first event line of `m2mctl --json monitor --count 1` running as the
/// unprivileged user, making the daemon signal (an SMS sent as root) until one arrives.
async fn first_signal_seen_by_nobody(
    bus: &TestBus,
    conn: &zbus::Connection,
    device: &str,
) -> String {
    let m2mctl = m2mhal_tests::other_user::ReachableBinary::new("m2mctl");
    let mut monitor = tokio::process::Command::new(m2mctl.path())
        .args(["--json", "monitor", "--count", "1"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .current_dir(m2mctl.dir())
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start m2mctl monitor");
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    // The monitor subscribes asynchronously: signal until it has seen something.
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        send_text(conn, device, "+4915112345678", "ping")
            .await
            .unwrap();
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(250), lines.next_line()).await
        {
            let line = line
                .unwrap()
                .expect("m2mctl monitor ended without an event");
            let status = tokio::time::timeout(WAIT, monitor.wait()).await.unwrap();
            assert!(status.unwrap().success());
            return line;
        }
    }
    panic!("the unprivileged monitor never saw a signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_policy_lets_any_user_read_and_listen_but_not_act() {
    let bus = TestBus::start().await;
    bus.open_to_all_users();
    let mut sim = Sim::start(&["modem"], 1).await;
    let port = sim.path(0);
    // The daemon runs with the shipped default config, plus the simulated modem's port.
    let extra = format!("{}{}", shipped_config_body(), port_config(&port));
    let daemon = Daemon::start(&bus, &extra).await;
    let device = wait_for_device(&daemon.conn, &port, "ready").await;

    // Introspection, properties and the object tree are open to everyone.
    let introspect = busctl_as_nobody(&bus, &["introspect", BUS_NAME, MANAGER_PATH]);
    assert!(introspect.status.success());
    let listing = text(&introspect.stdout);
    assert!(
        listing.contains(MANAGER) && listing.contains(".ListPlugins"),
        "{listing}"
    );
    let state = busctl_as_nobody(&bus, &["get-property", BUS_NAME, &device, DEVICE, "State"]);
    assert!(state.status.success());
    assert_eq!(text(&state.stdout).trim(), "s \"ready\"");
    let objects = busctl_as_nobody(
        &bus,
        &[
            "call",
            BUS_NAME,
            MANAGER_PATH,
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
        ],
    );
    assert!(objects.status.success());
    assert!(text(&objects.stdout).contains(&device));

    // Signals reach everyone.
    let event = first_signal_seen_by_nobody(&bus, &daemon.conn, &device).await;
    assert!(event.contains(&device), "{event}");

    // The bus lets a privileged call through; the daemon refuses it (no polkit to say yes).
    let command = busctl_as_nobody(
        &bus,
        &[
            "call",
            BUS_NAME,
            &device,
            DEVICE,
            "Command",
            "su",
            "AT+CFUN=0",
            "1000",
        ],
    );
    assert!(!command.status.success());
    let refusal = text(&command.stderr);
    assert!(
        refusal.contains("org.m2mhal.Hal1.Command requires authorization"),
        "{refusal}"
    );
    assert_eq!(sim.status(0).await["cfun"], 1);

    // Nobody but root may own the name, not even in the queue behind the daemon.
    let own = busctl_as_nobody(
        &bus,
        &[
            "call",
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            "su",
            BUS_NAME,
            "0",
        ],
    );
    assert!(!own.status.success());
    // busctl shows org.freedesktop.DBus.Error.AccessDenied as its errno text.
    assert!(text(&own.stderr).contains("Access denied"), "{own:?}");
}

// ---------------------------------------------------------------------------------------------
// udev rules

/// udev rules: the subset of the syntax m2mhal's files use, checked strictly, and an evaluator
/// for fake devices.
mod udev {
    use std::collections::BTreeMap;

    /// An operator.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Op {
        /// `==`
        Match,
        /// `!=`
        NoMatch,
        /// `=`
        Assign,
    }

    /// One `KEY{attribute} OP "value"`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Term {
        /// `ENV`, `ATTRS`, `SUBSYSTEM`, ...
        pub key: String,
        /// The part in braces, for `ENV` and `ATTRS`.
        pub attribute: Option<String>,
        /// The operator.
        pub op: Op,
        /// The value without its quotes.
        pub value: String,
    }

    /// One rule (a logical line).
    #[derive(Debug, Clone)]
    pub struct Rule {
        /// 1-based line where it starts.
        pub line: usize,
        /// Its terms, in order.
        pub terms: Vec<Term>,
    }

    impl Rule {
        /// The value of the term `key{attribute} op`, if the rule has it.
        pub fn get(&self, key: &str, attribute: Option<&str>, op: Op) -> Option<&str> {
            self.terms
                .iter()
                .find(|t| t.key == key && t.attribute.as_deref() == attribute && t.op == op)
                .map(|t| t.value.as_str())
        }
    }

    /// Parses rules: every line is blank, a comment, or comma-separated terms; `known_env` lists
    /// the `ENV{}` names the file may use besides private `.M2MHAL_*` ones.
    pub fn parse(text: &str, known_env: &[&str]) -> Result<Vec<Rule>, String> {
        let mut rules = Vec::new();
        let mut lines = text.lines().enumerate();
        while let Some((index, line)) = lines.next() {
            let mut logical = line.to_owned();
            while logical.ends_with('\\') {
                logical.pop();
                let (_, next) = lines.next().ok_or("continuation at end of file")?;
                logical.push_str(next);
            }
            let trimmed = logical.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let at = |what: String| format!("line {}: {what}: {trimmed}", index + 1);
            let terms = terms(trimmed).map_err(at)?;
            for term in &terms {
                check(term, known_env).map_err(at)?;
            }
            rules.push(Rule {
                line: index + 1,
                terms,
            });
        }
        check_labels(&rules)?;
        Ok(rules)
    }

    fn terms(line: &str) -> Result<Vec<Term>, String> {
        let mut terms = Vec::new();
        let mut rest = line;
        loop {
            let key_length = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .unwrap_or(rest.len());
            let key = &rest[..key_length];
            rest = &rest[key_length..];
            let attribute = match rest.strip_prefix('{') {
                Some(inner) => {
                    let (name, after) = inner.split_once('}').ok_or("unclosed {")?;
                    rest = after;
                    Some(name.to_owned())
                }
                None => None,
            };
            rest = rest.trim_start();
            let (op, after) = [("==", Op::Match), ("!=", Op::NoMatch), ("=", Op::Assign)]
                .into_iter()
                .find_map(|(text, op)| rest.strip_prefix(text).map(|after| (op, after)))
                .ok_or(format!("no operator after {key}"))?;
            let value = after
                .trim_start()
                .strip_prefix('"')
                .ok_or(format!("{key}: value is not quoted"))?;
            let (value, after) = value.split_once('"').ok_or("unclosed quote")?;
            terms.push(Term {
                key: key.to_owned(),
                attribute,
                op,
                value: value.to_owned(),
            });
            rest = after.trim_start();
            if rest.is_empty() {
                return Ok(terms);
            }
            rest = rest
                .strip_prefix(',')
                .ok_or("terms must be separated by commas")?
                .trim_start();
        }
    }

    fn check(term: &Term, known_env: &[&str]) -> Result<(), String> {
        let Term {
            key,
            attribute,
            op,
            value,
        } = term;
        let matching = matches!(op, Op::Match | Op::NoMatch);
        let fine = match (key.as_str(), attribute) {
            ("ACTION" | "SUBSYSTEM" | "KERNEL", None) => matching,
            // Parent keys: `!=` on them means something surprising; m2mhal's rules do not use it.
            ("SUBSYSTEMS", None) | ("ATTRS", Some(_)) => *op == Op::Match,
            ("ENV", Some(name)) => {
                if !(known_env.contains(&name.as_str()) || name.starts_with(".M2MHAL_")) {
                    return Err(format!("unknown property ENV{{{name}}}"));
                }
                true
            }
            ("GOTO" | "LABEL", None) => *op == Op::Assign,
            _ => return Err(format!("unexpected key {key}")),
        };
        if !fine {
            return Err(format!("operator {op:?} not allowed for {key}"));
        }
        if value.contains(['$', '%', '[', '\\']) {
            return Err(format!(
                "{key}: substitutions and character classes are not used"
            ));
        }
        Ok(())
    }

    /// Every `GOTO` jumps forward to exactly one `LABEL`.
    fn check_labels(rules: &[Rule]) -> Result<(), String> {
        let mut labels = BTreeMap::new();
        for rule in rules {
            if let Some(label) = rule.get("LABEL", None, Op::Assign)
                && labels.insert(label, rule.line).is_some()
            {
                return Err(format!("line {}: LABEL {label} twice", rule.line));
            }
        }
        for rule in rules {
            if let Some(target) = rule.get("GOTO", None, Op::Assign) {
                match labels.get(target) {
                    Some(line) if *line > rule.line => {}
                    _ => {
                        return Err(format!(
                            "line {}: GOTO {target} has no later LABEL",
                            rule.line
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// `pattern` (with `*`, `?` and `|` alternatives) matches `text`, as udev matches values.
    pub fn glob(pattern: &str, text: &str) -> bool {
        fn one(pattern: &[u8], text: &[u8]) -> bool {
            match (pattern.first(), text.first()) {
                (None, None) => true,
                (Some(b'*'), _) => {
                    one(&pattern[1..], text) || (!text.is_empty() && one(pattern, &text[1..]))
                }
                (Some(b'?'), Some(_)) => one(&pattern[1..], &text[1..]),
                (Some(p), Some(t)) if p == t => one(&pattern[1..], &text[1..]),
                _ => false,
            }
        }
        pattern
            .split('|')
            .any(|alternative| one(alternative.as_bytes(), text.as_bytes()))
    }

    /// A device as udev sees it when the rules run: its own keys, the properties earlier rules
    /// files set, and the chain of parents with their sysfs attributes.
    #[derive(Debug, Clone, Default)]
    pub struct Device {
        /// `add`, `change`, `remove`, ...
        pub action: String,
        /// `tty`, `net`, ...
        pub subsystem: String,
        /// Kernel name, `ttyUSB2`.
        pub kernel: String,
        /// Properties.
        pub env: BTreeMap<String, String>,
        /// Parents, nearest first: subsystem and attributes.
        pub parents: Vec<(String, BTreeMap<String, String>)>,
    }

    impl Device {
        fn term_holds(&self, term: &Term) -> bool {
            let actual = match term.key.as_str() {
                "ACTION" => self.action.as_str(),
                "SUBSYSTEM" => self.subsystem.as_str(),
                "KERNEL" => self.kernel.as_str(),
                "ENV" => self
                    .env
                    .get(term.attribute.as_deref().unwrap_or_default())
                    .map_or("", String::as_str),
                _ => unreachable!("not a device key: {}", term.key),
            };
            glob(&term.value, actual) == (term.op == Op::Match)
        }

        /// All parent keys of a rule hold on one device of the chain (the device itself first).
        fn parents_hold(&self, terms: &[&Term]) -> bool {
            if terms.is_empty() {
                return true;
            }
            let own = (self.subsystem.clone(), BTreeMap::new());
            std::iter::once(&own)
                .chain(&self.parents)
                .any(|(subsystem, attributes)| {
                    terms.iter().all(|term| match term.key.as_str() {
                        "SUBSYSTEMS" => glob(&term.value, subsystem),
                        _ => attributes
                            .get(term.attribute.as_deref().unwrap_or_default())
                            .is_some_and(|value| glob(&term.value, value)),
                    })
                })
        }
    }

    /// Runs `rules` on `device` like udev: matches, then assignments, `GOTO` jumping ahead.
    pub fn apply(rules: &[Rule], device: &mut Device) {
        let mut index = 0;
        while let Some(rule) = rules.get(index) {
            index += 1;
            let (parent, own): (Vec<&Term>, Vec<&Term>) = rule
                .terms
                .iter()
                .filter(|t| t.op != Op::Assign)
                .partition(|t| matches!(t.key.as_str(), "SUBSYSTEMS" | "ATTRS"));
            if !(own.iter().all(|t| device.term_holds(t)) && device.parents_hold(&parent)) {
                continue;
            }
            for term in rule.terms.iter().filter(|t| t.op == Op::Assign) {
                match (term.key.as_str(), term.attribute.as_deref()) {
                    ("ENV", Some(name)) if term.value.is_empty() => {
                        device.env.remove(name);
                    }
                    ("ENV", Some(name)) => {
                        device.env.insert(name.to_owned(), term.value.clone());
                    }
                    ("GOTO", None) => {
                        index = rules
                            .iter()
                            .position(|r| r.get("LABEL", None, Op::Assign) == Some(&term.value))
                            .expect("checked by parse");
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Properties the shipped rules may read or write.
const RULES_ENV: [&str; 7] = [
    "ID_M2MHAL_CANDIDATE",
    "ID_M2MHAL_DRIVER",
    "ID_M2MHAL_IGNORE",
    "ID_MM_DEVICE_IGNORE",
    "ID_USB_INTERFACE_NUM",
    "ID_VENDOR_ID",
    "ID_MODEL_ID",
];

/// Vendor ids of generic USB-serial bridges and boards: FTDI, Silicon Labs, WCH, Prolific,
/// Arduino (two ids).
const GENERIC_VENDORS: [&str; 6] = ["0403", "10c4", "1a86", "067b", "2341", "2a03"];

fn shipped_rules() -> Vec<udev::Rule> {
    udev::parse(&read("udev/70-m2mhal.rules"), &RULES_ENV).expect("70-m2mhal.rules syntax")
}

/// The shipped rules followed by the opt-in `71-m2mhal-exclusive.rules`, as udev runs them once an
/// administrator installed the latter.
fn exclusive_rules() -> Vec<udev::Rule> {
    let text = format!(
        "{}\n{}",
        read("udev/70-m2mhal.rules"),
        read("udev/71-m2mhal-exclusive.rules")
    );
    udev::parse(&text, &RULES_ENV).expect("71-m2mhal-exclusive.rules syntax")
}

#[test]
fn udev_rule_checker_rejects_what_udev_would() {
    let bad = [
        "SUBSYSTEM==\"tty\" ENV{ID_M2MHAL_CANDIDATE}=\"1\"",
        "SUBSYSTEM=\"tty\", ENV{ID_M2MHAL_CANDIDATE}=\"1\"",
        "SUBSYSTEM==tty, ENV{ID_M2MHAL_CANDIDATE}=\"1\"",
        "ENV{ID_M2MHAL_CANDIATE}=\"1\"",
        "ATTRS{idVendor}!=\"0403\", ENV{ID_M2MHAL_CANDIDATE}=\"1\"",
        "GOTO=\"nowhere\"",
        "LABEL=\"x\"\nGOTO=\"x\"",
        "SUBSYSTEM==\"tty\", ENV{ID_M2MHAL_CANDIDATE}=\"1",
    ];
    for text in bad {
        assert!(udev::parse(text, &RULES_ENV).is_err(), "accepted {text:?}");
    }
    assert!(udev::glob("*RockBLOCK*|*Iridium*", "Iridium 9603"));
    assert!(!udev::glob("tty|net", "usb"));
    assert!(udev::glob("?*", "x") && !udev::glob("?*", ""));
}

#[test]
fn udev_rules_parse_and_udevadm_accepts_them() {
    let rules = shipped_rules();
    assert!(rules.len() > 20, "{} rules", rules.len());
    assert!(exclusive_rules().len() > rules.len());
    // udevadm verify exists from systemd 253 on.
    for file in ["udev/70-m2mhal.rules", "udev/71-m2mhal-exclusive.rules"] {
        match Command::new("udevadm")
            .arg("verify")
            .arg(root().join(file))
            .output()
        {
            Err(_) => eprintln!("note: udevadm is not installed; checked the syntax here only"),
            Ok(output) if text(&output.stderr).contains("Unknown command") => {
                eprintln!("note: this udevadm has no verify command (systemd < 253)");
            }
            Ok(output) => assert!(output.status.success(), "{file}: {output:?}"),
        }
    }
}

#[test]
fn udev_rules_tag_only_anchored_ports() {
    let rules = shipped_rules();
    fn matched<'r>(rule: &'r udev::Rule, key: &str, attribute: Option<&str>) -> Option<&'r str> {
        rule.get(key, attribute, udev::Op::Match)
    }
    let sets =
        |rule: &udev::Rule, name: &str| rule.get("ENV", Some(name), udev::Op::Assign).is_some();
    // A family marker needs a vendor and a product id, never a generic bridge's vendor.
    let mut families = BTreeMap::new();
    for rule in rules.iter().filter(|rule| sets(rule, ".M2MHAL_MODEM")) {
        let vendor = matched(rule, "ATTRS", Some("idVendor")).expect("vendor id");
        assert!(
            matched(rule, "ATTRS", Some("idProduct")).is_some(),
            "line {}",
            rule.line
        );
        assert!(!GENERIC_VENDORS.contains(&vendor), "line {}", rule.line);
        let family = rule
            .get("ENV", Some(".M2MHAL_MODEM"), udev::Op::Assign)
            .unwrap();
        assert!(
            families.insert(family, 0).is_none(),
            "family {family} twice"
        );
    }
    // A tag needs a family (then exactly one tty interface per family), a USB product or
    // manufacturer string, or a driver tag set before.
    for rule in rules
        .iter()
        .filter(|rule| sets(rule, "ID_M2MHAL_DRIVER") || sets(rule, "ID_M2MHAL_CANDIDATE"))
    {
        let line = rule.line;
        assert_eq!(matched(rule, "SUBSYSTEM", None), Some("tty"), "line {line}");
        if let Some(family) = matched(rule, "ENV", Some(".M2MHAL_MODEM")) {
            assert!(matched(rule, "ENV", Some("ID_USB_INTERFACE_NUM")).is_some());
            *families.get_mut(family).expect("a known family") += 1;
        } else {
            let named = matched(rule, "ATTRS", Some("product")).is_some()
                || matched(rule, "ATTRS", Some("manufacturer")).is_some()
                || matched(rule, "ENV", Some("ID_M2MHAL_DRIVER")) == Some("?*");
            assert!(named, "line {line} tags ports without naming them");
        }
        if let Some(driver) = rule.get("ENV", Some("ID_M2MHAL_DRIVER"), udev::Op::Assign) {
            assert!(
                ["cellular", "iridium"].contains(&driver),
                "line {line}: {driver}"
            );
        }
    }
    for (family, tags) in families {
        assert_eq!(tags, 1, "family {family}: one AT port per modem");
    }
}

/// What the rules left on a device: driver, candidate, ModemManager ignore.
type Tags = (Option<String>, bool, bool);

fn tags(device: &udev::Device) -> Tags {
    tags_with(&shipped_rules(), device)
}

/// What `rules` left on a device.
fn tags_with(rules: &[udev::Rule], device: &udev::Device) -> Tags {
    let mut device = device.clone();
    udev::apply(rules, &mut device);
    let flag = |name: &str| device.env.get(name).is_some_and(|value| value == "1");
    (
        device.env.get("ID_M2MHAL_DRIVER").cloned(),
        flag("ID_M2MHAL_CANDIDATE"),
        flag("ID_MM_DEVICE_IGNORE"),
    )
}

/// A USB device's node: the interface `interface` of `vendor:product` with its strings.
fn usb_node(
    subsystem: &str,
    kernel: &str,
    (vendor, product): (&str, &str),
    interface: &str,
    (manufacturer, product_name): (&str, &str),
) -> udev::Device {
    let attributes = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let mut env = BTreeMap::new();
    if subsystem == "tty" {
        // What 60-serial.rules (usb_id) sets before 70-m2mhal.rules runs.
        env = attributes(&[
            ("ID_VENDOR_ID", vendor),
            ("ID_MODEL_ID", product),
            ("ID_USB_INTERFACE_NUM", interface),
        ]);
    }
    udev::Device {
        action: "add".to_owned(),
        subsystem: subsystem.to_owned(),
        kernel: kernel.to_owned(),
        env,
        parents: vec![
            (
                "usb".to_owned(),
                attributes(&[("bInterfaceNumber", interface)]),
            ),
            (
                "usb".to_owned(),
                attributes(&[
                    ("idVendor", vendor),
                    ("idProduct", product),
                    ("manufacturer", manufacturer),
                    ("product", product_name),
                ]),
            ),
        ],
    }
}

fn usb_tty(ids: (&str, &str), interface: &str, strings: (&str, &str)) -> udev::Device {
    usb_node("tty", "ttyUSB0", ids, interface, strings)
}

/// Probed by AT identification; ModemManager is not told to keep off.
const CANDIDATE_ONLY: Tags = (None, true, false);

/// Handed to driver `name`; ModemManager is not told to keep off.
fn driver(name: &str) -> Tags {
    (Some(name.to_owned()), true, false)
}

/// Nothing set.
const UNTOUCHED: Tags = (None, false, false);
/// Not m2mhal's port, but part of a modem m2mhal owns under the exclusive rules.
const MM_IGNORED_ONLY: Tags = (None, false, true);

/// The shipped rules never set `ID_MM_DEVICE_IGNORE`: ModemManager keeps the modems it manages
/// (and the uplink). With `71-m2mhal-exclusive.rules` every node of a recognised modem, and every
/// tagged port, gets it.
#[test]
fn only_the_exclusive_rules_keep_modemmanager_off() {
    let shipped = read("udev/70-m2mhal.rules");
    let assignments: Vec<&str> = shipped
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains("ID_MM_"))
        .collect();
    assert!(assignments.is_empty(), "{assignments:?}");
    let quectel = ("Quectel", "EG25-G");
    let exclusive = exclusive_rules();
    let cases = [
        (
            "EC25 AT port",
            usb_tty(("2c7c", "0125"), "02", quectel),
            (Some("cellular".to_owned()), true, true),
        ),
        (
            "EC25 DIAG port",
            usb_tty(("2c7c", "0125"), "00", quectel),
            MM_IGNORED_ONLY,
        ),
        (
            "EC25 network interface",
            usb_node("net", "wwan0", ("2c7c", "0125"), "04", quectel),
            MM_IGNORED_ONLY,
        ),
        (
            "EC25 QMI control",
            usb_node("usbmisc", "cdc-wdm0", ("2c7c", "0125"), "04", quectel),
            MM_IGNORED_ONLY,
        ),
        (
            "EC20 on Qualcomm's id",
            usb_tty(("05c6", "9215"), "02", quectel),
            (None, true, true),
        ),
        (
            "plain FTDI cable",
            usb_tty(("0403", "6001"), "00", ("FTDI", "FT232R USB UART")),
            UNTOUCHED,
        ),
    ];
    for (what, device, expected) in cases {
        assert_eq!(tags_with(&exclusive, &device), expected, "{what}");
        let shipped_only = (expected.0, expected.1, false);
        assert_eq!(tags(&device), shipped_only, "{what} (shipped rules only)");
    }
    // A modem given to ModemManager by a local rule stays its own.
    let mut ignored = usb_tty(("2c7c", "0125"), "02", quectel);
    ignored.env.insert("ID_M2MHAL_IGNORE".into(), "1".into());
    assert_eq!(tags_with(&exclusive, &ignored), UNTOUCHED);
}

#[test]
fn udev_rules_tag_the_at_port_of_known_modems() {
    let quectel = ("Quectel", "EG25-G");
    let cases = [
        // (what, device, tags)
        (
            "EC25 AT port",
            usb_tty(("2c7c", "0125"), "02", quectel),
            driver("cellular"),
        ),
        (
            "EC25 DIAG port",
            usb_tty(("2c7c", "0125"), "00", quectel),
            UNTOUCHED,
        ),
        (
            "EC25 second AT port",
            usb_tty(("2c7c", "0125"), "03", quectel),
            UNTOUCHED,
        ),
        (
            "EC25 network interface",
            usb_node("net", "wwan0", ("2c7c", "0125"), "04", quectel),
            UNTOUCHED,
        ),
        (
            "EC25 QMI control",
            usb_node("usbmisc", "cdc-wdm0", ("2c7c", "0125"), "04", quectel),
            UNTOUCHED,
        ),
        (
            "BG96 AT port",
            usb_tty(("2c7c", "0296"), "02", quectel),
            driver("cellular"),
        ),
        (
            "EC20 on Qualcomm's id",
            usb_tty(("05c6", "9215"), "02", quectel),
            CANDIDATE_ONLY,
        ),
        (
            "SIM7600 AT port",
            usb_tty(("1e0e", "9001"), "02", ("SimTech", "SimTech")),
            driver("cellular"),
        ),
        (
            "SIM7600 NMEA port",
            usb_tty(("1e0e", "9001"), "01", ("SimTech", "SimTech")),
            UNTOUCHED,
        ),
        (
            "LARA-R2 AT port",
            usb_tty(("1546", "110a"), "00", ("u-blox", "LARA")),
            driver("cellular"),
        ),
        (
            "u-blox GNSS receiver",
            usb_tty(("1546", "01a8"), "00", ("u-blox", "u-blox GNSS")),
            UNTOUCHED,
        ),
        (
            "LE910C1 AT port",
            usb_tty(("1bc7", "1201"), "04", ("Telit", "LE910C1")),
            driver("cellular"),
        ),
        (
            "ME910G1 AT port",
            usb_tty(("1bc7", "110a"), "01", ("Telit", "ME910")),
            driver("cellular"),
        ),
        (
            "EM7455 AT port",
            usb_tty(("1199", "9071"), "03", ("Sierra", "EM7455")),
            driver("cellular"),
        ),
        (
            "EM7455 NMEA port",
            usb_tty(("1199", "9071"), "02", ("Sierra", "EM7455")),
            UNTOUCHED,
        ),
        (
            "RockBLOCK",
            usb_tty(("0403", "6015"), "00", ("FTDI", "RockBLOCK 9603")),
            driver("iridium"),
        ),
        (
            "plain FTDI cable",
            usb_tty(("0403", "6001"), "00", ("FTDI", "FT232R USB UART")),
            UNTOUCHED,
        ),
        (
            "CP2102",
            usb_tty(
                ("10c4", "ea60"),
                "00",
                ("Silicon Labs", "CP2102 USB to UART Bridge Controller"),
            ),
            UNTOUCHED,
        ),
        (
            "CH340",
            usb_tty(("1a86", "7523"), "00", ("", "USB Serial")),
            UNTOUCHED,
        ),
        (
            "Arduino Uno",
            usb_tty(("2341", "0043"), "00", ("Arduino (www.arduino.cc)", "")),
            UNTOUCHED,
        ),
        (
            "unknown Quectel product",
            usb_tty(("2c7c", "6005"), "02", quectel),
            UNTOUCHED,
        ),
    ];
    for (what, device, expected) in cases {
        assert_eq!(tags(&device), expected, "{what}");
    }
}

#[test]
fn udev_rules_respect_local_rules_and_other_events() {
    let ec25 = usb_tty(("2c7c", "0125"), "02", ("Quectel", "EG25-G"));
    // Given to ModemManager by a local rule that ran before: nothing at all.
    let mut ignored = ec25.clone();
    ignored.env.insert("ID_M2MHAL_IGNORE".into(), "1".into());
    assert_eq!(tags(&ignored), UNTOUCHED);
    // Removal events are left alone.
    let mut removed = ec25.clone();
    removed.action = "remove".into();
    assert_eq!(tags(&removed), UNTOUCHED);
    // Change events are tagged like add events (udev forgets properties between events).
    let mut changed = ec25;
    changed.action = "change".into();
    assert_eq!(tags(&changed), driver("cellular"));

    // A platform UART is never tagged by the shipped rules...
    let uart = udev::Device {
        action: "add".into(),
        subsystem: "tty".into(),
        kernel: "ttymxc1".into(),
        ..Default::default()
    };
    assert_eq!(tags(&uart), UNTOUCHED);
    // ...but one a local rule tagged is m2mhal's.
    let mut local = uart;
    local
        .env
        .insert("ID_M2MHAL_DRIVER".into(), "cellular".into());
    assert_eq!(tags(&local), driver("cellular"));
}

#[test]
fn udev_readme_examples_parse() {
    let readme = read("udev/README.md");
    let blocks: Vec<&str> = readme
        .split("```udev\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or_default())
        .collect();
    assert!(!blocks.is_empty(), "README.md has udev examples");
    let mut known = RULES_ENV.to_vec();
    known.extend(["ID_SERIAL_SHORT", "ID_PATH"]);
    for block in blocks {
        let rules = udev::parse(block, &known).expect("README example syntax");
        assert!(!rules.is_empty());
    }
}
