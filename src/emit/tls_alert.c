#include "emit/tls_alert.h"

enum tls_alert tls_alert_for(enum reason why)
{
	switch (why) {
	case REASON_NOT_TLS:
	case REASON_TLS_MALFORMED:
	case REASON_TLS_TOO_LARGE:
		return TLS_ALERT_DECODE_ERROR;
	case REASON_TLS_NO_SNI:
	case REASON_TLS_SNI_LITERAL:
		return TLS_ALERT_UNRECOGNIZED_NAME;
	default:
		return reason_info(why)->by == REASON_BY_POLICY ? TLS_ALERT_ACCESS_DENIED
								: TLS_ALERT_INTERNAL_ERROR;
	}
}

void tls_alert_record(enum reason why, unsigned char out[TLS_ALERT_RECORD_LEN])
{
	out[0] = 21; /* alert */
	out[1] = 3;
	out[2] = 3;
	out[3] = 0;
	out[4] = 2;
	out[5] = 2; /* fatal */
	out[6] = (unsigned char)tls_alert_for(why);
}
