/* http1_body: incremental scanner for chunked message bodies (RFC 9112 §7.1).
 * sluice forwards chunked bodies unchanged, so the scanner mostly finds where the message ends
 * and refuses malformed framing; its decoder gives the data alone, for a protocol with framing
 * of its own (HTTP/2 DATA frames). Does not allocate. */
#ifndef SLUICE_PARSE_HTTP1_BODY_H
#define SLUICE_PARSE_HTTP1_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP1_CHUNKED_MAX_LINE 4096   /* bytes of one chunk-size or trailer line, CRLF included */
#define HTTP1_CHUNKED_MAX_TRAILERS 64 /* trailer field lines after the last chunk */
#define HTTP1_CHUNKED_MAX_SIZE_DIGITS 16 /* hex digits of a chunk-size: fits uint64_t */

struct http1_chunked {
	int state;	    /* private */
	uint64_t remaining; /* private: data bytes left in the current chunk */
	unsigned line_len;  /* private: bytes of the current size/trailer line */
	unsigned n_trailers;
	/* Where the trailer field lines go (each with its CRLF, the final CRLF not), when the
	 * caller set them with http1_chunked_keep_trailers; NULL: they are checked, not kept. */
	char *trailers;
	size_t trailers_cap, trailers_len;
	const char *error_detail; /* static text naming what was wrong, once -1 was returned */
};

void http1_chunked_init(struct http1_chunked *c);
/* Keeps the trailer section's field lines in buf (cap bytes, the caller's): a section that does
 * not fit is an error ("trailer section too large"). Call after init, before any bytes. */
void http1_chunked_keep_trailers(struct http1_chunked *c, char *buf, size_t cap);

/* Scans buf[0..len). Returns how many bytes belong to this message (data and framing, to be
 * forwarded verbatim), which is less than len only when the message ends inside buf; sets *done
 * once the last-chunk, trailers and final CRLF are consumed. Returns -1 on malformed framing
 * (bad hex, size overflow, missing CRLF, bare CR/LF, controls in extensions, over-long lines or
 * too many trailer lines). Can be called with any split of the input: the result depends only
 * on the concatenation of the bytes passed so far. After -1 every call returns -1; after done,
 * every call returns 0 with *done set. Chunk extensions are accepted only without whitespace
 * (";name", ";name=token", ";name=\"quoted\""): the BWS that RFC 9112 §7.1.1 tolerates is
 * refused, as other parsers disagree about it. */
ssize_t http1_chunked_parse(struct http1_chunked *c, const char *buf, size_t len, bool *done);
/* The same scan, copying the chunk data (extensions and trailers dropped) to out, which has
 * room for len bytes; *out_len is how many it got (0 after -1). The same split-independence:
 * the data out depends only on the concatenation of the bytes passed. */
ssize_t http1_chunked_decode(struct http1_chunked *c, const char *buf, size_t len, char *out,
			     size_t *out_len, bool *done);

#endif
