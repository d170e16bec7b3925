/* Fuzz target for config/config and config/config_redact: any bytes in, a config or a list of
 * errors out; never a crash, a leak or a read past the input (the input is not NUL-terminated). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/bug.h"
#include "config/config.h"
#include "config/config_redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errors;
	char line[CONFIG_ERROR_MAX + 32];
	struct config *cfg = config_parse((const char *)data, size, &errors);

	/* A config is returned exactly when nothing was wrong. */
	BUG_ON((cfg != NULL) != (errors.count == 0 && errors.dropped == 0));
	BUG_ON(errors.count > CONFIG_MAX_ERRORS);
	for (unsigned i = 0; i < errors.count; i++)
		config_error_format(&errors.items[i], line, sizeof(line));
	if (cfg) {
		BUG_ON(cfg->n_listen_http == 0 || cfg->n_listen_http > CONFIG_MAX_LISTEN);
		BUG_ON(cfg->n_listen_http != cfg->rules.n_listeners);
		BUG_ON(cfg->n_resolvers > CONFIG_MAX_RESOLVERS);
		BUG_ON(cfg->log_file[0] != '\0' && cfg->log_file[0] != '/');
		BUG_ON(memchr(cfg->log_file, '\0', sizeof(cfg->log_file)) == NULL);
		/* Whatever reads as a configuration is shown redacted (/api/policy). */
		BUG_ON(cfg->policy_text == NULL);
	}
	config_free(cfg);
	/* And any bytes at all: redacted or refused, never a crash or a read past the input. */
	struct buf out = {0};
	config_redact((const char *)data, size, &out, 8 * size + 4096);
	buf_release(&out);
	return 0;
}
