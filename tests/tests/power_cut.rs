//! Power cuts (issue 9, item 2): `m2mhald` killed with SIGKILL again and again while SMS go out
//! (multipart and single), SMS come in and SBD messages go out, restarted each time. At the end
//! nothing is lost, no SBD message reached the gateway twice, no SMS part went twice when the
//! daemon had the modem's answer to it, the SIM storage is empty and every restart got ready.
//!
//! Kill points are events, never delays, so a run is reproducible: the simulated terminal's
//! `session-start` (the daemon wrote `AT+SBDIX`; the terminal finishes the session after the kill,
//! and a scripted failure makes some of those sessions fail), and the modem's `sms-sent` (it
//! accepted a part and is writing its `+CMGS` answer, which the daemon may or may not read).
//!
//! Each cycle is one of three kinds, in turn: SBD killed during its session; a 3-part SMS killed
//! after the modem accepted its second part; an incoming SMS plus a single-part SMS killed after
//! the modem accepted it. After each restart the test waits until what the killed daemon left is
//! out, so each cycle starts from rest and a run takes the same path every time.
//!
//! Two tests share this: one settles the serial lines itself between kill and restart (what the
//! daemon's AT resynchronisation and ESC at initialisation do, issue 9's other part), so it
//! checks the messages' fate alone; the other leaves the lines as the killed daemon left them
//! and needs that part of the daemon (it is ignored until then).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use m2mhal_tests::power_cut::{kill_hard, settle_modem_line};
use m2mhal_tests::*;
use serde_json::Value;

/// Sessions take long enough for a kill to land inside one.
const SESSION_DELAY_MS: &str = "300";
/// No power budget between sessions; retries after a failed session wait 1 s at most.
const IRIDIUM_OPTIONS: &str = "[drivers.iridium]\nmin_session_interval = 0\nmax_backoff = 1\n";
/// Issue 9's bound for a restart until the devices are ready (about 0.2 s here).
const READY_WITHIN: Duration = Duration::from_secs(5);
/// Where SMS go.
const PEER: &str = "+4915112345678";
/// Who sends the incoming SMS.
const SENDER: &str = "+4917612345678";
/// MO status 18 (connection lost): a session killed while it runs fails at the gateway.
const FAILED_SESSION: &str = "mo-status 18";

/// What the test does to the serial lines between a kill and the restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// Nothing: the restarted daemon finds whatever the killed one left (a stale `+SBDIX`
    /// answer, a modem at the `> ` prompt), as after a real power cut of the host alone.
    AsLeft,
    /// Stale answers are read and an open prompt is ended before the restart (the terminal's
    /// pty is replaced, its state kept), so that only the messages' fate is under test.
    Settled,
}

/// The simulators, the daemon and what went out.
struct Rig {
    bus: TestBus,
    dir: tempfile::TempDir,
    config: String,
    modem: Sim,
    terminal: Sim,
    modem_link: PathBuf,
    modem_imei: String,
    daemon: Option<Daemon>,
    /// Every `sms-sent` event taken so far, oldest first.
    sms_sent: Vec<Value>,
    /// The slowest restart, until both devices were ready.
    slowest_ready: Duration,
}

/// A 3-part GSM 7-bit text (405 characters, 153 per part) that names its cycle in every part.
fn long_text(cycle: usize) -> String {
    format!("multi-{cycle:02} ").repeat(45)
}

/// The device `Id` of a modem or terminal with this IMEI.
fn device_id(imei: &str) -> String {
    format!("imei:{imei}")
}

impl Rig {
    /// Starts the simulators (their ports behind links in `links`) and the daemon; returns the
    /// rig and the object paths of the modem and the terminal.
    async fn start(links: &Path) -> (Rig, (String, String)) {
        let bus = TestBus::start().await;
        let modem_link = links.join("modem");
        let terminal_link = links.join("terminal");
        let modem_link_arg = modem_link.display().to_string();
        let terminal_link_arg = terminal_link.display().to_string();
        let modem = Sim::start(&["modem", "--link", &modem_link_arg], 1).await;
        let terminal = Sim::start(
            &[
                "iridium",
                "--session-delay",
                SESSION_DELAY_MS,
                "--link",
                &terminal_link_arg,
            ],
            1,
        )
        .await;
        let modem_imei = modem.ready[0]["imei"].as_str().expect("imei").to_owned();
        let config = format!(
            "[[port]]\npath = \"{modem_link_arg}\"\ndriver = \"cellular\"\n\n\
             [[port]]\npath = \"{terminal_link_arg}\"\ndriver = \"iridium\"\n\n{IRIDIUM_OPTIONS}"
        );
        let mut rig = Rig {
            bus,
            dir: daemon_dir(),
            config,
            modem,
            terminal,
            modem_link,
            modem_imei,
            daemon: None,
            sms_sent: Vec::new(),
            slowest_ready: Duration::ZERO,
        };
        let paths = rig.restart().await;
        (rig, paths)
    }

    fn conn(&self) -> &zbus::Connection {
        &self.daemon.as_ref().expect("the daemon runs").conn
    }

    fn terminal_id(&self) -> String {
        device_id(self.terminal.ready[0]["imei"].as_str().expect("imei"))
    }

    /// Starts the daemon on the same state, waits until both devices are ready, then until
    /// the messages the killed daemon left are out (so that each cycle starts from rest);
    /// returns the object paths (modem, terminal).
    async fn restart(&mut self) -> (String, String) {
        let started = Instant::now();
        let daemon = Daemon::start_in(&self.bus, self.dir.path(), &self.config).await;
        let modem = wait_for_device_id(&daemon.conn, &device_id(&self.modem_imei), "ready").await;
        let terminal = wait_for_device_id(&daemon.conn, &self.terminal_id(), "ready").await;
        self.slowest_ready = self.slowest_ready.max(started.elapsed());
        for path in [&modem, &terminal] {
            wait_for_property(&daemon.conn, path, MESSAGING, "Pending", |pending: &u32| {
                *pending == 0
            })
            .await;
        }
        self.daemon = Some(daemon);
        let resent = self.modem.events_so_far("sms-sent").await;
        self.sms_sent.extend(resent);
        self.terminal.events_so_far("session-start").await;
        (modem, terminal)
    }

    async fn kill(&mut self, lines: Lines) {
        kill_hard(self.daemon.take().expect("the daemon runs")).await;
        if lines == Lines::Settled {
            // The terminal ends the session first (its port is busy until then).
            self.terminal.hangup(0).await;
            settle_modem_line(&self.modem_link, &self.modem_imei).await;
        }
    }

    async fn next_sms_sent(&mut self) {
        let sent = self.modem.expect_event("sms-sent").await;
        self.sms_sent.push(sent);
    }

    /// Sends an SBD message through the terminal at `path` and returns once its session runs
    /// (`failing`: the gateway fails it); returns the message id.
    async fn send_sbd_into_a_session(&mut self, path: &str, text: &str, failing: bool) -> String {
        if failing {
            self.terminal.ok(FAILED_SESSION).await;
        }
        let id = send(self.conn(), path, "", text.as_bytes(), &encoding("text"))
            .await
            .expect("Send SBD");
        self.terminal.expect_event("session-start").await;
        id
    }

    /// One cycle of traffic ending in a kill.
    async fn cycle(&mut self, cycle: usize, paths: &(String, String), lines: Lines) {
        let (modem, terminal) = paths;
        match cycle % 3 {
            0 => {
                let text = format!("sbd-{cycle:02}");
                self.send_sbd_into_a_session(terminal, &text, cycle % 2 == 1)
                    .await;
            }
            1 => {
                send_text(self.conn(), modem, PEER, &long_text(cycle))
                    .await
                    .expect("Send multipart SMS");
                self.next_sms_sent().await;
                self.next_sms_sent().await;
            }
            _ => {
                self.modem.ok(&format!("sms {SENDER} in-{cycle:02}")).await;
                send_text(self.conn(), modem, PEER, &format!("single-{cycle:02}"))
                    .await
                    .expect("Send SMS");
                self.next_sms_sent().await;
            }
        }
        self.kill(lines).await;
    }
}

/// Runs `cycles` kill cycles, then checks everything that went out and came in.
async fn survive_kills(cycles: usize, lines: Lines) {
    let links = tempfile::tempdir().expect("link dir");
    let (mut rig, mut paths) = Rig::start(links.path()).await;
    for cycle in 0..cycles {
        rig.cycle(cycle, &paths, lines).await;
        paths = rig.restart().await;
    }
    assert!(
        rig.slowest_ready < READY_WITHIN,
        "a restart took {:?} until both devices were ready",
        rig.slowest_ready
    );
    let (modem, terminal) = &paths;
    // Every outgoing message is sent; every incoming one is stored once.
    let mut incoming = Vec::new();
    for path in [modem, terminal] {
        for message in list_messages(rig.conn(), path).await {
            let direction: String = field(&message, "direction");
            let state: String = field(&message, "state");
            let text: String = field(&message, "text");
            if direction == "in" {
                incoming.push(text);
            } else {
                assert_eq!(state, "sent", "{text}: {message:?}");
            }
        }
    }
    incoming.sort();
    let expected_in: Vec<String> = (0..cycles)
        .filter(|cycle| cycle % 3 == 2)
        .map(|cycle| format!("in-{cycle:02}"))
        .collect();
    assert_eq!(incoming, expected_in, "each incoming SMS stored once");

    // The gateway got each SBD message exactly once.
    let mut at_gateway: Vec<String> = rig
        .terminal
        .gateway_mo(0)
        .await
        .iter()
        .map(|message| message["text"].as_str().expect("text").to_owned())
        .collect();
    at_gateway.sort();
    let expected_sbd: Vec<String> = (0..cycles)
        .filter(|cycle| cycle % 3 == 0)
        .map(|cycle| format!("sbd-{cycle:02}"))
        .collect();
    assert_eq!(
        at_gateway, expected_sbd,
        "each SBD message at the gateway once"
    );

    let more = rig.modem.events_so_far("sms-sent").await;
    rig.sms_sent.extend(more);
    check_sms(&rig.sms_sent, cycles);

    rig.modem.wait_stored(0, 0).await;
}

/// What identifies a part on the air: its concatenation reference, sequence number and text
/// (a restarted driver may use a reference again for another message).
fn part_key(sent: &Value) -> String {
    let text = sent["text"].as_str().expect("text");
    match sent.get("concat") {
        Some(concat) => format!("{}/{} {text}", concat["reference"], concat["sequence"]),
        None => text.to_owned(),
    }
}

/// Every SMS arrived whole; a part went twice only right after itself (the modem accepted it
/// and the daemon was killed before it could record the answer), at most once per SMS kill;
/// each multipart message went under one concatenation reference.
fn check_sms(sent: &[Value], cycles: usize) {
    let mut seen = BTreeSet::new();
    let mut repeats = 0;
    for (at, part) in sent.iter().enumerate() {
        let key = part_key(part);
        if !seen.insert(key.clone()) {
            let previous = at.checked_sub(1).map(|before| part_key(&sent[before]));
            assert_eq!(
                previous.as_deref(),
                Some(key.as_str()),
                "part {key} went again although the daemon had the modem's answer to it"
            );
            repeats += 1;
        }
    }
    let sms_kills = (0..cycles).filter(|cycle| cycle % 3 != 0).count();
    assert!(
        repeats <= sms_kills,
        "{repeats} parts went twice in {sms_kills} kills"
    );

    // Parts are grouped into messages in the order they went: a part 1 under a reference
    // starts a message unless it repeats the part 1 of the message under that reference (a new
    // driver instance may use a reference again for a new message).
    let mut messages: Vec<BTreeMap<u64, String>> = Vec::new();
    let mut current: BTreeMap<String, usize> = BTreeMap::new();
    let mut singles = BTreeSet::new();
    for part in sent {
        let text = part["text"].as_str().expect("text").to_owned();
        let Some(concat) = part.get("concat") else {
            singles.insert(text);
            continue;
        };
        let reference = concat["reference"].to_string();
        let sequence = concat["sequence"].as_u64().expect("sequence");
        let known = current
            .get(&reference)
            .filter(|at| sequence != 1 || messages[**at].get(&1) == Some(&text));
        let at = match known {
            Some(at) => *at,
            None => {
                messages.push(BTreeMap::new());
                current.insert(reference, messages.len() - 1);
                messages.len() - 1
            }
        };
        messages[at].insert(sequence, text);
    }
    let mut multipart: Vec<String> = messages
        .iter()
        .map(|parts| parts.values().cloned().collect())
        .collect();
    multipart.sort();
    let mut expected_multipart: Vec<String> = (0..cycles)
        .filter(|cycle| cycle % 3 == 1)
        .map(long_text)
        .collect();
    expected_multipart.sort();
    assert_eq!(
        multipart, expected_multipart,
        "each multipart SMS whole under one reference"
    );
    let expected_singles: BTreeSet<String> = (0..cycles)
        .filter(|cycle| cycle % 3 == 2)
        .map(|cycle| format!("single-{cycle:02}"))
        .collect();
    assert_eq!(singles, expected_singles);
}

/// Kills the daemon while the session of an SBD message runs (`failing`: the gateway fails it),
/// restarts it and returns the message's `info` once it is sent, and what the gateway got.
async fn sbd_killed_in_its_session(failing: bool) -> (HashMap<String, String>, Vec<Value>) {
    let links = tempfile::tempdir().expect("link dir");
    let (mut rig, (_, terminal)) = Rig::start(links.path()).await;
    let id = rig
        .send_sbd_into_a_session(&terminal, "report", failing)
        .await;
    rig.kill(Lines::Settled).await;
    let (_, terminal) = rig.restart().await;
    let message = list_messages(rig.conn(), &terminal)
        .await
        .into_iter()
        .find(|message| field::<String>(message, "id") == id)
        .expect("the message is listed");
    assert_eq!(field::<String>(&message, "state"), "sent");
    (field(&message, "info"), rig.terminal.gateway_mo(0).await)
}

/// Issue 9: the terminal completed the session the killed daemon started; the restarted one
/// sent the message again (MOMSN 3 and 4 at the gateway) and said `attempts=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sbd_session_completed_after_the_kill_is_not_sent_again() {
    let (info, at_gateway) = sbd_killed_in_its_session(false).await;
    assert_eq!(at_gateway.len(), 1, "{at_gateway:?}");
    assert_eq!(at_gateway[0]["text"], "report");
    assert_eq!(info["momsn"], at_gateway[0]["momsn"].to_string());
    assert_eq!(info["attempts"], "1");
}

/// A session that failed at the gateway after the kill: the message goes again, and its
/// attempts count both sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sbd_session_failed_after_the_kill_goes_again_as_attempt_2() {
    let (info, at_gateway) = sbd_killed_in_its_session(true).await;
    assert_eq!(at_gateway.len(), 1, "{at_gateway:?}");
    assert_eq!(info["momsn"], at_gateway[0]["momsn"].to_string());
    assert_eq!(info["attempts"], "2");
}

/// The messages' fate across 30 kills (issue 9's figure; about 12 s here: each cycle is one
/// restart, and 300 ms sessions), 10 of each kind, 5 of the SBD sessions failing at the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_go_exactly_once_across_thirty_kills() {
    survive_kills(30, Lines::Settled).await;
}

/// Issue 9's field test: the same 30 kills, and the restarted daemon finds the lines as the
/// killed one left them. Needs the AT-channel resynchronisation and the ESC of an open prompt at
/// initialisation (issue 9, item 2, the other engineer's part): without them a restart after
/// a kill during a session reads every answer one behind, and one after a kill at the prompt
/// never gets an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_kills_with_traffic_flowing() {
    survive_kills(30, Lines::AsLeft).await;
}
