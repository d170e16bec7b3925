#include "policy/agent.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "policy/cidr_set.h"
#include "policy/domain_set.h"

void agent_init(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	a->mode = AGENT_ENFORCE;
	a->token_kind = AGENT_TOKEN_NONE;
}

void agent_fini(struct agent *a)
{
	cidr_set_free(a->sources);
	domain_set_free(a->allow);
	domain_set_free(a->deny);
	/* The hash of a secret is still worth not leaving behind. */
	OPENSSL_cleanse(a->token_sha256, sizeof(a->token_sha256));
	a->sources = NULL;
	a->allow = a->deny = NULL;
}

bool agent_requires_token(const struct agent *a)
{
	return a->token_kind != AGENT_TOKEN_NONE;
}

bool agent_token_matches(const struct agent *a, struct slice token)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	if (!agent_requires_token(a) || !a->token_ready)
		return false;
	SHA256((const unsigned char *)token.ptr, token.len, digest);
	/* Constant time: the comparison must not tell an attacker how much of a guess was right. */
	return CRYPTO_memcmp(digest, a->token_sha256, sizeof(digest)) == 0;
}

const char *agent_mode_name(enum agent_mode m)
{
	switch (m) {
	case AGENT_ENFORCE:
		return "enforce";
	case AGENT_REPORT:
		return "report";
	case AGENT_OPEN:
		return "open";
	}
	return "enforce";
}
