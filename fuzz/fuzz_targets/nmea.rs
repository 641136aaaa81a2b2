//! Feeds arbitrary bytes to the NMEA parser and fix assembler of `m2mhal-nmea` line by line,
//! and in arbitrary chunks with arbitrary time steps through the whole GNSS driver: nothing may
//! panic, and every fix the driver reports is a sane one (a fix with a mode has a position in range; no fix has none).

#![no_main]

use libfuzzer_sys::fuzz_target;
use m2mhal_driver_gnss::GnssDriver;
use m2mhal_nmea::{FixAssembler, parse_line};
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{Effect, Event, FixMode, Input, OpenConfig};

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (sizes, bytes) = input;
    let mut assembler = FixAssembler::new();
    for line in bytes.split(|&b| b == b'\n') {
        if let Ok(nmea) = parse_line(line) {
            let _ = assembler.push(&nmea, 1_700_000_000);
        }
    }
    let _ = assembler.current(1_700_000_000);
    let Ok(mut driver) = GnssDriver::open(OpenConfig {
        port: "/dev/ttyACM0".into(),
        ..OpenConfig::default()
    }) else {
        return;
    };
    let mut now_ms = 0;
    let mut effects = driver.handle(Input {
        now_ms,
        unix_time: 1_700_000_000,
        event: Event::Opened,
    });
    let mut rest = &bytes[..];
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(*size).clamp(1, rest.len()));
        rest = tail;
        now_ms += u64::from(*size) * 37;
        for event in [Event::Rx(chunk.to_vec()), Event::Timer(u32::from(*size % 3))] {
            effects.extend(driver.handle(Input {
                now_ms,
                unix_time: 1_700_000_000 + now_ms / 1000,
                event,
            }));
        }
    }
    for effect in effects {
        if let Effect::Location(update) = effect
            && let Some(fix) = update.fix
        {
            if fix.mode == FixMode::None {
                assert!(fix.latitude.is_nan() && fix.longitude.is_nan() && fix.time == 0);
            } else {
                assert!(fix.latitude.abs() <= 90.0 && fix.longitude.abs() <= 180.0);
            }
        }
    }
});
