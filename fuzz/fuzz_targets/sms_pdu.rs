//! Fuzzes the SMS PDU decoders with arbitrary bytes: they must return, never panic. Each
//! decoder reads the input as a PDU with its SCA prefix, as modems give it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|pdu: &[u8]| {
    let _ = m2mhal_sms::message_type(pdu);
    let _ = m2mhal_sms::decode_deliver(pdu);
    let _ = m2mhal_sms::decode_submit(pdu);
    let _ = m2mhal_sms::decode_status_report(pdu);
});
