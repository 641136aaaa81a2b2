/* A C plugin that speaks the v1 wire schema exactly as include/m2mhal_plugin.h states it, every
 * byte it answers encoded by hand (no CBOR library): tests/tests/plugin_sdk.rs loads it in the
 * real m2mhald and checks that the Rust side decodes each answer into what the header says it
 * means (device and signal properties, sensor readings, {"Ok": ...} and {"Err": ...} replies with
 * a "NotSupported" error kind, a log line, an unknown effect set aside).
 *
 * It claims nothing by itself ([[port]] driver = "wireecho") and recognises its inputs by the
 * header's byte sequences in them; a real driver parses them (examples/c-sensor). */
#include <stdlib.h>
#include <string.h>

#include "m2mhal_plugin.h"

/* Byte sequences of the inputs (a text string is 0x60 + its length, then its bytes). */
/* "event": "opened" */
static const char OPENED[] = "\x65" "event" "\x66" "opened";
/* "call": {"call": <the call id follows> */
static const char CALL[] = "\x64" "call" "\xa2" "\x64" "call";
/* "request": */
static const char REQUEST_KEY[] = "\x67" "request";
/* "refresh" */
static const char REFRESH[] = "\x67" "refresh";
/* {"command": */
static const char COMMAND[] = "\xa1" "\x67" "command";

/* Byte sequences of the answers. */
/* [{"reply": {"call": <the call id follows> */
static const char REPLY_HEAD[] = "\x81" "\xa1" "\x65" "reply" "\xa2" "\x64" "call";
/* "result": */
static const char RESULT_KEY[] = "\x66" "result";
/* {"Ok": "done"} */
static const char OK_DONE[] = "\xa1" "\x62" "Ok" "\x64" "done";
/* {"Ok": {"text": "T=21.5"}} */
static const char OK_TEXT[] = "\xa1" "\x62" "Ok" "\xa1" "\x64" "text" "\x66" "T=21.5";
/* {"Err": {"kind": "NotSupported", "message": "wireecho cannot do that"}} */
static const char ERR_NOT_SUPPORTED[] = "\xa1" "\x63" "Err" "\xa2" "\x64" "kind" "\x6c" "NotSupported"
                                        "\x67" "message" "\x77" "wireecho cannot do that";

/* {"name": "wireecho", "version": "1.0.0", "kinds": ["cellular-modem"], "default_baud": 9600,
 *  "future_key": true}   (an unknown key: ignored) */
static const uint8_t DESCRIPTION[] = {
    0xa5, 0x64, 0x6e, 0x61, 0x6d, 0x65, 0x68, 0x77, 0x69, 0x72, 0x65, 0x65,
    0x63, 0x68, 0x6f, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x65,
    0x31, 0x2e, 0x30, 0x2e, 0x30, 0x65, 0x6b, 0x69, 0x6e, 0x64, 0x73, 0x81,
    0x6e, 0x63, 0x65, 0x6c, 0x6c, 0x75, 0x6c, 0x61, 0x72, 0x2d, 0x6d, 0x6f,
    0x64, 0x65, 0x6d, 0x6c, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74, 0x5f,
    0x62, 0x61, 0x75, 0x64, 0x19, 0x25, 0x80, 0x6a, 0x66, 0x75, 0x74, 0x75,
    0x72, 0x65, 0x5f, 0x6b, 0x65, 0x79, 0xf5,
};

/* [{"device": {"id": "wireecho:1", "kind": "cellular-modem", "manufacturer": "Acme", "model": "W-1",
 *              "state": "ready", "capabilities": ["signal", "sensor"], "future_key": true}},
 *  {"signal": {"quality": 60, "rsrq": -10.5, "technology": "lte"}},
 *  {"sensor": {"readings": {"temperature": 21.5, "humidity": 40.25}, "updated_at": 1700000000}},
 *  {"teleport": {"to": "mars"}},   (an effect of some later ABI minor: set aside, the rest apply)
 *  {"log": {"level": "info", "message": "wireecho: hello from C"}},
 *  {"set_timer": {"id": 1, "after_ms": 3600000}}] */
static const uint8_t ON_OPENED[] = {
    0x86, 0xa1, 0x66, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65, 0xa7, 0x62, 0x69,
    0x64, 0x6a, 0x77, 0x69, 0x72, 0x65, 0x65, 0x63, 0x68, 0x6f, 0x3a, 0x31,
    0x64, 0x6b, 0x69, 0x6e, 0x64, 0x6e, 0x63, 0x65, 0x6c, 0x6c, 0x75, 0x6c,
    0x61, 0x72, 0x2d, 0x6d, 0x6f, 0x64, 0x65, 0x6d, 0x6c, 0x6d, 0x61, 0x6e,
    0x75, 0x66, 0x61, 0x63, 0x74, 0x75, 0x72, 0x65, 0x72, 0x64, 0x41, 0x63,
    0x6d, 0x65, 0x65, 0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x63, 0x57, 0x2d, 0x31,
    0x65, 0x73, 0x74, 0x61, 0x74, 0x65, 0x65, 0x72, 0x65, 0x61, 0x64, 0x79,
    0x6c, 0x63, 0x61, 0x70, 0x61, 0x62, 0x69, 0x6c, 0x69, 0x74, 0x69, 0x65,
    0x73, 0x82, 0x66, 0x73, 0x69, 0x67, 0x6e, 0x61, 0x6c, 0x66, 0x73, 0x65,
    0x6e, 0x73, 0x6f, 0x72, 0x6a, 0x66, 0x75, 0x74, 0x75, 0x72, 0x65, 0x5f,
    0x6b, 0x65, 0x79, 0xf5, 0xa1, 0x66, 0x73, 0x69, 0x67, 0x6e, 0x61, 0x6c,
    0xa3, 0x67, 0x71, 0x75, 0x61, 0x6c, 0x69, 0x74, 0x79, 0x18, 0x3c, 0x64,
    0x72, 0x73, 0x72, 0x71, 0xfb, 0xc0, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x6a, 0x74, 0x65, 0x63, 0x68, 0x6e, 0x6f, 0x6c, 0x6f, 0x67, 0x79,
    0x63, 0x6c, 0x74, 0x65, 0xa1, 0x66, 0x73, 0x65, 0x6e, 0x73, 0x6f, 0x72,
    0xa2, 0x68, 0x72, 0x65, 0x61, 0x64, 0x69, 0x6e, 0x67, 0x73, 0xa2, 0x6b,
    0x74, 0x65, 0x6d, 0x70, 0x65, 0x72, 0x61, 0x74, 0x75, 0x72, 0x65, 0xfb,
    0x40, 0x35, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x68, 0x75, 0x6d,
    0x69, 0x64, 0x69, 0x74, 0x79, 0xfb, 0x40, 0x44, 0x20, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x6a, 0x75, 0x70, 0x64, 0x61, 0x74, 0x65, 0x64, 0x5f, 0x61,
    0x74, 0x1a, 0x65, 0x53, 0xf1, 0x00, 0xa1, 0x68, 0x74, 0x65, 0x6c, 0x65,
    0x70, 0x6f, 0x72, 0x74, 0xa1, 0x62, 0x74, 0x6f, 0x64, 0x6d, 0x61, 0x72,
    0x73, 0xa1, 0x63, 0x6c, 0x6f, 0x67, 0xa2, 0x65, 0x6c, 0x65, 0x76, 0x65,
    0x6c, 0x64, 0x69, 0x6e, 0x66, 0x6f, 0x67, 0x6d, 0x65, 0x73, 0x73, 0x61,
    0x67, 0x65, 0x76, 0x77, 0x69, 0x72, 0x65, 0x65, 0x63, 0x68, 0x6f, 0x3a,
    0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20,
    0x43, 0xa1, 0x69, 0x73, 0x65, 0x74, 0x5f, 0x74, 0x69, 0x6d, 0x65, 0x72,
    0xa2, 0x62, 0x69, 0x64, 0x01, 0x68, 0x61, 0x66, 0x74, 0x65, 0x72, 0x5f,
    0x6d, 0x73, 0x1a, 0x00, 0x36, 0xee, 0x80,
};

/* [] */
static const uint8_t NO_EFFECTS[] = {
    0x80,
};


/* The plugin's answer under construction. */
typedef struct answer {
    uint8_t *bytes;
    size_t len;
    size_t cap;
    int failed;
} answer;

static void put(answer *a, const void *bytes, size_t len) {
    if (a->failed) {
        return;
    }
    if (a->len + len > a->cap) {
        size_t cap = (a->len + len) * 2;
        uint8_t *grown = realloc(a->bytes, cap);
        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        a->bytes = grown;
        a->cap = cap;
    }
    memcpy(a->bytes + a->len, bytes, len);
    a->len += len;
}

/* A string literal's bytes without its terminating NUL. */
#define PUT_LITERAL(a, literal) put((a), (literal), sizeof(literal) - 1)

/* An unsigned integer (major type 0), in its shortest form. */
static void put_uint(answer *a, uint64_t n) {
    uint8_t head[9];
    size_t len;
    if (n < 24) {
        head[0] = (uint8_t)n;
        len = 1;
    } else {
        int bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffu ? 4 : 8;
        head[0] = (uint8_t)(bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27);
        for (int i = 0; i < bytes; i++) {
            head[1 + i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
        }
        len = 1 + (size_t)bytes;
    }
    put(a, head, len);
}

/* Reads the unsigned integer at `p` (at most `len` bytes); returns its length or 0. */
static size_t read_uint(const uint8_t *p, size_t len, uint64_t *n) {
    if (len == 0 || (p[0] >> 5) != 0) {
        return 0;
    }
    uint8_t info = p[0] & 0x1f;
    if (info < 24) {
        *n = info;
        return 1;
    }
    size_t bytes = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (bytes == 0 || len < 1 + bytes) {
        return 0;
    }
    *n = 0;
    for (size_t i = 0; i < bytes; i++) {
        *n = (*n << 8) | p[1 + i];
    }
    return 1 + bytes;
}

/* Where `needle` (a string literal's bytes) starts in `haystack`, or NULL. */
static const uint8_t *find(const uint8_t *haystack, size_t len, const char *needle, size_t n) {
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(haystack + i, needle, n) == 0) {
            return haystack + i;
        }
    }
    return NULL;
}
#define FIND(h, len, literal) find((h), (len), (literal), sizeof(literal) - 1)

static int32_t finish(answer *a, m2mhal_buffer *out) {
    if (a->failed) {
        free(a->bytes);
        return M2MHAL_STATUS_ERROR;
    }
    out->ptr = a->bytes;
    out->len = a->len;
    out->cap = a->cap;
    return M2MHAL_STATUS_OK;
}

/* The reply to the call in `input`: refresh is done, a command answers text, anything else is
 * not supported. */
static void answer_call(answer *a, const uint8_t *call, const uint8_t *end) {
    const uint8_t *id_at = call + sizeof(CALL) - 1;
    uint64_t id;
    size_t id_len = read_uint(id_at, (size_t)(end - id_at), &id);
    if (id_len == 0) {
        PUT_LITERAL(a, "\x80");
        return;
    }
    const uint8_t *request = id_at + id_len + sizeof(REQUEST_KEY) - 1;
    size_t rest = request <= end ? (size_t)(end - request) : 0;
    PUT_LITERAL(a, REPLY_HEAD);
    put_uint(a, id);
    PUT_LITERAL(a, RESULT_KEY);
    if (rest >= sizeof(REFRESH) - 1 && memcmp(request, REFRESH, sizeof(REFRESH) - 1) == 0) {
        PUT_LITERAL(a, OK_DONE);
    } else if (rest >= sizeof(COMMAND) - 1 && memcmp(request, COMMAND, sizeof(COMMAND) - 1) == 0) {
        PUT_LITERAL(a, OK_TEXT);
    } else {
        PUT_LITERAL(a, ERR_NOT_SUPPORTED);
    }
}

static int32_t describe(m2mhal_buffer *out) {
    answer a = {0};
    put(&a, DESCRIPTION, sizeof(DESCRIPTION));
    return finish(&a, out);
}

static int32_t open_instance(const uint8_t *config, size_t config_len, void **instance,
                             m2mhal_buffer *out) {
    (void)config;
    (void)config_len;
    (void)out;
    /* No state, but every instance is its own allocation. */
    *instance = malloc(1);
    return *instance == NULL ? M2MHAL_STATUS_ERROR : M2MHAL_STATUS_OK;
}

static int32_t handle(void *instance, const uint8_t *input, size_t input_len, m2mhal_buffer *out) {
    (void)instance;
    answer a = {0};
    const uint8_t *call = FIND(input, input_len, CALL);
    if (FIND(input, input_len, OPENED) != NULL) {
        put(&a, ON_OPENED, sizeof(ON_OPENED));
    } else if (call != NULL) {
        answer_call(&a, call, input + input_len);
    } else {
        put(&a, NO_EFFECTS, sizeof(NO_EFFECTS));
    }
    return finish(&a, out);
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
    .name = "wireecho",
    .version = "1.0.0",
    .describe = describe,
    .open = open_instance,
    .handle = handle,
    .close = close_instance,
    .free_buffer = free_buffer,
};

const m2mhal_plugin_v1 *m2mhal_plugin_entry(void) { return &TABLE; }
