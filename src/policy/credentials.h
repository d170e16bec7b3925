/* credentials: secrets that stay at the proxy (credentials: in the configuration, top level and
 * per agent). The agent holds a placeholder; on a request to one of the credential's hosts the
 * placeholder, where the credential says it goes (a header or a query parameter), is replaced
 * by the secret, and a placeholder sent anywhere else is refused: the secret never enters the
 * sandbox, and the placeholder is no use outside it. Pure: the secret is read by daemon/secrets,
 * the head rebuilt by emit/http_head; this decides what is replaced and what is refused. */
#ifndef SLUICE_POLICY_CREDENTIALS_H
#define SLUICE_POLICY_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "parse/http1.h"

#define CREDENTIALS_MAX 64
#define CREDENTIAL_NAME_MAX 64
#define CREDENTIAL_HEADER_MAX 128
#define CREDENTIAL_FORMAT_MAX 256
#define CREDENTIAL_SECRET_MAX 4096
#define CREDENTIAL_PLACEHOLDER_MAX 128
#define CREDENTIAL_SOURCE_MAX 4096
/* Credentials one request may use at once (one per header or parameter they name). */
#define CREDENTIAL_USES_MAX 8

struct domain_set;

enum credential_secret_kind {
	CREDENTIAL_SECRET_ENV,	/* {env: NAME} */
	CREDENTIAL_SECRET_FILE, /* {file: /path} (a trailing newline dropped) */
};

struct credential {
	char name[CREDENTIAL_NAME_MAX + 1]; /* [A-Za-z0-9._-]+, unique in its list */
	char label[96];			    /* "credentials[0]", "agents[coder].credentials[1]" */
	struct domain_set *hosts;	    /* where it belongs (owned) */
	/* where it goes: a header (format holds "{secret}" once: "Bearer {secret}") or a query
	 * parameter */
	char header[CREDENTIAL_HEADER_MAX + 1];
	char format[CREDENTIAL_FORMAT_MAX + 1];
	char query[CREDENTIAL_HEADER_MAX + 1];
	/* the placeholder: fixed, or "" to derive one per agent (credentials_placeholder) */
	char placeholder[CREDENTIAL_PLACEHOLDER_MAX + 1];
	bool require; /* a request to its hosts without the placeholder is refused */
	/* the secret: {env: NAME} or {file: /path}, read by the daemon at start and reload */
	enum credential_secret_kind secret_kind;
	char secret_source[CREDENTIAL_SOURCE_MAX + 1];
	int secret_line, secret_column;
	char secret[CREDENTIAL_SECRET_MAX + 1];
	size_t secret_len;
	bool ready;
};

struct credential_list {
	struct credential *items; /* owned; wiped when freed */
	unsigned n;
};

void credentials_fini(struct credential_list *list);

/* The placeholder agent_name is given for c: c's fixed one, or "sluice-<name>-<24 hex digits>"
 * derived from the agent's and the credential's names (stable across restarts and secret
 * rotation; telling nothing of the secret). out has CREDENTIAL_PLACEHOLDER_MAX + 1 bytes. */
void credentials_placeholder(const struct credential *c, const char *agent_name, char *out);

/* True when some credential of the list belongs to host. */
bool credentials_cover(const struct credential_list *list, struct slice host);

/* One replacement the head sent upstream makes. */
struct credential_use {
	const struct credential *cred;
	int header; /* index into the request's headers; -1: the query parameter */
	char placeholder[CREDENTIAL_PLACEHOLDER_MAX + 1];
};

enum credentials_result {
	CREDENTIALS_OK,	      /* uses[0..*n) to make (maybe none) */
	CREDENTIALS_MISSING,  /* a credential with require: true belongs to host, and the
			       * request does not carry its placeholder where it goes */
	CREDENTIALS_MISUSE,   /* a placeholder of the agent's goes to a host it does not belong
			       * to */
	CREDENTIALS_TOO_MANY, /* more replacements than CREDENTIAL_USES_MAX */
};

/* Judges a request (its head and target as sent; host without port, lower case) for the
 * agent's credentials. *which is the credential the result is about (for the log's rule). */
enum credentials_result credentials_judge(const struct credential_list *list,
					  const char *agent_name, struct slice host,
					  const struct http1_request *req, struct slice target,
					  struct credential_use *uses, unsigned *n,
					  const struct credential **which);

#endif
