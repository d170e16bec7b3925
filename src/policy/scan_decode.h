/* scan_decode: the encodings a secret may be wrapped in on its way out — percent (with '+'
 * for a space, as forms send it), base64 (standard and URL-safe, padded or not, wrapped in
 * lines as MIME and PEM wrap it) and hex — undone as streams, so that policy/scan can look for
 * the secret inside. Each decoder reads text as it comes, in pieces split anywhere, and emits
 * the decoded form of each run of its alphabet that is long enough to hold a secret; a newline
 * ends each run's output, so that a pattern never matches across two runs. Pure: no I/O. */
#ifndef SLUICE_POLICY_SCAN_DECODE_H
#define SLUICE_POLICY_SCAN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scan_decoding { SCAN_DECODE_PERCENT, SCAN_DECODE_BASE64, SCAN_DECODE_HEX, SCAN_DECODINGS };

/* "percent", "base64", "hex". */
const char *scan_decoding_name(enum scan_decoding kind);

/* Shorter runs are not decoded: 12 base64 characters hold 9 bytes, 16 hex digits 8, and a
 * secret shorter than 8 bytes is not looked for (policy/scan). */
#define SCAN_DECODE_BASE64_MIN 12
#define SCAN_DECODE_HEX_MIN 16
/* A percent run (the text between separators) is held until its first escape: its last this
 * many bytes, which are what is emitted before the escape's byte. */
#define SCAN_DECODE_HELD 512
/* The output room scan_decoder_feed needs beyond what it writes for each byte it reads. */
#define SCAN_DECODE_SLACK (SCAN_DECODE_HELD + 8)

struct scan_decoder {
	uint8_t kind;	  /* enum scan_decoding */
	bool emitting;	  /* the current run is long enough (or, percent: has an escape) */
	uint32_t run;	  /* characters of the alphabet in the current run */
	uint32_t line;	  /* base64: of them, since the last line break inside it */
	uint32_t bits;	  /* base64 and hex: the bits read and not yet emitted */
	uint8_t n_bits;	  /* how many */
	uint8_t esc[2];	  /* percent: an escape's digits read so far */
	int8_t n_esc;	  /* -1: none begun; 0: the '%' read; 1: and one digit */
	bool break_seen;  /* base64: a line break inside the run, not yet known to be one */
	bool slash_ends;  /* base64: '/' ends a run (in a URL's path it is the separator) */
	uint16_t n_held;  /* bytes of held */
	uint16_t held_at; /* percent: where in held (a ring) the oldest is */
	char held[SCAN_DECODE_HELD];
};

void scan_decoder_init(struct scan_decoder *d, enum scan_decoding kind);
/* The same for a URL's path, where base64 sits between slashes (so it is URL-safe base64, or
 * standard base64 with its '/' escaped). */
void scan_decoder_init_path(struct scan_decoder *d, enum scan_decoding kind);
/* Reads from in[0..n) as long as out has room (out_size must exceed SCAN_DECODE_SLACK), writing
 * the decoded bytes to out. Returns the bytes read; *out_len the bytes written. Call again with
 * the rest when it read fewer than n. */
size_t scan_decoder_feed(struct scan_decoder *d, const char *in, size_t n, char *out,
			 size_t out_size, size_t *out_len);
/* Whether text (whole, as in a request head) has anything kind would decode: an escape, or a
 * run long enough. A quick look that spares the decoder for the many short field values. */
bool scan_decode_worth(enum scan_decoding kind, const char *text, size_t n, bool path);
/* The text has ended: the last run's output (out_size at least SCAN_DECODE_SLACK). Returns the
 * bytes written. The decoder may be fed again, as from the start. */
size_t scan_decoder_end(struct scan_decoder *d, char *out, size_t out_size);

#endif
