/* An m2mhal driver plugin in C for the Acme TS-1, a serial thermometer: the same driver as
 * examples/rust-sensor, written against m2mhal_plugin.h alone (see README.md).
 *
 * The device speaks lines ending in CR LF: "ID?" answers "SN=<serial number>", "READ?" answers
 * "T=<degrees Celsius>". The driver identifies the device once the port is open, publishes it as
 * ready, reads the temperature every poll_ms milliseconds (option of [drivers.tempsensor_c],
 * default 10000) and on Sensor.Refresh, and passes Device.Command lines through.
 *
 * It is a sans-IO state machine: the daemon owns the port, the clock and the timers, hands it
 * CBOR inputs and performs the CBOR effects it answers. The CBOR is the header's v1 schema; the
 * little codec below handles what this driver needs (definite lengths, as the host sends). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <m2mhal_plugin.h>

#define NAME "tempsensor_c"
#define VERSION "0.1.0"
#define POLL_TIMER 1
#define ANSWER_TIMER 2
#define ANSWER_TIMEOUT_MS 2000
#define DEFAULT_POLL_MS 10000
#define MAX_LINE 128
#define MAX_QUERIES 8

/* ---- CBOR in ------------------------------------------------------------------------------- */

/* A position in a CBOR input; `ok` turns 0 at the first malformed or unexpected item. */
typedef struct cbor_in {
    const uint8_t *p;
    const uint8_t *end;
    int ok;
} cbor_in;

/* Reads an item's head: its major type and argument. */
static void read_head(cbor_in *in, uint8_t *major, uint64_t *arg) {
    *major = 0xff;
    *arg = 0;
    if (!in->ok || in->p >= in->end) {
        in->ok = 0;
        return;
    }
    uint8_t first = *in->p++;
    uint8_t info = first & 0x1f;
    size_t bytes = info < 24 ? 0 : info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 9;
    if (bytes == 9 || (size_t)(in->end - in->p) < bytes) {
        in->ok = 0; /* indefinite lengths are not used by the host */
        return;
    }
    *arg = info < 24 ? info : 0;
    for (size_t i = 0; i < bytes; i++) {
        *arg = (*arg << 8) | *in->p++;
    }
    *major = first >> 5;
}

/* Skips one whole item. */
static void skip(cbor_in *in) {
    uint8_t major;
    uint64_t arg;
    read_head(in, &major, &arg);
    if (major == 2 || major == 3) {
        if ((uint64_t)(in->end - in->p) < arg) {
            in->ok = 0;
            return;
        }
        in->p += arg;
    } else if (major == 4 || major == 5) {
        for (uint64_t i = 0; in->ok && i < arg * (major == 5 ? 2 : 1); i++) {
            skip(in);
        }
    } else if (major == 6) {
        skip(in);
    }
}

/* Reads a text (major 3) or byte (major 2) string: its bytes stay in the input. */
static const uint8_t *read_string(cbor_in *in, uint8_t want, size_t *len) {
    uint8_t major;
    uint64_t arg;
    *len = 0;
    read_head(in, &major, &arg);
    if (major != want || (uint64_t)(in->end - in->p) < arg) {
        in->ok = 0;
        return NULL;
    }
    const uint8_t *s = in->p;
    in->p += arg;
    *len = (size_t)arg;
    return s;
}

static uint64_t read_uint(cbor_in *in) {
    uint8_t major;
    uint64_t arg;
    read_head(in, &major, &arg);
    if (major != 0) {
        in->ok = 0;
    }
    return arg;
}

/* Whether the next item is the text `s`; consumes it only if so. */
static int next_is_text(cbor_in *in, const char *s) {
    cbor_in probe = *in;
    size_t len;
    const uint8_t *text = read_string(&probe, 3, &len);
    if (probe.ok && len == strlen(s) && memcmp(text, s, len) == 0) {
        *in = probe;
        return 1;
    }
    return 0;
}

/* Moves `in` from a map's head to the value of `key`; 0 if the map has no such key. */
static int enter_key(cbor_in *in, const char *key) {
    uint8_t major;
    uint64_t pairs;
    read_head(in, &major, &pairs);
    if (major != 5) {
        in->ok = 0;
    }
    for (uint64_t i = 0; in->ok && i < pairs; i++) {
        if (next_is_text(in, key)) {
            return 1;
        }
        skip(in); /* the key */
        skip(in); /* its value */
    }
    return 0;
}

/* ---- CBOR out ------------------------------------------------------------------------------ */

/* The effects being answered: their encodings one after the other, and how many. */
typedef struct cbor_out {
    uint8_t *bytes;
    size_t len;
    size_t cap;
    size_t count;
    int failed;
} cbor_out;

static void put(cbor_out *out, const void *bytes, size_t len) {
    if (out->failed) {
        return;
    }
    if (out->len + len > out->cap) {
        size_t cap = (out->len + len) * 2 + 64;
        uint8_t *grown = realloc(out->bytes, cap);
        if (grown == NULL) {
            out->failed = 1;
            return;
        }
        out->bytes = grown;
        out->cap = cap;
    }
    memcpy(out->bytes + out->len, bytes, len);
    out->len += len;
}

static void put_head(cbor_out *out, uint8_t major, uint64_t n) {
    uint8_t head[9];
    size_t bytes = n < 24 ? 0 : n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffu ? 4 : 8;
    head[0] = (uint8_t)(major << 5 | (bytes == 0 ? n : bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27));
    for (size_t i = 0; i < bytes; i++) {
        head[1 + i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
    }
    put(out, head, 1 + bytes);
}

static void put_text(cbor_out *out, const char *s) {
    put_head(out, 3, strlen(s));
    put(out, s, strlen(s));
}

/* A float: always a double (major 7, 0xfb), as the header requires for readings. */
static void put_double(cbor_out *out, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint8_t bytes[9] = {0xfb};
    for (int i = 0; i < 8; i++) {
        bytes[1 + i] = (uint8_t)(bits >> (8 * (7 - i)));
    }
    put(out, bytes, sizeof bytes);
}

/* Starts the next effect: {"<name>": <value follows>}. */
static void effect(cbor_out *out, const char *name) {
    out->count++;
    put_head(out, 5, 1);
    put_text(out, name);
}

static void tx_line(cbor_out *out, const char *line) {
    effect(out, "tx");
    put_head(out, 2, strlen(line) + 2);
    put(out, line, strlen(line));
    put(out, "\r\n", 2);
}

static void set_timer(cbor_out *out, uint32_t id, uint64_t after_ms) {
    effect(out, "set_timer");
    put_head(out, 5, 2);
    put_text(out, "id");
    put_head(out, 0, id);
    put_text(out, "after_ms");
    put_head(out, 0, after_ms);
}

static void cancel_timer(cbor_out *out, uint32_t id) {
    effect(out, "cancel_timer");
    put_head(out, 0, id);
}

static void log_line(cbor_out *out, const char *level, const char *message) {
    effect(out, "log");
    put_head(out, 5, 2);
    put_text(out, "level");
    put_text(out, level);
    put_text(out, "message");
    put_text(out, message);
}

/* {"reply": {"call": <call>, "result": <the result follows>}} */
static void reply(cbor_out *out, uint64_t call) {
    effect(out, "reply");
    put_head(out, 5, 2);
    put_text(out, "call");
    put_head(out, 0, call);
    put_text(out, "result");
}

static void reply_done(cbor_out *out, uint64_t call) {
    reply(out, call);
    put_head(out, 5, 1);
    put_text(out, "Ok");
    put_text(out, "done");
}

static void reply_text(cbor_out *out, uint64_t call, const char *text) {
    reply(out, call);
    put_head(out, 5, 1);
    put_text(out, "Ok");
    put_head(out, 5, 1);
    put_text(out, "text");
    put_text(out, text);
}

/* kind: "NotSupported", "NotReady", "Timeout", "Failed", ... (spelled as in the header). */
static void reply_error(cbor_out *out, uint64_t call, const char *kind, const char *message) {
    reply(out, call);
    put_head(out, 5, 1);
    put_text(out, "Err");
    put_head(out, 5, 2);
    put_text(out, "kind");
    put_text(out, kind);
    put_text(out, "message");
    put_text(out, message);
}

/* Hands the effects to the host as one CBOR array. */
static int32_t finish(cbor_out *effects, m2mhal_buffer *out) {
    cbor_out array = {0};
    put_head(&array, 4, effects->count);
    put(&array, effects->bytes, effects->len);
    free(effects->bytes);
    if (effects->failed || array.failed) {
        free(array.bytes);
        return M2MHAL_STATUS_ERROR;
    }
    out->ptr = array.bytes;
    out->len = array.len;
    out->cap = array.cap;
    return M2MHAL_STATUS_OK;
}

/* ---- The driver ---------------------------------------------------------------------------- */

enum query_kind { IDENTIFY, READ, COMMAND };

/* A query to the device, waiting for its answer line. */
typedef struct query {
    enum query_kind kind;
    int has_call;
    uint64_t call;
    char line[MAX_LINE];
} query;

/* One TS-1. */
typedef struct sensor {
    uint64_t poll_ms;
    char line[MAX_LINE];
    size_t line_len;
    int in_flight; /* queries[0] was sent and waits for its answer */
    query queries[MAX_QUERIES];
    size_t queued;
} sensor;

static void send_next(sensor *s, cbor_out *out) {
    if (s->in_flight || s->queued == 0) {
        return;
    }
    const query *q = &s->queries[0];
    tx_line(out, q->kind == IDENTIFY ? "ID?" : q->kind == READ ? "READ?" : q->line);
    set_timer(out, ANSWER_TIMER, ANSWER_TIMEOUT_MS);
    s->in_flight = 1;
}

static void ask(sensor *s, cbor_out *out, enum query_kind kind, int has_call, uint64_t call,
                const uint8_t *line, size_t line_len) {
    if (s->queued == MAX_QUERIES) {
        if (has_call) {
            reply_error(out, call, "NotReady", "too many queries waiting");
        }
        return;
    }
    query *q = &s->queries[s->queued++];
    q->kind = kind;
    q->has_call = has_call;
    q->call = call;
    size_t len = line_len < MAX_LINE - 1 ? line_len : MAX_LINE - 1;
    memcpy(q->line, line, len);
    q->line[len] = '\0';
    send_next(s, out);
}

/* Removes the query in flight from the queue. */
static query finish_query(sensor *s, cbor_out *out) {
    query done = s->queries[0];
    memmove(&s->queries[0], &s->queries[1], (s->queued - 1) * sizeof(query));
    s->queued--;
    s->in_flight = 0;
    cancel_timer(out, ANSWER_TIMER);
    return done;
}

/* The port was (re)opened or hung up: every query is forgotten, its caller told. */
static void restart(sensor *s, cbor_out *out) {
    for (size_t i = 0; i < s->queued; i++) {
        if (s->queries[i].has_call) {
            reply_error(out, s->queries[i].call, "NotReady", "the port was closed");
        }
    }
    s->queued = 0;
    s->in_flight = 0;
    s->line_len = 0;
    cancel_timer(out, ANSWER_TIMER);
    cancel_timer(out, POLL_TIMER);
}

static void identified(sensor *s, cbor_out *out, const char *serial) {
    char id[MAX_LINE + 16];
    snprintf(id, sizeof id, "%s:%s", NAME, serial);
    effect(out, "device");
    put_head(out, 5, 6);
    put_text(out, "id"); /* the identity: stable across replugging and restarts */
    put_text(out, id);
    put_text(out, "manufacturer");
    put_text(out, "Acme");
    put_text(out, "model");
    put_text(out, "TS-1");
    put_text(out, "serial_number");
    put_text(out, serial);
    put_text(out, "state");
    put_text(out, "ready");
    put_text(out, "capabilities"); /* selects the D-Bus interfaces: Sensor */
    put_head(out, 4, 1);
    put_text(out, "sensor");
    ask(s, out, READ, 0, 0, NULL, 0);
    set_timer(out, POLL_TIMER, s->poll_ms);
}

static void temperature(cbor_out *out, const query *q, const char *line, uint64_t unix_time) {
    char *end;
    double celsius = strncmp(line, "T=", 2) == 0 ? strtod(line + 2, &end) : 0;
    if (strncmp(line, "T=", 2) != 0 || end == line + 2 || *end != '\0') {
        log_line(out, "warn", "unreadable temperature");
        if (q->has_call) {
            reply_error(out, q->call, "Failed", "unreadable temperature");
        }
        return;
    }
    effect(out, "sensor");
    put_head(out, 5, 2);
    put_text(out, "readings");
    put_head(out, 5, 1);
    put_text(out, "temperature");
    put_double(out, celsius);
    put_text(out, "updated_at");
    put_head(out, 0, unix_time);
    if (q->has_call) {
        reply_done(out, q->call);
    }
}

/* A complete line from the device answers the query in flight. */
static void answer(sensor *s, cbor_out *out, const char *line, uint64_t unix_time) {
    if (!s->in_flight) {
        log_line(out, "debug", "unsolicited line ignored");
        return;
    }
    query q = finish_query(s, out);
    if (q.kind == IDENTIFY && strncmp(line, "SN=", 3) == 0) {
        identified(s, out, line + 3);
    } else if (q.kind == IDENTIFY) {
        log_line(out, "warn", "the device did not identify itself");
    } else if (q.kind == READ) {
        temperature(out, &q, line, unix_time);
    } else {
        reply_text(out, q.call, line);
    }
    send_next(s, out);
}

static void receive(sensor *s, cbor_out *out, const uint8_t *bytes, size_t len, uint64_t unix_time) {
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] == '\r') {
            continue;
        }
        if (bytes[i] != '\n') {
            if (s->line_len < MAX_LINE - 1) {
                s->line[s->line_len++] = (char)bytes[i];
            }
            continue;
        }
        s->line[s->line_len] = '\0';
        s->line_len = 0;
        if (s->line[0] != '\0') {
            answer(s, out, s->line, unix_time);
        }
    }
}

static void no_answer(sensor *s, cbor_out *out) {
    if (s->in_flight) {
        query q = finish_query(s, out);
        log_line(out, "warn", "the device did not answer");
        if (q.has_call) {
            reply_error(out, q.call, "Timeout", "the device did not answer");
        }
    }
    send_next(s, out);
}

/* {"call": <id>, "request": "refresh" | "reset" | {"command": {"line": ..}} | ...} */
static void application_call(sensor *s, cbor_out *out, cbor_in *in) {
    cbor_in at = *in;
    if (!enter_key(&at, "call")) {
        return;
    }
    uint64_t call = read_uint(&at);
    at = *in;
    if (!enter_key(&at, "request") || !at.ok) {
        return;
    }
    cbor_in command = at;
    size_t len = 0;
    if (next_is_text(&at, "refresh")) {
        ask(s, out, READ, 1, call, NULL, 0);
    } else if (next_is_text(&at, "reset")) {
        ask(s, out, IDENTIFY, 0, 0, NULL, 0);
        reply_done(out, call);
    } else if (enter_key(&command, "command") && enter_key(&command, "line")) {
        const uint8_t *line = read_string(&command, 3, &len);
        if (command.ok) {
            ask(s, out, COMMAND, 1, call, line, len);
        }
    } else {
        reply_error(out, call, "NotSupported", "a thermometer");
    }
}

/* An event with data: {"rx": bytes}, {"timer": id}, {"call": {...}}, or one of later ABI versions,
 * which this driver ignores. */
static void event_with_data(sensor *s, cbor_out *out, cbor_in *in, uint64_t unix_time) {
    uint8_t major;
    uint64_t pairs;
    read_head(in, &major, &pairs);
    if (major != 5 || pairs != 1) {
        return;
    }
    if (next_is_text(in, "rx")) {
        size_t len;
        const uint8_t *bytes = read_string(in, 2, &len);
        if (in->ok) {
            receive(s, out, bytes, len, unix_time);
        }
    } else if (next_is_text(in, "timer")) {
        uint64_t timer = read_uint(in);
        if (in->ok && timer == POLL_TIMER) {
            ask(s, out, READ, 0, 0, NULL, 0);
            set_timer(out, POLL_TIMER, s->poll_ms);
        } else if (in->ok && timer == ANSWER_TIMER) {
            no_answer(s, out);
        }
    } else if (next_is_text(in, "call")) {
        application_call(s, out, in);
    }
}

/* ---- The entry table ----------------------------------------------------------------------- */

static int32_t describe(m2mhal_buffer *out) {
    cbor_out d = {0};
    put_head(&d, 5, 5);
    put_text(&d, "name");
    put_text(&d, NAME); /* equal to the table's name */
    put_text(&d, "version");
    put_text(&d, VERSION); /* equal to the table's version */
    put_text(&d, "kinds");
    put_head(&d, 4, 1);
    put_text(&d, "sensor");
    put_text(&d, "default_baud");
    put_head(&d, 0, 9600);
    put_text(&d, "abi_minor"); /* the schema this file follows: v1.1 (the "sensor" kind) */
    put_head(&d, 0, M2MHAL_ABI_MINOR);
    if (d.failed) {
        free(d.bytes);
        return M2MHAL_STATUS_ERROR;
    }
    out->ptr = d.bytes;
    out->len = d.len;
    out->cap = d.cap;
    return M2MHAL_STATUS_OK;
}

/* Writes an error message (UTF-8, not CBOR) for an M2MHAL_STATUS_ERROR. */
static int32_t error(m2mhal_buffer *out, const char *message) {
    size_t len = strlen(message);
    out->ptr = malloc(len);
    if (out->ptr != NULL) {
        memcpy(out->ptr, message, len);
        out->len = len;
        out->cap = len;
    }
    return M2MHAL_STATUS_ERROR;
}

static int32_t open_instance(const uint8_t *config, size_t config_len, void **instance,
                             m2mhal_buffer *out) {
    uint64_t poll_ms = DEFAULT_POLL_MS;
    cbor_in in = {config, config + config_len, 1};
    if (enter_key(&in, "options") && enter_key(&in, "poll_ms")) {
        size_t len;
        const uint8_t *text = read_string(&in, 3, &len);
        char digits[21] = {0};
        char *end;
        if (!in.ok || len == 0 || len >= sizeof digits) {
            return error(out, "poll_ms must be a number of milliseconds");
        }
        memcpy(digits, text, len);
        poll_ms = strtoull(digits, &end, 10);
        if (*end != '\0') {
            return error(out, "poll_ms must be a number of milliseconds");
        }
    }
    sensor *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return error(out, "out of memory");
    }
    s->poll_ms = poll_ms;
    *instance = s;
    return M2MHAL_STATUS_OK;
}

static int32_t handle(void *instance, const uint8_t *input, size_t input_len, m2mhal_buffer *out) {
    sensor *s = instance;
    cbor_out effects = {0};
    cbor_in in = {input, input + input_len, 1};
    cbor_in at = in;
    uint64_t unix_time = enter_key(&at, "unix_time") ? read_uint(&at) : 0;
    at = in;
    if (!enter_key(&at, "event") || !at.ok) {
        return error(out, "input without an event");
    }
    if (next_is_text(&at, "opened")) {
        restart(s, &effects);
        ask(s, &effects, IDENTIFY, 0, 0, NULL, 0);
    } else if (next_is_text(&at, "hangup")) {
        restart(s, &effects);
    } else {
        event_with_data(s, &effects, &at, unix_time);
    }
    return finish(&effects, out);
}

static void close_instance(void *instance) { free(instance); }

static void free_buffer(m2mhal_buffer *buffer) {
    free(buffer->ptr);
    buffer->ptr = NULL;
    buffer->len = 0;
    buffer->cap = 0;
}

static const m2mhal_plugin_v1 TABLE = {
    .abi_version = M2MHAL_ABI_VERSION,
    .struct_size = sizeof(m2mhal_plugin_v1),
    .name = NAME,
    .version = VERSION,
    .describe = describe,
    .open = open_instance,
    .handle = handle,
    .close = close_instance,
    .free_buffer = free_buffer,
};

const m2mhal_plugin_v1 *m2mhal_plugin_entry(void) { return &TABLE; }
