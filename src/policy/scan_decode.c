#include "policy/scan_decode.h"

#include <string.h>

#include "base/bug.h"

const char *scan_decoding_name(enum scan_decoding kind)
{
	switch (kind) {
	case SCAN_DECODE_PERCENT:
		return "percent";
	case SCAN_DECODE_BASE64:
		return "base64";
	case SCAN_DECODE_HEX:
		return "hex";
	case SCAN_DECODINGS:
		break;
	}
	return "?";
}

/* Each byte's value in base64 (both alphabets) or in hex; -1 outside. */
static const int8_t base64_value[256] = {
    ['A'] = 0,	['B'] = 1,  ['C'] = 2,	['D'] = 3,  ['E'] = 4,	['F'] = 5,  ['G'] = 6,	['H'] = 7,
    ['I'] = 8,	['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
    ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
    ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
    ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
    ['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
    ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63,
    ['-'] = 62, ['_'] = 63,
};

static inline int base64_digit(unsigned char ch)
{
	/* The table's zeros are 'A' or nothing. */
	return base64_value[ch] || ch == 'A' ? base64_value[ch] : -1;
}

static inline int hex_digit(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Each byte's classes, for the loops that pass over text no decoder has use for. */
enum {
	CLASS_BASE64 = 1,      /* a base64 digit, either alphabet */
	CLASS_BASE64_PATH = 2, /* one that does not end a run in a URL's path (all but '/') */
	CLASS_HEX = 4,
	/* Where a percent run ends: what separates values in a query, a form, JSON and text
	 * (controls, space, non-ASCII, " ' < > & = ; , \\). */
	CLASS_PERCENT_END = 8,
};
static const uint8_t byte_class[256] = {
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 0, 8, 0, 0, 0, 8, 8, 0, 0, 0, 3, 8, 3, 0, 1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 8, 8, 8, 8, 0,
    0, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 8, 0, 0, 3,
    0, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
};

static bool percent_separator(unsigned char ch)
{
	return byte_class[ch] & CLASS_PERCENT_END;
}

void scan_decoder_init(struct scan_decoder *d, enum scan_decoding kind)
{
	memset(d, 0, offsetof(struct scan_decoder, held));
	d->kind = (uint8_t)kind;
	d->n_esc = -1;
}

void scan_decoder_init_path(struct scan_decoder *d, enum scan_decoding kind)
{
	scan_decoder_init(d, kind);
	d->slash_ends = true;
}

/* The run is over: its output ends with a newline; what was held is dropped. */
static size_t decoder_end_run(struct scan_decoder *d, char *out)
{
	size_t n = 0;
	bool slash_ends = d->slash_ends;
	if (d->emitting)
		out[n++] = '\n';
	scan_decoder_init(d, (enum scan_decoding)d->kind);
	d->slash_ends = slash_ends;
	return n;
}

/* Adds a digit of `width` bits; a byte goes out for every 8. */
static size_t decoder_push(struct scan_decoder *d, unsigned value, unsigned width, char *out)
{
	d->bits = (d->bits << width) | value;
	d->n_bits = (uint8_t)(d->n_bits + width);
	if (d->n_bits < 8)
		return 0;
	d->n_bits = (uint8_t)(d->n_bits - 8);
	out[0] = (char)(d->bits >> d->n_bits);
	d->bits &= (1u << d->n_bits) - 1;
	return 1;
}

/* The held digits decoded: the run has become long enough. */
static size_t digits_flush(struct scan_decoder *d, unsigned width, char *out)
{
	size_t n = 0;
	d->emitting = true;
	for (unsigned i = 0; i < d->n_held; i++) {
		unsigned char h = (unsigned char)d->held[i];
		n +=
		    decoder_push(d, width == 6 ? (unsigned)base64_digit(h) : (unsigned)hex_digit(h),
				 width, out + n);
	}
	d->n_held = 0;
	return n;
}

/* base64 and hex: a digit of the run. Held until the run is long enough, then all of it. */
static size_t decoder_digit(struct scan_decoder *d, unsigned char ch, unsigned value,
			    unsigned width, unsigned min, char *out)
{
	d->run++;
	if (d->emitting)
		return decoder_push(d, value, width, out);
	d->held[d->n_held++] = (char)ch;
	return d->run < min ? 0 : digits_flush(d, width, out);
}

static size_t base64_byte(struct scan_decoder *d, unsigned char ch, char *out)
{
	int v = ch == '/' && d->slash_ends ? -1 : base64_digit(ch);
	if (v >= 0) {
		d->break_seen = false;
		d->line++;
		return decoder_digit(d, ch, (unsigned)v, 6, SCAN_DECODE_BASE64_MIN, out);
	}
	/* A line break in a run wrapped as MIME and PEM wrap it (whole quanta, 16 or more on the
	 * line) continues it; CR LF is one break. */
	if ((ch == '\n' || ch == '\r') && d->run > 0 &&
	    (d->break_seen || (d->line >= 16 && d->line % 4 == 0))) {
		d->break_seen = true;
		d->line = 0;
		return 0;
	}
	return decoder_end_run(d, out);
}

static size_t hex_byte(struct scan_decoder *d, unsigned char ch, char *out)
{
	int v = hex_digit(ch);
	if (v >= 0)
		return decoder_digit(d, ch, (unsigned)v, 4, SCAN_DECODE_HEX_MIN, out);
	return decoder_end_run(d, out);
}

/* percent: a byte of the run into the ring of its last SCAN_DECODE_HELD. */
static void percent_hold(struct scan_decoder *d, char ch)
{
	if (d->n_held < SCAN_DECODE_HELD) {
		d->held[(d->held_at + d->n_held++) % SCAN_DECODE_HELD] = ch;
		return;
	}
	d->held[d->held_at] = ch;
	d->held_at = (uint16_t)((d->held_at + 1) % SCAN_DECODE_HELD);
}

/* The ring, oldest first, into out; emptied. */
static size_t percent_flush(struct scan_decoder *d, char *out)
{
	size_t n = d->n_held, first = SCAN_DECODE_HELD - d->held_at;
	if (first >= n) {
		memcpy(out, d->held + d->held_at, n);
	} else {
		memcpy(out, d->held + d->held_at, first);
		memcpy(out + first, d->held, n - first);
	}
	d->n_held = 0;
	d->held_at = 0;
	return n;
}

/* percent: a decoded byte of the run, held until the run has had an escape. */
static size_t percent_put(struct scan_decoder *d, char ch, char *out)
{
	if (d->emitting) {
		out[0] = ch;
		return 1;
	}
	percent_hold(d, ch);
	return 0;
}

/* An escape's bytes as read, when it turned out not to be one. */
static size_t percent_literal(struct scan_decoder *d, char *out)
{
	size_t n = percent_put(d, '%', out);
	for (int i = 0; i < d->n_esc; i++)
		n += percent_put(d, (char)d->esc[i], out + n);
	d->n_esc = -1;
	return n;
}

static size_t percent_byte(struct scan_decoder *d, unsigned char ch, char *out)
{
	size_t n = 0;

	if (d->n_esc >= 0) {
		if (hex_digit(ch) >= 0) {
			d->esc[d->n_esc++] = ch;
			if (d->n_esc < 2)
				return 0;
			char value = (char)(hex_digit(d->esc[0]) * 16 + hex_digit(d->esc[1]));
			d->n_esc = -1;
			if (!d->emitting) {
				d->emitting = true;
				n = percent_flush(d, out);
			}
			out[n++] = value;
			return n;
		}
		n = percent_literal(d, out);
	}
	if (percent_separator(ch))
		return n + decoder_end_run(d, out + n);
	d->run++;
	if (ch == '%') {
		d->n_esc = 0;
		return n;
	}
	return n + percent_put(d, ch == '+' ? ' ' : (char)ch, out + n);
}

/* percent, no run being emitted and no escape begun: up to the next escape, runs without one
 * are passed over whole, and the one it is in is held (its last SCAN_DECODE_HELD bytes), in
 * one go rather than byte by byte. Returns where the escape is, or n. */
static size_t percent_skip(struct scan_decoder *d, const unsigned char *in, size_t i, size_t n)
{
	const unsigned char *esc = memchr(in + i, '%', n - i);
	size_t stop = esc ? (size_t)(esc - in) : n, from = stop;

	while (from > i && stop - from < SCAN_DECODE_HELD && !percent_separator(in[from - 1]))
		from--;
	if (from > i) {
		/* A separator ended what was held (or the run is longer than is kept). */
		d->n_held = 0;
		d->held_at = 0;
		d->run = 0;
	}
	for (size_t k = from; k < stop; k++)
		percent_hold(d, in[k] == '+' ? ' ' : (char)in[k]);
	d->run += (uint32_t)(stop - from);
	return stop;
}

/* base64 and hex, no run being emitted: runs too short to decode are passed over whole, without
 * a branch per byte (mixed text ends a run every few bytes). A run long enough is emitted from
 * its start; one the input ends in is held. Returns where decoding goes on, or n. */
static size_t digits_skip(struct scan_decoder *d, const unsigned char *in, size_t i, size_t n)
{
	unsigned cls = d->kind == SCAN_DECODE_HEX ? CLASS_HEX
		       : d->slash_ends		  ? CLASS_BASE64_PATH
						  : CLASS_BASE64;
	unsigned min = d->kind == SCAN_DECODE_HEX ? SCAN_DECODE_HEX_MIN : SCAN_DECODE_BASE64_MIN;
	size_t run = d->run, j = i;

	for (; j < n; j++) {
		run = (byte_class[in[j]] & cls) ? run + 1 : 0;
		if (run >= min)
			break;
	}
	if (j == n) {
		/* The run the input ends in, held (shorter than min). */
		if (run <= n - i) {
			d->n_held = 0;
			memcpy(d->held, in + n - run, run);
		} else {
			memcpy(d->held + d->n_held, in + i, n - i);
		}
		d->n_held = (uint16_t)run;
		d->run = d->line = (uint32_t)run;
		return n;
	}
	if (run > j + 1 - i)
		return i; /* it began in what was held: byte by byte until it is emitted */
	d->n_held = 0;
	d->run = d->line = 0;
	d->emitting = true;
	return j + 1 - run;
}

/* In a run being decoded, nothing pending: its bytes as fast as they come, up to the first
 * that needs the byte-by-byte path (the run's end, a line break, an escape). Returns where. */
static size_t decoder_run(struct scan_decoder *d, const unsigned char *in, size_t i, size_t n,
			  char *out, size_t room, size_t *len)
{
	size_t o = *len;

	if (d->kind == SCAN_DECODE_PERCENT) {
		for (; i < n && o < room && in[i] != '%' && !percent_separator(in[i]); i++)
			out[o++] = in[i] == '+' ? ' ' : (char)in[i];
		*len = o;
		return i;
	}
	uint32_t bits = d->bits, run = d->run, line = d->line;
	unsigned n_bits = d->n_bits, width = d->kind == SCAN_DECODE_BASE64 ? 6 : 4;
	for (; i < n && o < room; i++) {
		int v = width == 6 ? (in[i] == '/' && d->slash_ends ? -1 : base64_digit(in[i]))
				   : hex_digit(in[i]);
		if (v < 0)
			break;
		bits = (bits << width) | (unsigned)v;
		n_bits += width;
		run++;
		line++;
		if (n_bits >= 8) {
			n_bits -= 8;
			out[o++] = (char)(bits >> n_bits);
			bits &= (1u << n_bits) - 1;
		}
	}
	d->bits = bits;
	d->n_bits = (uint8_t)n_bits;
	d->run = run;
	d->line = line;
	*len = o;
	return i;
}

bool scan_decode_worth(enum scan_decoding kind, const char *text, size_t n, bool path)
{
	if (kind == SCAN_DECODE_PERCENT)
		return n >= 3 && memchr(text, '%', n - 2);
	unsigned min = kind == SCAN_DECODE_HEX ? SCAN_DECODE_HEX_MIN : SCAN_DECODE_BASE64_MIN;
	unsigned cls = kind == SCAN_DECODE_HEX ? CLASS_HEX
		       : path		       ? CLASS_BASE64_PATH
					       : CLASS_BASE64;
	if (n < min)
		return false;
	for (size_t i = 0, run = 0; i < n; i++) {
		run = (byte_class[(unsigned char)text[i]] & cls) ? run + 1 : 0;
		if (run >= min)
			return true;
	}
	return false;
}

size_t scan_decoder_feed(struct scan_decoder *d, const char *in, size_t n, char *out,
			 size_t out_size, size_t *out_len)
{
	const unsigned char *bytes = (const unsigned char *)in;
	size_t i = 0, len = 0, room = out_size - SCAN_DECODE_SLACK;

	BUG_ON(out_size <= SCAN_DECODE_SLACK);
	for (; i < n && len <= room; i++) {
		if (!d->emitting && d->n_esc < 0 &&
		    (i = d->kind == SCAN_DECODE_PERCENT ? percent_skip(d, bytes, i, n)
							: digits_skip(d, bytes, i, n)) >= n)
			break;
		if (d->emitting && !d->break_seen && d->n_esc < 0 &&
		    ((i = decoder_run(d, bytes, i, n, out, room, &len)) >= n || len > room))
			break;
		unsigned char ch = (unsigned char)in[i];
		switch (d->kind) {
		case SCAN_DECODE_PERCENT:
			len += percent_byte(d, ch, out + len);
			break;
		case SCAN_DECODE_BASE64:
			len += base64_byte(d, ch, out + len);
			break;
		default:
			len += hex_byte(d, ch, out + len);
			break;
		}
	}
	*out_len = len;
	return i;
}

size_t scan_decoder_end(struct scan_decoder *d, char *out, size_t out_size)
{
	size_t n = 0;

	BUG_ON(out_size < SCAN_DECODE_SLACK);
	if (d->kind == SCAN_DECODE_PERCENT && d->n_esc >= 0)
		n = percent_literal(d, out);
	return n + decoder_end_run(d, out + n);
}
