/* console_assets: the console page (console/index.html, console.js and console.css, see
 * docs/console.md), built into the binary: cmake/embed_console.cmake writes console_assets.c
 * in the build tree at build time, a fixed table of path, Content-Type and bytes. Does not
 * serve them (io/admin does, with the page's headers) and reads no file at run time. */
#ifndef SLUICE_IO_CONSOLE_ASSETS_H
#define SLUICE_IO_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *path;	   /* "/", "/console.js", "/console.css" */
	const char *content_type;  /* "text/html; charset=utf-8", ... */
	const unsigned char *data; /* len bytes, then a NUL that len does not count */
	size_t len;
};

/* The asset served at path (path_len bytes, not NUL-terminated: the request target's path
 * without its query), or NULL. */
const struct console_asset *console_asset_find(const char *path, size_t path_len);

#endif
