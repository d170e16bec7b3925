/* file_text: a whole file read into memory, for the configuration and the approvals overlay.
 * One reader, so every file sluice reads has the same limit handling and errors. */
#ifndef SLUICE_IO_FILE_TEXT_H
#define SLUICE_IO_FILE_TEXT_H

#include <stddef.h>

/* Reads path into a malloc'd, NUL-terminated buffer the caller frees; *len is its length
 * without the NUL. Returns NULL with errno set: fopen's or fread's errno, ENOMEM, or EFBIG when
 * the file is larger than max bytes (read no further than max + 1). */
char *file_text_read(const char *path, size_t max, size_t *len);

#endif
