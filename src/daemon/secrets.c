#include "daemon/secrets.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole small file; drops one trailing newline (an editor adds one). */
static int secrets_read_file(const char *path, char *out, size_t out_size, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	*len = fread(out, 1, out_size, f);
	int too_big = *len == out_size;
	fclose(f);
	if (too_big) {
		errno = EFBIG;
		return -1;
	}
	if (*len > 0 && out[*len - 1] == '\n')
		(*len)--;
	if (*len > 0 && out[*len - 1] == '\r')
		(*len)--;
	out[*len] = '\0';
	return 0;
}

/* The text a {env: NAME} or {file: PATH} source names. */
static int secrets_fetch(bool from_env, const char *source, char *out, size_t out_size, size_t *len,
			 const char **why)
{
	if (from_env) {
		const char *v = getenv(source);
		if (!v) {
			*why = "environment variable is not set";
			return -1;
		}
		*len = strlen(v);
		if (*len >= out_size) {
			*why = "value too long";
			return -1;
		}
		memcpy(out, v, *len + 1);
	} else if (secrets_read_file(source, out, out_size, len) != 0) {
		*why = strerror(errno);
		return -1;
	}
	if (*len == 0) {
		*why = "empty value";
		return -1;
	}
	for (size_t i = 0; i < *len; i++)
		if ((unsigned char)out[i] < 0x20 && out[i] != '\t') {
			*why = "control characters in the value";
			return -1;
		}
	return 0;
}

static const char *secrets_kind(bool from_env)
{
	return from_env ? "variable" : "file";
}

/* Every credentials: list of the configuration: the top level's, then each agent's own. */
static struct credential_list *secrets_cred_list(struct config *cfg, unsigned i)
{
	if (i == 0)
		return &cfg->base.credentials;
	return cfg->agents[i - 1].has_credentials ? &cfg->agents[i - 1].credentials : NULL;
}

static int secrets_resolve_credentials(struct config *cfg, const char *config_path, FILE *err)
{
	int problems = 0;
	size_t len;
	const char *why;

	for (unsigned l = 0; l <= cfg->n_agents; l++) {
		struct credential_list *list = secrets_cred_list(cfg, l);
		for (unsigned i = 0; list && i < list->n; i++) {
			struct credential *c = &list->items[i];
			bool env = c->secret_kind == CREDENTIAL_SECRET_ENV;
			if (secrets_fetch(env, c->secret_source, c->secret, sizeof(c->secret), &len,
					  &why) != 0) {
				fprintf(err, "%s:%d:%d: %s (%s): secret from %s %s: %s\n",
					config_path, c->secret_line, c->secret_column, c->label,
					c->name, secrets_kind(env), c->secret_source, why);
				explicit_bzero(c->secret, sizeof(c->secret));
				problems++;
				continue;
			}
			c->secret_len = len;
			c->ready = true;
		}
	}
	return problems;
}

int secrets_resolve(struct config *cfg, const char *config_path, FILE *err)
{
	char value[ROUTE_HEADER_VALUE_MAX + 1];
	size_t len;
	const char *why;
	int problems = 0;

	for (unsigned i = 0; i < cfg->n_agents; i++) {
		struct agent *a = &cfg->agents[i];
		if (a->token_kind != AGENT_TOKEN_FILE && a->token_kind != AGENT_TOKEN_ENV)
			continue;
		if (secrets_fetch(a->token_kind == AGENT_TOKEN_ENV, a->token_source, value,
				  sizeof(value), &len, &why) != 0) {
			fprintf(err, "%s:%d:%d: agent %s: token %s %s: %s\n", config_path,
				a->token_line, a->token_column, a->name,
				secrets_kind(a->token_kind == AGENT_TOKEN_ENV), a->token_source,
				why);
			problems++;
			continue;
		}
		SHA256((const unsigned char *)value, len, a->token_sha256);
		a->token_ready = true;
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		struct route *r = &cfg->routes[i];
		for (unsigned h = 0; h < r->n_set_headers; h++) {
			struct route_header_set *set = &r->set_headers[h];
			if (set->kind == ROUTE_VALUE_LITERAL)
				continue;
			if (secrets_fetch(set->kind == ROUTE_VALUE_ENV, set->source, set->value,
					  sizeof(set->value), &len, &why) != 0) {
				fprintf(err, "%s:%d:%d: route %s: header %s from %s %s: %s\n",
					config_path, set->line, set->column, r->host, set->name,
					secrets_kind(set->kind == ROUTE_VALUE_ENV), set->source,
					why);
				problems++;
				continue;
			}
			set->ready = true;
		}
	}
	OPENSSL_cleanse(value, sizeof(value));
	return problems + secrets_resolve_credentials(cfg, config_path, err);
}

unsigned secrets_list_unread(const struct config *cfg, const char *config_path, FILE *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->n_agents; i++) {
		const struct agent *a = &cfg->agents[i];
		if (a->token_kind != AGENT_TOKEN_FILE && a->token_kind != AGENT_TOKEN_ENV)
			continue;
		fprintf(out, "%s:%d:%d: agent %s: token %s %s: not read (--offline)\n", config_path,
			a->token_line, a->token_column, a->name,
			secrets_kind(a->token_kind == AGENT_TOKEN_ENV), a->token_source);
		n++;
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct route *r = &cfg->routes[i];
		for (unsigned h = 0; h < r->n_set_headers; h++) {
			const struct route_header_set *set = &r->set_headers[h];
			if (set->kind == ROUTE_VALUE_LITERAL)
				continue;
			fprintf(out,
				"%s:%d:%d: route %s: header %s from %s %s: not read (--offline)\n",
				config_path, set->line, set->column, r->host, set->name,
				secrets_kind(set->kind == ROUTE_VALUE_ENV), set->source);
			n++;
		}
	}
	for (unsigned l = 0; l <= cfg->n_agents; l++) {
		const struct credential_list *list = secrets_cred_list((struct config *)cfg, l);
		for (unsigned i = 0; list && i < list->n; i++) {
			const struct credential *c = &list->items[i];
			fprintf(out, "%s:%d:%d: %s (%s): secret from %s %s: not read (--offline)\n",
				config_path, c->secret_line, c->secret_column, c->label, c->name,
				secrets_kind(c->secret_kind == CREDENTIAL_SECRET_ENV),
				c->secret_source);
			n++;
		}
	}
	return n;
}
