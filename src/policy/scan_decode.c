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

static int base64_digit(unsigned char ch)
{
	/* The table's zeros are 'A' or nothing. */
	return base64_value[ch] || ch == 'A' ? base64_value[ch] : -1;
}

static int hex_digit(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Where a percent run ends: what separates values in a query, a form, JSON and text. */
static bool percent_separator(unsigned char ch)
{
	return ch <= ' ' || ch >= 0x7f || strchr("\"'<>&=;,\\", ch);
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

/* base64 and hex: a digit of the run. Held until the run is long enough, then all of it. */
static size_t decoder_digit(struct scan_decoder *d, unsigned char ch, unsigned value,
			    unsigned width, unsigned min, char *out)
{
	d->run++;
	if (d->emitting)
		return decoder_push(d, value, width, out);
	d->held[d->n_held++] = (char)ch;
	if (d->run < min)
		return 0;
	d->emitting = true;
	size_t n = 0;
	for (unsigned i = 0; i < d->n_held; i++) {
		unsigned char h = (unsigned char)d->held[i];
		n +=
		    decoder_push(d, width == 6 ? (unsigned)base64_digit(h) : (unsigned)hex_digit(h),
				 width, out + n);
	}
	d->n_held = 0;
	return n;
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

/* percent: a decoded byte of the run, held until the run has had an escape. */
static size_t percent_put(struct scan_decoder *d, char ch, char *out)
{
	if (d->emitting) {
		out[0] = ch;
		return 1;
	}
	if (d->n_held == SCAN_DECODE_HELD) {
		memmove(d->held, d->held + SCAN_DECODE_HELD / 2, SCAN_DECODE_HELD / 2);
		d->n_held = SCAN_DECODE_HELD / 2;
	}
	d->held[d->n_held++] = ch;
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
				memcpy(out, d->held, d->n_held);
				n = d->n_held;
				d->n_held = 0;
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

size_t scan_decoder_feed(struct scan_decoder *d, const char *in, size_t n, char *out,
			 size_t out_size, size_t *out_len)
{
	size_t i = 0, len = 0;

	BUG_ON(out_size <= SCAN_DECODE_SLACK);
	for (; i < n && len + SCAN_DECODE_SLACK <= out_size; i++) {
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
