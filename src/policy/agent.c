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
	domain_set_free(a->ask);
	domain_set_free(a->intercept);
	request_rules_fini(&a->rules);
	credentials_fini(&a->credentials);
	scan_config_fini(&a->scan);
	/* The hash of a secret is still worth not leaving behind. */
	OPENSSL_cleanse(a->token_sha256, sizeof(a->token_sha256));
	a->sources = NULL;
	a->allow = a->deny = a->intercept = NULL;
}

bool agent_requires_token(const struct agent *a)
{
	return a->token_kind != AGENT_TOKEN_NONE;
}

void agent_credentials_set(struct agent_credentials *cr, struct slice user, struct slice token)
{
	_Static_assert(sizeof(cr->token_sha256) == SHA256_DIGEST_LENGTH, "token hash size");
	/* A longer name can name no agent; kept cut short it might name one. */
	if (user.len <= AGENT_NAME_MAX) {
		memcpy(cr->user, user.ptr, user.len);
		cr->user[user.len] = '\0';
	} else {
		cr->user[0] = '\0';
	}
	SHA256((const unsigned char *)token.ptr, token.len, cr->token_sha256);
}

bool agent_token_matches(const struct agent *a, const struct agent_credentials *cr)
{
	if (!agent_requires_token(a) || !a->token_ready)
		return false;
	/* Constant time: the comparison must not tell an attacker how much of a guess was right. */
	return CRYPTO_memcmp(cr->token_sha256, a->token_sha256, sizeof(a->token_sha256)) == 0;
}
