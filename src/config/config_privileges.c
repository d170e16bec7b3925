#include "config/config_privileges.h"

#include "config/config_reader.h"
#include "config/config_value.h"

/* A user name as useradd(8) accepts it ([A-Za-z0-9._-], not starting with '-'), or digits for
 * a numeric uid. Whether the account exists is the daemon's question: this loader reads no
 * other file. */
static bool user_syntax_ok(struct slice s, const char **detail)
{
	bool digits = true;

	if (s.len == 0 || s.len > CONFIG_USER_MAX) {
		*detail = "a user name has 1 to 32 characters";
		return false;
	}
	if (s.ptr[0] == '-') {
		*detail = "a user name does not start with '-'";
		return false;
	}
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			*detail = "a user name has only letters, digits, '.', '_' and '-'";
			return false;
		}
		digits = digits && c >= '0' && c <= '9';
	}
	if (!digits)
		return true;
	unsigned long long uid;
	if (!config_value_parse_uint(s, &uid, detail))
		return false;
	/* (uid_t)-1 means "no change" to setuid(2); larger values do not fit a uid. */
	if (uid >= 4294967295ull) {
		*detail = "a numeric uid is below 4294967295";
		return false;
	}
	return true;
}

void config_privileges_read_user(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a user name or a numeric uid", &s))
		return;
	if (!user_syntax_ok(s, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid user: %s", path, q,
				    detail);
		return;
	}
	config_value_copy(r->cfg->user, sizeof(r->cfg->user), s);
}

void config_privileges_read_seccomp(struct config_reader *r, const struct config_key *k,
				    const char *path)
{
	config_reader_read_bool(r, path, &r->cfg->seccomp);
}
