/* main: command line, configuration loading, signals, and the worker's life.
 * Proxies nothing itself. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/listener.h"
#include "io/worker.h"
#include "parse/config.h"

/* Largest configuration file accepted. */
#define MAIN_CONFIG_MAX (16u << 20)

static void main_usage(FILE *out)
{
	fputs("usage: sluice [-c FILE]            run the proxy (embedded default config without -c)\n"
	      "       sluice check -c FILE        validate a config file and exit 0 (valid) or 1\n"
	      "       sluice --version | --help\n"
	      "\n"
	      "sluice is an egress proxy for sandboxed AI agents: HTTP forward proxy and CONNECT\n"
	      "tunnels with per-destination policy and a built-in block of internal addresses.\n"
	      "Decisions are logged as JSON lines on stdout; operational messages go to stderr.\n",
	      out);
}

static char *main_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *grown = cap <= MAIN_CONFIG_MAX ? realloc(text, cap) : NULL;
			if (!grown) {
				free(text);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			text = grown;
		}
		size_t n = fread(text + *len, 1, cap - *len - 1, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	text[*len] = '\0';
	return text;
}

static struct config *main_load_config(const char *path)
{
	struct config_errors errors;
	size_t len;
	char *text;
	struct config *cfg;

	if (!path)
		return config_default();
	text = main_read_file(path, &len);
	if (!text) {
		fprintf(stderr, "sluice: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	memset(&errors, 0, sizeof(errors));
	cfg = config_parse(text, len, &errors);
	free(text);
	if (!cfg) {
		for (unsigned i = 0; i < errors.count; i++) {
			char msg[CONFIG_ERROR_MAX + 32];
			config_error_format(&errors.items[i], msg, sizeof(msg));
			fprintf(stderr, "%s:%s\n", path, msg);
		}
		if (errors.dropped)
			fprintf(stderr, "%s: ... and %u more errors\n", path, errors.dropped);
		if (errors.count == 0)
			fprintf(stderr, "%s: invalid configuration\n", path);
	}
	return cfg;
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	fprintf(stderr, "sluice: signal %d, stopping\n", (int)sig);
	worker_stop(w);
}

static int main_run(const char *config_path)
{
	struct config *cfg = main_load_config(config_path);
	struct worker w;
	int rc;

	if (!cfg)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	listener_expand_wildcards(&cfg->rules);
	if (worker_init(&w, cfg) != 0) {
		config_free(cfg);
		return 1;
	}
	struct event *sigterm = evsignal_new(w.base, SIGTERM, main_on_signal, &w);
	struct event *sigint = evsignal_new(w.base, SIGINT, main_on_signal, &w);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	rc = worker_run(&w);
	event_free(sigterm);
	event_free(sigint);
	worker_fini(&w);
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}

static int main_check(const char *config_path)
{
	struct config *cfg = main_load_config(config_path);
	if (!cfg)
		return 1;
	printf("%s: ok (%u listen address%s, %u resolver%s)\n", config_path, cfg->n_listen_http,
	       cfg->n_listen_http == 1 ? "" : "es", cfg->n_resolvers,
	       cfg->n_resolvers == 1 ? "" : "s");
	config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool check = false;
	int i = 1;

	if (i < argc && strcmp(argv[i], "check") == 0) {
		check = true;
		i++;
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("sluice %s\n", SLUICE_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			main_usage(stdout);
			return 0;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			config_path = argv[++i];
			continue;
		}
		fprintf(stderr, "sluice: unknown argument '%s'\n", argv[i]);
		main_usage(stderr);
		return 2;
	}
	if (check) {
		if (!config_path) {
			fprintf(stderr, "sluice: check needs -c FILE\n");
			return 2;
		}
		return main_check(config_path);
	}
	return main_run(config_path);
}
