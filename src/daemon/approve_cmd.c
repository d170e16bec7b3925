/* sluice approve: one HTTP/1.1 request to the console's API on the admin listener, over a
 * blocking socket with a deadline; the reply's JSON is printed as it came (scripts read it
 * with jq), after a line for people on stderr when the answer is refused. */
#include "daemon/approve_cmd.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/config_value.h"
#include "daemon/config_file.h"
#include "io/sockaddr.h"
#include "policy/approvals.h"

#define APPROVE_DEADLINE_MS 10000
#define APPROVE_REPLY_MAX (16u << 20)

static void approve_usage(FILE *out)
{
	fputs("usage: sluice approve [-c FILE | --admin HOST:PORT]\n"
	      "                       list what waits for an answer (JSON)\n"
	      "       sluice approve [-c FILE | --admin HOST:PORT] ID once|agent|all|deny\n"
	      "                      [--expires 8h] [--by NAME]\n"
	      "                       answer a held request (IDs as in the list: p12)\n"
	      "\n"
	      "The admin address is listen.admin of the config (-c), else --admin, else\n"
	      "127.0.0.1:9090. A console with console.token_sha256 takes the token from the\n"
	      "environment variable SLUICE_CONSOLE_TOKEN.\n",
	      out);
}

/* Writes all of data, or fails, within the deadline. */
static int approve_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole reply (the admin closes after it), its status in *status. */
static int approve_exchange(const struct config_endpoint *at, const char *request, size_t len,
			    struct buf *reply, int *status)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_from_ip(&ss, &at->addr, at->port);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {APPROVE_DEADLINE_MS / 1000, 0};

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 || approve_send(fd, request, len) != 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (!buf_append(reply, chunk, (size_t)n, APPROVE_REPLY_MAX)) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	/* A NUL after the reply, not counted, for sscanf and strstr. */
	if (!buf_append(reply, "", 1, APPROVE_REPLY_MAX + 1))
		return -1;
	reply->end--;
	if (buf_len(reply) < 12 || sscanf(buf_head(reply), "HTTP/1.1 %d", status) != 1)
		return -1;
	return 0;
}

int approve_cmd_main(int argc, char **argv)
{
	const char *config_path = NULL, *admin = NULL, *expires = NULL, *by = "cli";
	const char *positional[2] = {NULL, NULL};
	unsigned n_pos = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			approve_usage(stdout);
			return 0;
		}
		bool has_value = i + 1 < argc;
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && has_value)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 && has_value)
			admin = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && has_value)
			expires = argv[++i];
		else if (strcmp(argv[i], "--by") == 0 && has_value)
			by = argv[++i];
		else if (argv[i][0] != '-' && n_pos < 2)
			positional[n_pos++] = argv[i];
		else {
			fprintf(stderr, "sluice approve: unexpected argument '%s'\n", argv[i]);
			approve_usage(stderr);
			return 2;
		}
	}
	if (n_pos == 1) {
		fprintf(stderr,
			"sluice approve: an ID needs an answer: once, agent, all or deny\n");
		return 2;
	}
	struct config_endpoint at = {.addr = {.family = IP_V4, .bytes = {127, 0, 0, 1}},
				     .port = 9090};
	const char *detail = NULL;
	if (config_path) {
		struct config *cfg = config_file_parse(config_path);
		if (!cfg)
			return 2;
		if (!cfg->has_admin) {
			fprintf(stderr, "sluice approve: %s has no listen.admin\n", config_path);
			config_free(cfg);
			return 2;
		}
		at = cfg->admin;
		config_free(cfg);
	} else if (admin &&
		   !config_value_parse_endpoint(slice_from_cstr(admin), 9090, &at, &detail)) {
		fprintf(stderr, "sluice approve: --admin %s: %s\n", admin,
			detail ? detail : "not HOST:PORT");
		return 2;
	}
	int64_t secs;
	if (expires && !approval_parse_expiry(slice_from_cstr(expires), &secs)) {
		fprintf(stderr, "sluice approve: --expires %s: a duration like 30m, 8h or 7d\n",
			expires);
		return 2;
	}
	char host[SOCKADDR_TEXT_MAX], request[2048], body[512], auth[600] = "";
	sockaddr_format(&at.addr, at.port, host);
	const char *token = getenv("SLUICE_CONSOLE_TOKEN");
	if (token && *token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %.500s\r\n", token);
	int len;
	if (n_pos == 0) {
		len =
		    snprintf(request, sizeof(request),
			     "GET /api/pending HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n",
			     host, auth);
	} else {
		/* The answer and "by" go as JSON strings: nothing in them may need escaping. */
		for (const char *p = by; *p; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
				fprintf(stderr, "sluice approve: --by: no quotes, backslashes or "
						"control characters\n");
				return 2;
			}
		int bl =
		    snprintf(body, sizeof(body), "{\"answer\":\"%.16s\",\"by\":\"%.40s\"%s%s%s}",
			     positional[1], by, expires ? ",\"expires\":\"" : "",
			     expires ? expires : "", expires ? "\"" : "");
		len = snprintf(request, sizeof(request),
			       "POST /api/pending/%.40s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: "
			       "application/json\r\nContent-Length: %d\r\nConnection: "
			       "close\r\n\r\n%s",
			       positional[0], host, auth, bl, body);
	}
	struct buf reply = {0};
	int status = 0;
	if (len <= 0 || (size_t)len >= sizeof(request) ||
	    approve_exchange(&at, request, (size_t)len, &reply, &status) != 0) {
		fprintf(stderr, "sluice approve: no answer from the console at http://%s/ (%s)\n",
			host, errno ? strerror(errno) : "bad reply");
		buf_release(&reply);
		return 1;
	}
	const char *start = strstr(buf_head(&reply), "\r\n\r\n");
	const char *json = start ? start + 4 : "";
	size_t json_len = buf_len(&reply) - (size_t)(json - buf_head(&reply));
	fwrite(json, 1, json_len, stdout);
	if (json_len == 0 || json[json_len - 1] != '\n')
		fputc('\n', stdout);
	if (status != 200)
		fprintf(stderr, "sluice approve: the console answered %d\n", status);
	buf_release(&reply);
	return status == 200 ? 0 : 1;
}
