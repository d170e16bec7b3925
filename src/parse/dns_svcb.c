#include "parse/dns_svcb.h"

#include <string.h>

#include "base/bug.h"

static uint16_t get16(const char *p)
{
	return (uint16_t)((uint8_t)p[0] << 8 | (uint8_t)p[1]);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 9460 §8: the keys in ascending order (as its example writes them), none twice, and not
 * mandatory itself. */
static bool mandatory_ok(struct slice v)
{
	if (v.len == 0 || v.len % 2 != 0)
		return false;
	long prev = DNS_SVCB_MANDATORY;
	for (size_t i = 0; i < v.len; i += 2) {
		long key = get16(v.ptr + i);
		if (key <= prev)
			return false;
		prev = key;
	}
	return true;
}

/* RFC 9460 §7.1.1: alpn-ids of 1..255 bytes, each after its length, filling the value. */
static bool alpn_ok(struct slice v)
{
	if (v.len == 0)
		return false;
	size_t at = 0;
	while (at < v.len) {
		size_t n = (uint8_t)v.ptr[at];
		if (n == 0 || v.len - at - 1 < n)
			return false;
		at += 1 + n;
	}
	return true;
}

static bool value_ok(uint16_t key, struct slice v, const char **detail)
{
	bool ok = true;
	switch (key) {
	case DNS_SVCB_MANDATORY:
		ok = mandatory_ok(v);
		break;
	case DNS_SVCB_ALPN:
		ok = alpn_ok(v);
		break;
	case DNS_SVCB_NO_DEFAULT_ALPN:
	case DNS_SVCB_OHTTP:
		ok = v.len == 0;
		break;
	case DNS_SVCB_PORT:
		ok = v.len == 2;
		break;
	case DNS_SVCB_IPV4HINT:
		ok = v.len > 0 && v.len % 4 == 0;
		break;
	case DNS_SVCB_IPV6HINT:
		ok = v.len > 0 && v.len % 16 == 0;
		break;
	case DNS_SVCB_INVALID_KEY:
		*detail = "SvcParamKey 65535 is reserved";
		return false;
	}
	if (!ok)
		*detail = "SvcParamValue not in its key's format";
	return ok;
}

/* One SvcParam at rdata[*at]: its key and value; false when the RDATA ends inside it. */
static bool param_next(struct slice rdata, size_t *at, uint16_t *key, struct slice *value)
{
	if (rdata.len - *at < 4)
		return false;
	*key = get16(rdata.ptr + *at);
	size_t len = get16(rdata.ptr + *at + 2);
	if (rdata.len - *at - 4 < len)
		return false;
	*value = slice_make(rdata.ptr + *at + 4, len);
	*at += 4 + len;
	return true;
}

/* RFC 9460 §8: each key mandatory lists appears in the RR. Both lists ascend: one merge. */
static bool mandatory_present(const struct dns_svcb *s, struct slice list)
{
	size_t at = s->params_at;
	uint16_t key = 0;
	struct slice value;
	for (size_t i = 0; i < list.len; i += 2) {
		uint16_t want = get16(list.ptr + i);
		do {
			if (!param_next(s->rdata, &at, &key, &value))
				return false;
		} while (key < want);
		if (key != want)
			return false;
	}
	return true;
}

static int parse_params(struct dns_svcb *out, const char **detail)
{
	struct slice mandatory = {NULL, 0};
	size_t at = out->params_at;
	long prev = -1;
	while (at < out->rdata.len) {
		uint16_t key;
		struct slice v;
		if (!param_next(out->rdata, &at, &key, &v)) {
			*detail = "RDATA ends inside a SvcParam";
			return -1;
		}
		if (key <= prev) {
			*detail = "SvcParamKeys not in strictly increasing order";
			return -1;
		}
		prev = key;
		if (!value_ok(key, v, detail))
			return -1;
		if (key == DNS_SVCB_MANDATORY)
			mandatory = v;
		else if (key == DNS_SVCB_ECH)
			out->has_ech = true;
		else if (key == DNS_SVCB_IPV4HINT)
			out->ipv4hint = v;
		else if (key == DNS_SVCB_IPV6HINT)
			out->ipv6hint = v;
		out->n_params++;
	}
	if (mandatory.ptr != NULL && !mandatory_present(out, mandatory)) {
		*detail = "a mandatory SvcParamKey is missing";
		return -1;
	}
	out->mandatory = mandatory;
	return 0;
}

static int parse_rdata(struct slice rdata, struct dns_svcb *out, const char **detail)
{
	enum dns_msg_error error;
	if (rdata.len < 3) {
		*detail = "RDATA shorter than SvcPriority and TargetName";
		return -1;
	}
	out->rdata = rdata;
	out->priority = get16(rdata.ptr);
	int n = dns_msg_name_parse(slice_make(rdata.ptr + 2, rdata.len - 2), &out->target, &error);
	if (n < 0) {
		/* RFC 9460 §2.2: the TargetName is uncompressed. */
		*detail = error == DNS_MSG_ERR_NAME_POINTER ? "TargetName is compressed"
							    : "TargetName malformed";
		return -1;
	}
	out->params_at = 2 + (size_t)n;
	return parse_params(out, detail);
}

int dns_svcb_parse(struct slice rdata, struct dns_svcb *out, const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	memset(out, 0, sizeof(*out));
	int rc = parse_rdata(rdata, out, detail);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

bool dns_svcb_hint_next(const struct dns_svcb *s, size_t *pos, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (*pos < s->ipv4hint.len) {
		out->family = IP_V4;
		memcpy(out->bytes, s->ipv4hint.ptr + *pos, 4);
		*pos += 4;
		return true;
	}
	size_t v6 = *pos - s->ipv4hint.len;
	if (v6 < s->ipv6hint.len) {
		out->family = IP_V6;
		memcpy(out->bytes, s->ipv6hint.ptr + v6, 16);
		*pos += 16;
		return true;
	}
	return false;
}

static bool in_mask(uint32_t keys, uint16_t key)
{
	return key < 32 && (keys >> key & 1u);
}

bool dns_svcb_mandatory_lists(const struct dns_svcb *s, uint16_t key)
{
	for (size_t i = 0; i + 1 < s->mandatory.len; i += 2)
		if (get16(s->mandatory.ptr + i) == key)
			return true;
	return false;
}

/* mandatory without the keys stripped: written at out[*len] (key, length, keys), or nothing
 * when no key is left. */
static bool put_mandatory(struct slice v, uint32_t keys, uint8_t *out, size_t cap, size_t *len)
{
	size_t keep = 0;
	for (size_t i = 0; i < v.len; i += 2)
		keep += in_mask(keys, get16(v.ptr + i)) ? 0 : 2;
	if (keep == 0)
		return true;
	if (cap - *len < 4 + keep)
		return false;
	put16(out + *len, DNS_SVCB_MANDATORY);
	put16(out + *len + 2, (unsigned)keep);
	*len += 4;
	for (size_t i = 0; i < v.len; i += 2) {
		if (in_mask(keys, get16(v.ptr + i)))
			continue;
		memcpy(out + *len, v.ptr + i, 2);
		*len += 2;
	}
	return true;
}

int dns_svcb_strip(const struct dns_svcb *s, uint32_t keys, uint8_t *out, size_t cap)
{
	size_t len = s->params_at, at = s->params_at;
	uint16_t key;
	struct slice v;
	BUG_ON(s->rdata.ptr == NULL);
	if (cap < len)
		return -1;
	memcpy(out, s->rdata.ptr, len);
	while (param_next(s->rdata, &at, &key, &v)) {
		if (in_mask(keys, key))
			continue;
		if (key == DNS_SVCB_MANDATORY) {
			if (!put_mandatory(v, keys, out, cap, &len))
				return -1;
			continue;
		}
		if (cap - len < 4 + v.len)
			return -1;
		memcpy(out + len, v.ptr - 4, 4 + v.len);
		len += 4 + v.len;
	}
	return (int)len;
}

int dns_svcb_strip_hints(const struct dns_svcb *s, uint8_t *out, size_t cap)
{
	return dns_svcb_strip(s, DNS_SVCB_HINT_KEYS, out, cap);
}
