/* hex: the value of one hexadecimal digit, shared by the parsers that read percent-encoding,
 * chunk sizes and \u escapes, and one digit of a value. Does not read whole numbers: each caller
 * bounds its own. */
#ifndef SLUICE_BASE_HEX_H
#define SLUICE_BASE_HEX_H

/* 0-15 for [0-9a-fA-F], else -1. Takes a char or an unsigned char value alike. */
static inline int hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The lower-case digit of v (0-15). */
static inline char hex_digit_lower(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

#endif
