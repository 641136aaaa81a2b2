//! `m2mctl` against the real daemon: tables and `--json` carry the simulator's values, and the
//! exit codes are the documented ones (0 success, 1 failed, 2 usage, 3 no bus/daemon, 4 no device).

use m2mhal_tests::*;
use serde_json::Value;

const PEER: &str = "+4915112345678";

/// Runs `m2mctl` on the rig's bus; it must succeed.
async fn ctl_ok(rig: &ModemRig, args: &[&str]) -> String {
    let output = m2mctl(&rig.bus.address, args).await;
    assert_eq!(output.code, Some(0), "m2mctl {args:?}: {output:?}");
    output.stdout
}

/// Runs `m2mctl --json ...`; its output parsed.
async fn ctl_json(rig: &ModemRig, args: &[&str]) -> Value {
    let args: Vec<&str> = ["--json"].iter().chain(args).copied().collect();
    let stdout = ctl_ok(rig, &args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_show_describe_the_modem() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    rig.sim.ok("operator CLI Net").await;
    let refreshed: Result<(), _> = call(rig.conn(), &rig.path, SIGNAL, "Refresh", &()).await;
    refreshed.unwrap();

    let table = ctl_ok(&rig, &["list"]).await;
    let row = table
        .lines()
        .find(|line| line.contains("imei:356938035643809"))
        .unwrap_or_else(|| panic!("no row for the modem: {table}"));
    for cell in [
        "cellular-modem",
        "cellular",
        "ready",
        "EG25",
        rig.port.as_str(),
    ] {
        assert!(row.contains(cell), "{cell} missing in {row:?}");
    }

    let listed = ctl_json(&rig, &["list"]).await;
    let devices = listed.as_array().unwrap();
    assert_eq!(devices.len(), 1, "{listed}");
    assert_eq!(devices[0]["path"], rig.path.as_str());
    let device = &devices[0]["interfaces"][DEVICE];
    assert_eq!(device["Id"], "imei:356938035643809");
    assert_eq!(device["State"], "ready");
    assert_eq!(device["Port"], rig.port.as_str());
    assert_eq!(devices[0]["interfaces"][SIGNAL]["Operator"], "CLI Net");

    // Every way of naming the device finds it.
    let number = rig.path.rsplit('/').next().unwrap().to_owned();
    for name in [
        number.as_str(),
        rig.path.as_str(),
        "imei:356938035643809",
        rig.port.as_str(),
    ] {
        let shown = ctl_json(&rig, &["show", name]).await;
        assert_eq!(shown["path"], rig.path.as_str(), "show {name}");
        assert_eq!(shown["interfaces"][DEVICE]["Model"], "EG25");
        assert_eq!(shown["interfaces"][MESSAGING]["MaxPayload"], 1200);
    }
    let shown = ctl_ok(&rig, &["show", &number]).await;
    for text in ["Quectel", "EG25GGBR07A08M2G", "356938035643809", "CLI Net"] {
        assert!(shown.contains(text), "{text} missing in {shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_messages() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let port = rig.port.clone();
    let sent = ctl_ok(&rig, &["send", &port, PEER, "from the shell", "--wait"]).await;
    // The id, then what happened.
    let (id, outcome) = sent.trim().split_once('\n').expect("two lines");
    let id = id.to_owned();
    assert!(!id.is_empty());
    assert!(outcome.starts_with("sent via imei:"), "{sent}");
    assert_eq!(
        rig.sim.expect_event("sms-sent").await["text"],
        "from the shell"
    );

    let sent = ctl_json(&rig, &["send", "--binary", &port, PEER, "CAFE0042"]).await;
    let binary_id = sent["id"].as_str().unwrap().to_owned();
    let on_air = rig.sim.expect_event("sms-sent").await;
    assert_eq!(on_air["data_hex"], "CAFE0042");

    let mut received = subscribe(rig.conn(), MESSAGING, "Received").await;
    rig.sim.ok(&format!("sms {PEER} to the shell")).await;
    next_signal(&mut received, |_: &ReceivedBody| true).await;

    let table = ctl_ok(&rig, &["messages", &port]).await;
    for text in ["from the shell", "to the shell", PEER] {
        assert!(table.contains(text), "{text} missing in {table}");
    }
    let messages = ctl_json(&rig, &["messages", &port]).await;
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let by_id = |id: &str| {
        messages
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no message {id}"))
            .clone()
    };
    assert_eq!(by_id(&id)["text"], "from the shell");
    assert_eq!(by_id(&id)["direction"], "out");
    let binary = by_id(&binary_id);
    assert_eq!(
        binary["payload"].as_str().unwrap().to_lowercase(),
        "cafe0042"
    );
    let incoming = messages.iter().find(|m| m["direction"] == "in").unwrap();
    assert_eq!(incoming["text"], "to the shell");
    assert_eq!(incoming["peer"], PEER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_lists_the_cellular_driver() {
    let rig = ModemRig::start(&["modem"], "").await;
    let plugin_path = rig
        .daemon
        .dir
        .join("plugins/libm2mhal_driver_cellular.so")
        .display()
        .to_string();
    let table = ctl_ok(&rig, &["plugins"]).await;
    assert!(
        table.contains("cellular-modem") && table.contains(&plugin_path),
        "{table}"
    );
    let plugins = ctl_json(&rig, &["plugins"]).await;
    let cellular = plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "cellular"))
        .cloned();
    assert_eq!(
        cellular,
        Some(serde_json::json!({
            "abi": 1,
            "kinds": ["cellular-modem"],
            "name": "cellular",
            "path": plugin_path,
            "version": env!("CARGO_PKG_VERSION"),
        }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_kernel_event_adds_and_removes_a_port() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    let port = sim.path(0);
    let name = port.rsplit('/').next().unwrap().to_owned();
    let added = m2mctl(
        &bus.address,
        &[
            "report-kernel-event",
            "add",
            &name,
            "--devnode",
            &port,
            "--property",
            "ID_M2MHAL_CANDIDATE=1",
        ],
    )
    .await;
    assert_eq!(added.code, Some(0), "{added:?}");
    let path = wait_for_device(&daemon.conn, &port, "ready").await;
    let waited = m2mctl(&bus.address, &["wait", &port, "--timeout", "5"]).await;
    assert_eq!(waited.code, Some(0), "{waited:?}");

    let removed = m2mctl(
        &bus.address,
        &[
            "--json",
            "report-kernel-event",
            "remove",
            &name,
            "--devnode",
            &port,
        ],
    )
    .await;
    assert_eq!(removed.code, Some(0), "{removed:?}");
    wait_for_property::<String>(&daemon.conn, &path, DEVICE, "State", |s| s == "offline").await;

    let refused = m2mctl(
        &bus.address,
        &[
            "report-kernel-event",
            "add",
            "null",
            "--devnode",
            "/dev/null",
        ],
    )
    .await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("InvalidArgument"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_the_documentation() {
    let rig = ModemRig::start(&["modem"], "").await;
    let address = rig.bus.address.clone();
    for json in [false, true] {
        let with = |args: &[&'static str]| -> Vec<&'static str> {
            if json {
                ["--json"].iter().chain(args).copied().collect()
            } else {
                args.to_vec()
            }
        };
        // 4: no device matches.
        let unknown = m2mctl(&address, &with(&["show", "imei:000000000000000"])).await;
        assert_eq!(unknown.code, Some(4), "{unknown:?}");
        assert!(unknown.stdout.is_empty());
        // 1: the daemon refused the operation, with its error on stderr.
        let refused = m2mctl(&address, &with(&["send", "0", "abc", "hello"])).await;
        assert_eq!(refused.code, Some(1), "{refused:?}");
        assert!(refused.stderr.contains("InvalidArgument"), "{refused:?}");
        // 2: usage error.
        let usage = m2mctl(&address, &with(&["send"])).await;
        assert_eq!(usage.code, Some(2), "{usage:?}");
    }
    // 3: no bus at all, or a bus without m2mhald.
    let no_bus = m2mctl("unix:path=/nonexistent/bus", &["list"]).await;
    assert_eq!(no_bus.code, Some(3), "{no_bus:?}");
    let empty_bus = TestBus::start().await;
    let no_daemon = m2mctl(&empty_bus.address, &["--json", "list"]).await;
    assert_eq!(no_daemon.code, Some(3), "{no_daemon:?}");
}
