/* config_value: the grammars of one value: numbers, ports, durations, sizes, IP endpoints, names
 * and paths; text in, a value or a static detail out. Does not read YAML or report errors. */
#ifndef SLUICE_CONFIG_CONFIG_VALUE_H
#define SLUICE_CONFIG_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "config/config.h"

/* ---- numbers --------------------------------------------------------------------------- */

/* Strict unsigned decimal: digits only, no sign, no leading zero (YAML 1.1 reads 0443 as octal;
 * refusing it avoids guessing which the user meant). */
bool config_value_parse_uint(struct slice s, unsigned long long *out, const char **detail);
/* A port: a strict decimal from 1 to 65535. */
bool config_value_parse_port(struct slice s, unsigned *port, const char **detail);
/* "80", "8000-8999" or "*" (1-65535). */
bool config_value_parse_port_range(struct slice s, unsigned *lo, unsigned *hi, const char **detail);
/* "10", "0.5" (seconds), "500ms", "30s", "5m", "1h": a whole number of milliseconds in
 * 1ms..24h. Integer arithmetic only, so "0.1" is exactly 100ms. */
bool config_value_parse_duration(struct slice s, unsigned *ms, const char **detail);
/* "1048576", "512KiB", "10MiB", "1GiB": a whole number of bytes. Binary units only, spelt the
 * IEC way, so that "10MB" (10^6 or 2^20?) is refused rather than guessed at. */
bool config_value_parse_size(struct slice s, uint64_t *out, const char **detail);

/* ---- addresses, names and paths -------------------------------------------------------- */

/* An IP literal endpoint (names are never resolved at load time: the config must not depend on
 * DNS). IPv6 always goes in brackets: "::1:53" could be an address or an address and a port.
 * default_port 0 means a port is required. */
bool config_value_parse_endpoint(struct slice s, uint16_t default_port, struct config_endpoint *out,
				 const char **detail);
/* RFC 9110 §5.6.2: a token (a method, a header field name), at least one tchar. */
bool config_value_is_token(struct slice s);
/* Agent names: [A-Za-z0-9._-]{1,64}. They are the user part of Proxy-Authorization and appear
 * in every log line, so nothing that needs quoting or escaping. */
bool config_value_is_agent_name(struct slice s);
/* POSIX portable environment variable names: [A-Za-z_][A-Za-z0-9_]*, at most max bytes. */
bool config_value_is_env_name(struct slice s, size_t max);
/* Files the daemon reads later: absolute (the daemon's working directory is nobody's business)
 * and free of control bytes, so a message can show the path as it is. */
bool config_value_file_path_ok(struct slice s, size_t max, const char **detail);
/* A SHA-256 written as 64 hex digits (either case) into out. On failure, got says what was
 * there instead ("'g' at position 3", "63 digits"), for a message. */
bool config_value_parse_sha256(struct slice s, uint8_t out[32], char *got, size_t got_size);
/* Copies a slice whose length the caller has checked against the destination. */
void config_value_copy(char *dst, size_t size, struct slice s);
/* The index of the first byte of s that is neither printable ASCII (0x20-0x7e) nor `also` (one
 * more byte the value may hold: '\n' in guidance, '\t' in a header value); s.len when none. */
size_t config_value_unprintable(struct slice s, char also);

#endif
