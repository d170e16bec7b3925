#include "parse/dns_type.h"

#include <stddef.h>

static const struct {
	uint16_t type;
	const char *name;
} types[] = {
    {DNS_TYPE_A, "A"},		 {DNS_TYPE_NS, "NS"},	    {DNS_TYPE_CNAME, "CNAME"},
    {DNS_TYPE_SOA, "SOA"},	 {DNS_TYPE_PTR, "PTR"},	    {DNS_TYPE_HINFO, "HINFO"},
    {DNS_TYPE_MX, "MX"},	 {DNS_TYPE_TXT, "TXT"},	    {DNS_TYPE_AAAA, "AAAA"},
    {DNS_TYPE_LOC, "LOC"},	 {DNS_TYPE_SRV, "SRV"},	    {DNS_TYPE_NAPTR, "NAPTR"},
    {DNS_TYPE_DNAME, "DNAME"},	 {DNS_TYPE_OPT, "OPT"},	    {DNS_TYPE_DS, "DS"},
    {DNS_TYPE_SSHFP, "SSHFP"},	 {DNS_TYPE_RRSIG, "RRSIG"}, {DNS_TYPE_NSEC, "NSEC"},
    {DNS_TYPE_DNSKEY, "DNSKEY"}, {DNS_TYPE_NSEC3, "NSEC3"}, {DNS_TYPE_NSEC3PARAM, "NSEC3PARAM"},
    {DNS_TYPE_TLSA, "TLSA"},	 {DNS_TYPE_CDS, "CDS"},	    {DNS_TYPE_CDNSKEY, "CDNSKEY"},
    {DNS_TYPE_SVCB, "SVCB"},	 {DNS_TYPE_HTTPS, "HTTPS"}, {DNS_TYPE_SPF, "SPF"},
    {DNS_TYPE_TKEY, "TKEY"},	 {DNS_TYPE_TSIG, "TSIG"},   {DNS_TYPE_IXFR, "IXFR"},
    {DNS_TYPE_AXFR, "AXFR"},	 {DNS_TYPE_ANY, "ANY"},	    {DNS_TYPE_URI, "URI"},
    {DNS_TYPE_CAA, "CAA"},
};

const char *dns_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
}

/* RFC 3597 §5: "TYPE" and the decimal number. A leading zero or 0 itself is refused, so that
 * each type has one spelling in a configuration. */
static int generic_type(struct slice s)
{
	unsigned long long v;
	if (s.len < 5 || !slice_eq_nocase(slice_make(s.ptr, 4), SLICE_LIT("TYPE")))
		return -1;
	struct slice digits = slice_make(s.ptr + 4, s.len - 4);
	if (digits.ptr[0] == '0' || digits.len > 5 || !slice_parse_u64(digits, &v) || v > 65535)
		return -1;
	return (int)v;
}

int dns_type_from_name(struct slice s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (slice_eq_cstr_nocase(s, types[i].name))
			return types[i].type;
	return generic_type(s);
}
