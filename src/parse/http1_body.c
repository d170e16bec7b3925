/* http1_body: chunked body scanner (RFC 9112 §7.1); see http1_body.h.
 * A byte-at-a-time state machine for the framing lines and one jump over each chunk's data,
 * so any split of the input gives the same result and no byte is looked at twice. */
#include "parse/http1_body.h"

#include <string.h>

#include "base/hex.h"
#include "parse/http1.h"

enum chunked_state {
	ST_SIZE_FIRST,	    /* first HEXDIG of chunk-size */
	ST_SIZE,	    /* further HEXDIG, ';' or CR */
	ST_EXT_NAME_FIRST,  /* after ';': first tchar of chunk-ext-name */
	ST_EXT_NAME,	    /* tchar, '=', ';' or CR */
	ST_EXT_VALUE_FIRST, /* after '=': token or quoted-string */
	ST_EXT_TOKEN,	    /* tchar, ';' or CR */
	ST_EXT_QUOTED,	    /* qdtext, '\\' or the closing DQUOTE */
	ST_EXT_QUOTED_PAIR, /* the byte after '\\' */
	ST_EXT_QUOTED_END,  /* ';' or CR after the closing DQUOTE */
	ST_SIZE_LF,	    /* LF ending the chunk-size line */
	ST_DATA,	    /* chunk-data, `remaining` bytes */
	ST_DATA_CR,	    /* CR after chunk-data */
	ST_DATA_LF,	    /* LF after chunk-data */
	ST_TRAILER_START,   /* first byte of a trailer line, or CR of the final CRLF */
	ST_TRAILER_NAME,    /* tchar or ':' */
	ST_TRAILER_VALUE,   /* field-vchar, SP, HTAB or CR */
	ST_TRAILER_LF,	    /* LF ending a trailer line */
	ST_FINAL_LF,	    /* LF of the final CRLF */
	ST_DONE,
	ST_ERROR,
};

void http1_chunked_init(struct http1_chunked *c)
{
	c->state = ST_SIZE_FIRST;
	c->remaining = 0;
	c->line_len = 0;
	c->n_trailers = 0;
	c->trailers = NULL;
	c->trailers_cap = c->trailers_len = 0;
	c->error_detail = NULL;
}

void http1_chunked_keep_trailers(struct http1_chunked *c, char *buf, size_t cap)
{
	c->trailers = buf;
	c->trailers_cap = cap;
	c->trailers_len = 0;
}

static int fail(struct http1_chunked *c, const char *detail)
{
	c->state = ST_ERROR;
	c->error_detail = detail;
	return -1;
}

/* What may follow a chunk-size or one complete chunk-ext: another extension or the CR. */
static int size_line_next(struct http1_chunked *c, unsigned char ch)
{
	if (ch == ';')
		c->state = ST_EXT_NAME_FIRST;
	else if (ch == '\r')
		c->state = ST_SIZE_LF;
	else if (ch == ' ' || ch == '\t')
		return fail(c, "whitespace in chunk-size line");
	else if (ch == '\n')
		return fail(c, "bare LF in chunk-size line");
	else
		return fail(c, "malformed chunk-size line");
	return 0;
}

/* RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF; §7.1.1: chunk-ext = *( ";" name [ "=" value ] )
 * with value = token / quoted-string (RFC 9110 §5.6.4). */
static int size_line_step(struct http1_chunked *c, unsigned char ch)
{
	int digit;

	switch (c->state) {
	case ST_SIZE_FIRST:
		if ((digit = hex_value(ch)) < 0)
			return fail(c, "chunk-size is not hexadecimal");
		c->remaining = (uint64_t)digit;
		c->state = ST_SIZE;
		return 0;
	case ST_SIZE:
		if ((digit = hex_value(ch)) < 0)
			return size_line_next(c, ch);
		/* line_len counts this digit: the size so far has line_len digits. */
		if (c->line_len > HTTP1_CHUNKED_MAX_SIZE_DIGITS)
			return fail(c, "chunk-size too large");
		c->remaining = c->remaining << 4 | (uint64_t)digit;
		return 0;
	case ST_EXT_NAME_FIRST:
		if (!http1_is_tchar(ch))
			return fail(c, "malformed chunk extension");
		c->state = ST_EXT_NAME;
		return 0;
	case ST_EXT_NAME:
		if (ch == '=') {
			c->state = ST_EXT_VALUE_FIRST;
			return 0;
		}
		return http1_is_tchar(ch) ? 0 : size_line_next(c, ch);
	case ST_EXT_VALUE_FIRST:
		if (ch == '"')
			c->state = ST_EXT_QUOTED;
		else if (http1_is_tchar(ch))
			c->state = ST_EXT_TOKEN;
		else
			return fail(c, "malformed chunk extension value");
		return 0;
	case ST_EXT_TOKEN:
		return http1_is_tchar(ch) ? 0 : size_line_next(c, ch);
	case ST_EXT_QUOTED:
		if (ch == '"')
			c->state = ST_EXT_QUOTED_END;
		else if (ch == '\\')
			c->state = ST_EXT_QUOTED_PAIR;
		else if (!http1_is_field_char(ch))
			return fail(c, "control character in chunk extension");
		return 0;
	case ST_EXT_QUOTED_PAIR:
		if (!http1_is_field_char(ch))
			return fail(c, "control character in chunk extension");
		c->state = ST_EXT_QUOTED;
		return 0;
	case ST_EXT_QUOTED_END:
		return size_line_next(c, ch);
	default: /* ST_SIZE_LF */
		if (ch != '\n')
			return fail(c, "bare CR in chunk-size line");
		c->line_len = 0;
		c->state = c->remaining > 0 ? ST_DATA : ST_TRAILER_START;
		return 0;
	}
}

/* RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ) then the final CRLF; field lines
 * follow the same rules as in the head (no obs-fold, no whitespace before the colon, no
 * controls but HTAB in values). */
static int trailer_step(struct http1_chunked *c, unsigned char ch)
{
	if (ch == '\n' && c->state != ST_TRAILER_LF && c->state != ST_FINAL_LF)
		return fail(c, "bare LF in trailer section");
	bool in_field = c->state != ST_FINAL_LF && !(c->state == ST_TRAILER_START && ch == '\r');
	if (c->trailers && in_field) {
		if (c->trailers_len == c->trailers_cap)
			return fail(c, "trailer section too large");
		c->trailers[c->trailers_len++] = (char)ch;
	}
	switch (c->state) {
	case ST_TRAILER_START:
		if (ch == '\r') {
			c->state = ST_FINAL_LF;
			return 0;
		}
		if (ch == ' ' || ch == '\t')
			return fail(c, "obs-fold in trailer section");
		if (!http1_is_tchar(ch))
			return fail(c, "malformed trailer field name");
		if (++c->n_trailers > HTTP1_CHUNKED_MAX_TRAILERS)
			return fail(c, "too many trailer fields");
		c->state = ST_TRAILER_NAME;
		return 0;
	case ST_TRAILER_NAME:
		if (ch == ':')
			c->state = ST_TRAILER_VALUE;
		else if (ch == ' ' || ch == '\t')
			return fail(c, "whitespace between trailer field name and colon");
		else if (!http1_is_tchar(ch))
			return fail(c, "malformed trailer field name");
		return 0;
	case ST_TRAILER_VALUE:
		if (ch == '\r')
			c->state = ST_TRAILER_LF;
		else if (!http1_is_field_char(ch))
			return fail(c, "control character in trailer field value");
		return 0;
	case ST_TRAILER_LF:
		if (ch != '\n')
			return fail(c, "bare CR in trailer section");
		c->line_len = 0;
		c->state = ST_TRAILER_START;
		return 0;
	default: /* ST_FINAL_LF */
		if (ch != '\n')
			return fail(c, "bare CR after trailer section");
		c->state = ST_DONE;
		return 0;
	}
}

/* One byte of framing: everything but chunk-data. */
static int framing_step(struct http1_chunked *c, unsigned char ch)
{
	switch (c->state) {
	case ST_DATA_CR:
		if (ch != '\r')
			return fail(c, "chunk-data not followed by CRLF");
		c->state = ST_DATA_LF;
		return 0;
	case ST_DATA_LF:
		if (ch != '\n')
			return fail(c, "chunk-data not followed by CRLF");
		c->line_len = 0;
		c->state = ST_SIZE_FIRST;
		return 0;
	default:
		break;
	}
	if (++c->line_len > HTTP1_CHUNKED_MAX_LINE)
		return fail(c, "chunk-size or trailer line too long");
	if (c->state <= ST_SIZE_LF)
		return size_line_step(c, ch);
	return trailer_step(c, ch);
}

/* The one loop of parse and decode: out (when not NULL) gets the data bytes, *out_len their
 * number. */
static ssize_t chunked_run(struct http1_chunked *c, const char *buf, size_t len, char *out,
			   size_t *out_len, bool *done)
{
	size_t i = 0, o = 0;

	while (i < len && c->state != ST_DONE && c->state != ST_ERROR) {
		if (c->state == ST_DATA) {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			if (out)
				memcpy(out + o, buf + i, n);
			o += n;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = ST_DATA_CR;
			continue;
		}
		if (framing_step(c, (unsigned char)buf[i++]) < 0)
			break;
	}
	*done = c->state == ST_DONE;
	if (out_len)
		*out_len = c->state == ST_ERROR ? 0 : o;
	if (c->state == ST_ERROR)
		return -1;
	return (ssize_t)i;
}

ssize_t http1_chunked_parse(struct http1_chunked *c, const char *buf, size_t len, bool *done)
{
	return chunked_run(c, buf, len, NULL, NULL, done);
}

ssize_t http1_chunked_decode(struct http1_chunked *c, const char *buf, size_t len, char *out,
			     size_t *out_len, bool *done)
{
	return chunked_run(c, buf, len, out, out_len, done);
}
