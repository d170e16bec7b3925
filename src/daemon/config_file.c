/* config_file: a configuration file to a struct config; see config_file.h. */
#include "daemon/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/secrets.h"
#include "io/file_text.h"

/* Largest configuration file accepted. */
#define CONFIG_FILE_MAX (16u << 20)

struct config *config_file_parse(const char *path)
{
	struct config_errors errors;
	size_t len;
	char *text;
	struct config *cfg;

	text = file_text_read(path, CONFIG_FILE_MAX, &len);
	if (!text) {
		fprintf(stderr, "sluice: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	memset(&errors, 0, sizeof(errors));
	cfg = config_parse(text, len, &errors);
	free(text);
	if (cfg)
		return cfg;
	for (unsigned i = 0; i < errors.count; i++) {
		char msg[CONFIG_ERROR_MAX + 32];
		config_error_format(&errors.items[i], msg, sizeof(msg));
		fprintf(stderr, "%s:%s\n", path, msg);
	}
	if (errors.dropped)
		fprintf(stderr, "%s: ... and %u more errors\n", path, errors.dropped);
	if (errors.count == 0)
		fprintf(stderr, "%s: invalid configuration\n", path);
	return NULL;
}

struct config *config_file_load(const char *path)
{
	struct config *cfg;

	if (!path)
		return config_default();
	cfg = config_file_parse(path);
	if (cfg && secrets_resolve(cfg, path, stderr) != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}
