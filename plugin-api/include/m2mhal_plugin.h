/*
 * m2mhal driver plugin ABI, version 1.1: the entry table below and the CBOR wire schema in this
 * comment are the whole contract. Nothing else is needed to write a C driver. Policy (what v1
 * freezes, how it grows): docs/plugin-abi.md; guide: docs/plugins.md; a complete C driver:
 * examples/c-sensor/. Compile with `pkg-config --cflags m2mhal-plugin`.
 *
 * A plugin is a shared library named libm2mhal_driver_<name>.so placed in one of the daemon's
 * plugin_dirs. It exports one function, m2mhal_plugin_entry, returning a pointer to a static
 * m2mhal_plugin_v1 table. The daemon loads it first in a short-lived worker process, checks
 * abi_version and struct_size, calls describe(), and refuses the plugin with a log line
 * ("refusing plugin: ...") if anything is wrong. `m2mhald --check-plugin FILE` runs the same
 * checks by hand.
 *
 * Drivers are sans-IO state machines: the host owns the port, the timers and the threads. It hands
 * each driver instance CBOR-encoded inputs and receives CBOR-encoded effects.
 *
 * Memory: every buffer a plugin fills is owned by the plugin until the host hands it back through
 * free_buffer. The host never frees plugin memory itself and the plugin never frees host memory.
 *
 * Threads: the host serialises all calls on one instance; different instances may be called from
 * different threads. Entry points must not block, must not perform I/O, and must not unwind or
 * longjmp across this boundary.
 *
 * =================================================================================================
 * THE V1 WIRE SCHEMA (CBOR, RFC 8949)
 * =================================================================================================
 *
 * Notation: examples are CBOR diagnostic notation ("text" = text string, h'0d0a' = byte string,
 * {k: v} = map, [..] = array). Every example here is checked against the Rust types by
 * plugin-api/tests/wire_schema.rs and by a C plugin in tests/plugins/wire_echo.c.
 *
 * General rules:
 * - Structs are maps keyed by the field names below (text keys, snake_case). Key order does not
 *   matter. Unknown keys are ignored by both sides (that is how v1.x adds fields).
 * - REQUIRED fields must be present. OPTIONAL fields may be left out (or be null) and then mean
 *   "none"/"unchanged"/empty; an optional list or map may be left out for empty.
 * - Enums are "externally tagged": a variant without data is the text string of its name
 *   ("opened"); a variant with data is a map of exactly one entry, name -> data
 *   ({"timer": 3}, {"set_timer": {"id": 1, "after_ms": 500}}). Variant names are snake_case,
 *   EXCEPT these two spellings, which are Rust's own and case-sensitive:
 *     results:      {"Ok": <value>} or {"Err": <error>}   (never "ok"/"err")
 *     error kinds:  "NotSupported", "InvalidArgument", "NotReady", "Timeout", "PayloadTooLarge",
 *                   "Failed"   (never "not_supported")
 *   and device kinds, which are kebab-case ("cellular-modem").
 * - Integers: unsigned/negative integers (major types 0/1). Floats (readings, rsrq, sinr) must be
 *   floats (major type 7: half, single or double); an integer where a float is due is refused.
 * - Bytes (tx, rx, payload, value) are byte strings (major type 2), never text.
 * - Definite or indefinite lengths are both accepted; the host sends definite lengths.
 *
 * ---- describe() -> DriverDescription ------------------------------------------------------------
 *   name          text, REQUIRED. Must equal the table's `name`. What `driver = "..."` in the
 *                 config names (the FILE name libm2mhal_driver_<x>.so is what isolated_drivers
 *                 names; keep both the same).
 *   version       text, REQUIRED. Must equal the table's `version`, byte for byte.
 *   kinds         array of DeviceKind, REQUIRED (may be empty).
 *   udev          array of UdevRule, optional.   UdevRule = {"properties": {text: text}} (REQUIRED
 *                 key; every property must be present with that value, compared ignoring case).
 *   at            array of AtRule, optional.     AtRule = {"manufacturer": text?, "model": text?,
 *                 "priority": int?}: case-insensitive substrings of the AT+CGMI/AT+CGMM answers;
 *                 the matching rule with the highest priority wins the port.
 *   default_baud  uint, optional.
 *   ble           array of BleRule, optional.    BleRule = {"service_uuids": [text]?,
 *                 "service_data_uuids": [text]?, "manufacturer_ids": [uint]?,
 *                 "name_patterns": [text]? ('*' globs), "priority": int?}; any criterion matches.
 *   panic_strategy "unwind" | "abort", optional (ABI v1.1): how a Rust plugin's build handles a
 *                 panic (the Rust SDK fills it in). The host never runs an "abort" plugin in its
 *                 own process. A C plugin leaves it out.
 *   abi_minor     uint, optional (ABI v1.1): the minor version of the schema the plugin was
 *                 written against, M2MHAL_ABI_MINOR of this header (1). Absent = 0, v1.0. The
 *                 daemon logs it and `--check-plugin` prints it ("abi: v1.1").
 *   DeviceKind    "cellular-modem" | "satellite-terminal" | "ble-device"
 *                 | "sensor" | "gnss-receiver" | "generic"   (these three: ABI v1.1)
 *                 The kinds of v1.1 need a v1.1 daemon (docs/plugin-abi.md). An older daemon
 *                 cannot decode them: it REFUSES a plugin that lists one in `kinds` (the
 *                 description fails to decode), and it drops the WHOLE `device` effect that
 *                 carries one in `kind` (with the id, state and capabilities of that effect). So
 *                 send a v1.1 kind in a `device` effect of its own, never together with `id`.
 *
 *   {"name": "thermo", "version": "1.0.0", "kinds": ["cellular-modem"],
 *    "udev": [{"properties": {"ID_VENDOR_ID": "0403"}}],
 *    "at": [{"manufacturer": "Acme", "priority": 10}], "default_baud": 9600}
 *
 * ---- open(config) : OpenConfig (host -> plugin) -------------------------------------------------
 *   port        text, always sent: device node ("/dev/ttyUSB0") or BLE address.
 *   properties  {text: text}: udev properties of the port (may be empty).
 *   identity    null or {"manufacturer": text, "model": text}: the host's AT probe answers.
 *   options     {text: text}: the [drivers.<name>] table of the config, values as text.
 *   host_abi_minor  uint, ABI v1.1: the minor version the daemon speaks (1 for v1.1). A daemon
 *               before v1.1 does not send it: absent = 0, v1.0. Check it before sending what an
 *               older daemon would refuse or drop (a v1.1 kind, a location effect).
 *
 *   {"port": "/dev/ttyUSB0", "properties": {}, "identity": null, "options": {"poll": "10"},
 *    "host_abi_minor": 1}
 *
 * ---- handle(input) : Input (host -> plugin) -----------------------------------------------------
 *   {"now_ms": uint, "unix_time": uint, "event": Event}     all three always sent.
 *   now_ms is a monotonic millisecond clock (for timeouts), unix_time wall-clock seconds.
 *
 *   Event (a driver must ignore variants it does not know: later v1.x hosts add some):
 *     "opened"                          port (re)opened: initialise the device from scratch
 *     {"rx": bytes}                     bytes from the device
 *     "hangup"                          port hung up; the host reopens it later
 *     {"timer": uint}                   timer armed with set_timer fired
 *     {"call": {"call": uint, "request": Request}}   answer with exactly one reply effect
 *     {"message_committed": {"key": text}}           an incoming message is stored durably
 *     {"advertisement": Advertisement}               BLE
 *     {"link_up": {"services": [GattService]}}       BLE
 *     {"link_down": {"reason": text}}                BLE
 *     {"gatt_done": {"op": uint, "result": {"Ok": bytes} | {"Err": text}}}   BLE
 *     {"notification": {"characteristic": text, "value": bytes}}             BLE
 *   Advertisement = {"address": text, "name": text|null, "rssi": int|null, "tx_power": int|null,
 *                    "manufacturer_data": {uint: bytes}, "service_data": {text: bytes},
 *                    "services": [text]}
 *   GattService = {"uuid": text, "characteristics": [{"uuid": text, "flags": [text]}]}
 *
 *   {"now_ms": 1500, "unix_time": 1700000000, "event": "opened"}
 *   {"now_ms": 1500, "unix_time": 1700000000, "event": {"rx": h'543d32312e350d0a'}}
 *   {"now_ms": 1500, "unix_time": 1700000000, "event": {"call": {"call": 7, "request": "refresh"}}}
 *
 *   Request (answer requests you do not know with {"Err": {"kind": "NotSupported", ...}}):
 *     "refresh" | "reset" | "poll" | "connect" | "disconnect"
 *     {"command": {"line": text, "timeout_ms": uint}}          reply {"Ok": {"text": ...}}
 *     {"check_message": OutgoingMessage}                       no I/O; reply "done" or an error
 *     {"send": OutgoingMessage}                                reply once sent or failed
 *     {"gatt_read": {"characteristic": text}}                  reply {"Ok": {"bytes": ...}}
 *     {"gatt_write": {"characteristic": text, "value": bytes, "with_response": bool}}
 *     {"gatt_subscribe": {"characteristic": text}}
 *     {"gatt_unsubscribe": {"characteristic": text}}
 *     {"set_location_enabled": bool}    ABI v1.1, Location.SetEnabled: power the GNSS on (true)
 *                                       or off; idempotent. Reply "done" once done and report
 *                                       "enabled" in a location effect. Asked only of devices
 *                                       whose capabilities list "location".
 *   OutgoingMessage = {"id": text, "destination": text, "payload": bytes,
 *                      "encoding": "text" | "binary", "progress": {text: text}}
 *
 *   {"command": {"line": "READ?", "timeout_ms": 2000}}
 *
 * ---- handle() answers : array of Effect (plugin -> host) ----------------------------------------
 *   The answer is always an array, possibly empty ([] = h'80'). The host performs the effects in
 *   order; one it does not understand is logged ("ignoring an effect this daemon does not know")
 *   and skipped, the others still apply.
 *
 *   Effect:
 *     {"tx": bytes}                                         REQUIRED bytes
 *     {"set_timer": {"id": uint, "after_ms": uint}}         both REQUIRED; re-arming replaces
 *     {"cancel_timer": uint}
 *     {"reply": {"call": uint, "result": {"Ok": CallReply} | {"Err": CallError}}}   REQUIRED
 *     {"device": DeviceUpdate}
 *     {"signal": SignalUpdate}
 *     {"sensor": SensorUpdate}
 *     {"location": LocationUpdate}                          ABI v1.1
 *     {"message_received": IncomingMessage}
 *     {"message_state": {"id": text, "state": MessageState, "error": text, "info": {text: text}}}
 *                                                           all four REQUIRED ("" / {} if none)
 *     {"log": {"level": "trace"|"debug"|"info"|"warn"|"error", "message": text}}   REQUIRED
 *     "connect" | "disconnect"                              BLE
 *     {"gatt": {"op": uint, "characteristic": text, "action": GattAction}}   BLE, all REQUIRED
 *     {"notify": {"characteristic": text, "value": bytes}}  BLE
 *   CallReply  = "done" | {"text": text} | {"sent": {text: text}} | {"bytes": bytes}
 *   CallError  = {"kind": CallErrorKind, "message": text}   both REQUIRED
 *   CallErrorKind = "NotSupported" | "InvalidArgument" | "NotReady" | "Timeout" |
 *                   "PayloadTooLarge" | "Failed"   (each is org.m2mhal.Hal1.Error.<kind>)
 *   MessageState = "queued" | "sending" | "sent" | "failed"
 *   GattAction = "read" | "subscribe" | "unsubscribe" |
 *                {"write": {"value": bytes, "with_response": bool}}
 *   DeviceUpdate (every key OPTIONAL; absent or null = unchanged):
 *     id text (stable identity, e.g. "imei:..."; the device is published once it is known),
 *     kind DeviceKind, manufacturer text, model text, revision text, serial_number text,
 *     state "initializing"|"ready"|"offline"|"failed", state_reason text,
 *     capabilities [text] (what selects the D-Bus interfaces: "signal" -> Signal, "messaging" ->
 *     Messaging, "sensor" -> Sensor (any device, not only BLE), "gatt" -> Gatt, "location" ->
 *     Location (ABI v1.1); send them with, or before, the first id), max_payload uint,
 *     extra {text: text}, connected bool, services [text], gatt_services [GattService]
 *   SignalUpdate (every key OPTIONAL; absent or null = unchanged): quality uint (0..100),
 *     rssi int (dBm), rsrp int (dBm), rsrq float (dB), sinr float (dB), technology text,
 *     registration text, operator text, updated_at uint (unix seconds)
 *   SensorUpdate (every key OPTIONAL): readings {text: float} (merged by key into
 *     Sensor.Readings), updated_at uint
 *   IncomingMessage: key text, peer text, payload bytes, timestamp uint REQUIRED;
 *     text text, info {text: text} OPTIONAL
 *   LocationUpdate (ABI v1.1; org.m2mhal.Hal1.Location on a device whose capabilities list
 *     "location"; every key OPTIONAL, absent or null = unchanged):
 *     enabled bool (Location.Enabled: the receiver is on), fix Fix (replaces the previous fix
 *     WHOLE: send every field you know each time; a lost fix is {"mode": "none"})
 *   Fix (every key OPTIONAL; a key left out means "unknown": NaN for a float, 0 for an integer,
 *     none for mode and source. Unlike the general rule, never send null here: leave the key
 *     out, or send NaN for an unknown float):
 *     mode       "none" | "2d" | "3d"
 *     latitude   float, WGS84 degrees, north positive
 *     longitude  float, WGS84 degrees, east positive
 *     altitude   float, metres above mean sea level (3d fixes)
 *     hdop, vdop, pdop  float, horizontal / vertical / position dilution of precision
 *     speed      float, speed over ground, metres per second
 *     course     float, course over ground, degrees true
 *     satellites_used, satellites_in_view   uint
 *     time       uint, unix seconds of the fix (the receiver's UTC time where it gives one)
 *     source     "gnss" | "cell" | "fixed"
 *
 *   [{"tx": h'524541443f0d0a'}, {"set_timer": {"id": 1, "after_ms": 10000}}]
 *   [{"reply": {"call": 7, "result": {"Ok": "done"}}}]
 *   [{"reply": {"call": 7, "result": {"Ok": {"text": "T=21.5"}}}}]
 *   [{"reply": {"call": 7, "result": {"Err": {"kind": "NotSupported", "message": "no"}}}}]
 *   [{"device": {"id": "thermo:1", "state": "ready", "capabilities": ["sensor"]}}]
 *   [{"sensor": {"readings": {"temperature": 21.5}, "updated_at": 1700000000}}]
 *   [{"log": {"level": "warn", "message": "checksum error"}}]
 *   [{"device": {"kind": "gnss-receiver"}}, {"device": {"id": "gnss:1", "state": "ready",
 *     "capabilities": ["location"]}}]                     (a v1.1 kind in its own effect)
 *   [{"location": {"enabled": true, "fix": {"mode": "3d", "latitude": 52.52,
 *     "longitude": 13.405, "altitude": 34.5, "hdop": 0.9, "vdop": 1.25, "pdop": 1.5,
 *     "speed": 0.25, "course": NaN, "satellites_used": 8, "satellites_in_view": 12,
 *     "time": 1700000000, "source": "gnss"}}}]
 *   [{"location": {"fix": {"mode": "2d", "latitude": 52.52, "longitude": 13.405,
 *     "time": 1700000000, "source": "gnss"}}}]
 *   [{"location": {"enabled": false}}]
 *
 * Error and panic statuses carry UTF-8 text in *out, not CBOR.
 */
#ifndef M2MHAL_PLUGIN_H
#define M2MHAL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define M2MHAL_ABI_VERSION 1u
/* The ABI minor version this header describes (v1.1): declare it as describe's "abi_minor". */
#define M2MHAL_ABI_MINOR 1u

/* Status codes returned by describe, open and handle. */
#define M2MHAL_STATUS_OK 0    /* out holds CBOR */
#define M2MHAL_STATUS_ERROR 1 /* out holds a UTF-8 error message */
#define M2MHAL_STATUS_PANIC 2 /* out holds a UTF-8 message; the instance is unusable */

/* A byte buffer filled by the plugin (ptr may be NULL when len is 0). */
typedef struct m2mhal_buffer {
    uint8_t *ptr;
    size_t len;
    size_t cap; /* for the plugin's own bookkeeping */
} m2mhal_buffer;

/* The entry table. Its layout is frozen for v1: later versions only append fields, and a host
 * reads a field only if struct_size covers it (a v1 host needs at least sizeof of this v1 table). */
typedef struct m2mhal_plugin_v1 {
    uint32_t abi_version;  /* M2MHAL_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(m2mhal_plugin_v1) */
    const char *name;      /* driver name, NUL-terminated, static ("cellular") */
    const char *version;   /* plugin version, NUL-terminated, static */
    /* Writes the CBOR DriverDescription into *out. */
    int32_t (*describe)(m2mhal_buffer *out);
    /* Creates an instance from a CBOR OpenConfig; on error writes a message into *out. */
    int32_t (*open)(const uint8_t *config, size_t config_len, void **instance,
                    m2mhal_buffer *out);
    /* Handles one CBOR Input; writes a CBOR array of Effects into *out. */
    int32_t (*handle)(void *instance, const uint8_t *input, size_t input_len,
                      m2mhal_buffer *out);
    /* Destroys an instance. */
    void (*close)(void *instance);
    /* Releases a buffer this plugin filled. */
    void (*free_buffer)(m2mhal_buffer *buffer);
} m2mhal_plugin_v1;

/* The one symbol a plugin exports. */
const m2mhal_plugin_v1 *m2mhal_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* M2MHAL_PLUGIN_H */
