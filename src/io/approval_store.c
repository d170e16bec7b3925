/* approval_store: one mutex over everything; the workers take it only to hold or release a
 * request and to copy the standing approvals when their generation moved, never per request. */
#include "io/approval_store.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/utc_time.h"
#include "config/config_approvals.h"
#include "emit/approvals_yaml.h"
#include "emit/json_write.h"
#include "io/file_text.h"

#define STORE_FEED 256 /* changes kept for the console's stream */
#define STORE_FEED_LINE 1024

struct pending_entry {
	struct pending_entry *next;
	uint64_t id;
	enum pending_kind kind;
	char agent[AGENT_NAME_MAX + 1];
	char host[APPROVAL_HOST_MAX + 1];
	uint16_t port;
	char method[24];
	char path[256];
	enum reason reason;
	char rule[160];
	uint64_t since_ms; /* monotonic */
	unsigned timeout_ms;
	unsigned held;
	uint8_t workers[CONFIG_MAX_WORKERS]; /* requests held by each worker */
	enum approval_answer answer;
	char by[APPROVAL_BY_MAX + 1];
};

struct approval_store {
	pthread_mutex_t lock;
	char file[CONFIG_APPROVALS_FILE_MAX];
	struct approval_list standing;
	_Atomic uint64_t generation;
	struct pending_entry *pending;
	uint64_t next_id;
	unsigned n_waiting;
	struct event *wake[CONFIG_MAX_WORKERS];
	/* the feed: a ring of JSON lines */
	char feed[STORE_FEED][STORE_FEED_LINE];
	uint64_t feed_next;	    /* sequence of the next line */
	approval_notify_fn *notify; /* told of each new entry (io/webhook) */
	void *notify_arg;
};

static uint64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t store_wall_s(void)
{
	return (int64_t)time(NULL);
}

const char *approval_answer_name(enum approval_answer a)
{
	switch (a) {
	case APPROVAL_WAITING:
		return "waiting";
	case APPROVAL_ONCE:
		return "once";
	case APPROVAL_AGENT:
		return "agent";
	case APPROVAL_ALL:
		return "all";
	case APPROVAL_DENY:
		return "deny";
	}
	return "waiting";
}

bool approval_answer_from_name(struct slice name, enum approval_answer *out)
{
	for (enum approval_answer a = APPROVAL_ONCE; a <= APPROVAL_DENY; a++)
		if (slice_eq(name, slice_from_cstr(approval_answer_name(a)))) {
			*out = a;
			return true;
		}
	return false;
}

static const char *kind_name(enum pending_kind k)
{
	return k == PENDING_CONNECT ? "connect" : k == PENDING_HTTP ? "http" : "dns";
}

struct approval_store *approval_store_new(const char *file)
{
	struct approval_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->file, sizeof(s->file), "%s", file ? file : "");
	approval_list_init(&s->standing);
	s->next_id = 1;
	return s;
}

void approval_store_free(struct approval_store *s)
{
	if (!s)
		return;
	while (s->pending) {
		struct pending_entry *e = s->pending;
		s->pending = e->next;
		free(e);
	}
	approval_list_fini(&s->standing);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void approval_store_set_wake(struct approval_store *s, unsigned index, struct event *ev)
{
	pthread_mutex_lock(&s->lock);
	if (index < CONFIG_MAX_WORKERS)
		s->wake[index] = ev;
	pthread_mutex_unlock(&s->lock);
}

int approval_store_load(struct approval_store *s, const char *file, char *why, size_t why_size)
{
	struct approval_list list;
	struct config_errors errors;
	char *text = NULL;
	size_t len = 0;

	approval_list_init(&list);
	/* A missing file is no approvals yet: the first "always" answer creates it. */
	if (file[0] && !(text = file_text_read(file, APPROVALS_FILE_MAX, &len)) &&
	    errno != ENOENT) {
		snprintf(why, why_size, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (text && config_approvals_parse(text, len, &list, &errors) != 0) {
		char e[CONFIG_ERROR_MAX + 32];
		config_error_format(&errors.items[0], e, sizeof(e));
		snprintf(why, why_size, "%s:%s", file, e);
		free(text);
		approval_list_fini(&list);
		return -1;
	}
	free(text);
	approval_list_prune(&list, store_wall_s());
	pthread_mutex_lock(&s->lock);
	snprintf(s->file, sizeof(s->file), "%s", file);
	approval_list_fini(&s->standing);
	s->standing = list;
	atomic_fetch_add(&s->generation, 1);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void approval_store_set_notify(struct approval_store *s, approval_notify_fn *fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->notify = fn;
	s->notify_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

uint64_t approval_store_generation(struct approval_store *s)
{
	return atomic_load_explicit(&s->generation, memory_order_acquire);
}

int approval_store_copy(struct approval_store *s, struct approval_list *dst, uint64_t *generation)
{
	pthread_mutex_lock(&s->lock);
	int rc = approval_list_copy(dst, &s->standing);
	if (rc == 0)
		*generation = atomic_load(&s->generation);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void copy_slice(char *dst, size_t size, struct slice v)
{
	size_t n = v.len < size - 1 ? v.len : size - 1;
	memcpy(dst, v.ptr, n);
	dst[n] = '\0';
}

/* One JSON object of an entry (the /api/pending item and the feed's "pending" event). */
static void store_entry_json(struct json_write *j, const struct pending_entry *e, uint64_t now)
{
	char id[24];
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)e->id);
	uint64_t age = now - e->since_ms;
	json_write_object(j);
	json_write_key(j, "id");
	json_write_cstr(j, id);
	json_write_key(j, "agent");
	json_write_cstr(j, e->agent);
	json_write_key(j, "kind");
	json_write_cstr(j, kind_name(e->kind));
	json_write_key(j, "host");
	json_write_cstr(j, e->host);
	json_write_key(j, "port");
	json_write_int(j, e->port);
	json_write_key(j, "method");
	json_write_cstr(j, e->method);
	json_write_key(j, "path");
	json_write_cstr(j, e->path);
	json_write_key(j, "held");
	json_write_int(j, e->held);
	json_write_key(j, "age_ms");
	json_write_int(j, (int64_t)age);
	json_write_key(j, "timeout_ms");
	json_write_int(j, age >= e->timeout_ms ? 0 : (int64_t)(e->timeout_ms - age));
	json_write_key(j, "reason");
	json_write_cstr(j, reason_token(e->reason));
	json_write_key(j, "rule");
	json_write_cstr(j, e->rule);
	json_write_end(j);
}

/* Appends one line to the feed (lock held); false when it did not fit. */
static bool store_feed_put(struct approval_store *s, const char *event,
			   void (*body)(struct json_write *j, const void *arg), const void *arg)
{
	struct buf b = {0};
	struct json_write j;
	bool put = false;

	json_write_init(&j, &b, STORE_FEED_LINE - 1);
	body(&j, arg);
	if (json_write_ok(&j) && buf_len(&b) > 1) {
		/* {"event":"pending", then the body's fields after its '{' */
		int n = snprintf(s->feed[s->feed_next % STORE_FEED], STORE_FEED_LINE,
				 "{\"event\":\"%s\",%.*s", event, (int)buf_len(&b) - 1,
				 buf_head(&b) + 1);
		put = n > 0 && n < STORE_FEED_LINE;
		s->feed_next += put;
	}
	buf_release(&b);
	return put;
}

static void feed_pending_body(struct json_write *j, const void *arg)
{
	store_entry_json(j, arg, store_now_ms());
}

struct answered_note {
	const struct pending_entry *e;
	unsigned released;
};

static void feed_answered_body(struct json_write *j, const void *arg)
{
	const struct answered_note *n = arg;
	char id[24];
	snprintf(id, sizeof(id), "p%llu", (unsigned long long)n->e->id);
	json_write_object(j);
	json_write_key(j, "id");
	json_write_cstr(j, id);
	json_write_key(j, "agent");
	json_write_cstr(j, n->e->agent);
	json_write_key(j, "host");
	json_write_cstr(j, n->e->host);
	json_write_key(j, "port");
	json_write_int(j, n->e->port);
	json_write_key(j, "answer");
	json_write_cstr(j, approval_answer_name(n->e->answer));
	json_write_key(j, "by");
	json_write_cstr(j, n->e->by);
	json_write_key(j, "released");
	json_write_int(j, n->released);
	json_write_end(j);
}

uint64_t approval_store_hold(struct approval_store *s, unsigned index,
			     const struct pending_request *p, unsigned max_pending)
{
	char host[APPROVAL_HOST_MAX + 1];
	uint64_t id = 0;

	copy_slice(host, sizeof(host), p->host);
	pthread_mutex_lock(&s->lock);
	for (struct pending_entry *e = s->pending; e; e = e->next)
		if (e->answer == APPROVAL_WAITING && e->port == p->port &&
		    strcmp(e->agent, p->agent) == 0 && strcmp(e->host, host) == 0 &&
		    e->workers[index] < UINT8_MAX) {
			e->held++;
			e->workers[index]++;
			id = e->id;
			goto out;
		}
	if (s->n_waiting >= max_pending)
		goto out;
	struct pending_entry *e = calloc(1, sizeof(*e));
	if (!e)
		goto out;
	e->id = s->next_id++;
	e->kind = p->kind;
	snprintf(e->agent, sizeof(e->agent), "%s", p->agent);
	memcpy(e->host, host, sizeof(host));
	e->port = p->port;
	copy_slice(e->method, sizeof(e->method), p->method);
	copy_slice(e->path, sizeof(e->path), p->path);
	e->reason = p->reason;
	snprintf(e->rule, sizeof(e->rule), "%s", p->rule ? p->rule : "");
	e->since_ms = store_now_ms();
	e->timeout_ms = p->timeout_ms;
	e->held = 1;
	e->workers[index] = 1;
	e->next = s->pending;
	s->pending = e;
	s->n_waiting++;
	id = e->id;
	if (store_feed_put(s, "pending", feed_pending_body, e) && s->notify) {
		const char *line = s->feed[(s->feed_next - 1) % STORE_FEED];
		s->notify(s->notify_arg, e->id, p, line, strlen(line));
	}
out:
	pthread_mutex_unlock(&s->lock);
	return id;
}

static struct pending_entry *store_find(struct approval_store *s, uint64_t id)
{
	for (struct pending_entry *e = s->pending; e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

enum approval_answer approval_store_answer_of(struct approval_store *s, uint64_t id, char *by,
					      size_t by_size)
{
	enum approval_answer a = APPROVAL_WAITING;

	pthread_mutex_lock(&s->lock);
	struct pending_entry *e = store_find(s, id);
	if (e) {
		a = e->answer;
		if (by)
			snprintf(by, by_size, "%s", e->by);
	}
	pthread_mutex_unlock(&s->lock);
	return a;
}

void approval_store_leave(struct approval_store *s, uint64_t id)
{
	pthread_mutex_lock(&s->lock);
	struct pending_entry **pp = &s->pending;
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	struct pending_entry *e = *pp;
	if (e && e->held > 0 && --e->held == 0) {
		*pp = e->next;
		if (e->answer == APPROVAL_WAITING)
			s->n_waiting--;
		free(e);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Writes the standing approvals to the file, whole, through a temporary file renamed over it, so
 * that a reader (a reload here or on another replica) never sees half of it. Lock held. */
static int store_write_file(struct approval_store *s, char *why, size_t why_size)
{
	struct buf text = {0};
	char tmp[CONFIG_APPROVALS_FILE_MAX + 16];

	if (!approvals_yaml_format(&s->standing, &text, APPROVALS_FILE_MAX)) {
		snprintf(why, why_size, "out of memory");
		buf_release(&text);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->file);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = -1;
	if (fd < 0) {
		snprintf(why, why_size, "%.100s: %s", tmp, strerror(errno));
		buf_release(&text);
		return -1;
	}
	size_t off = 0, len = buf_len(&text);
	while (off < len) {
		ssize_t n = write(fd, buf_head(&text) + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, s->file) != 0)
		rc = -1;
	if (rc != 0) {
		/* The temporary file stays: the next answer writes it again (no unlink: the
		 * sandbox does not allow it). */
		snprintf(why, why_size, "%.100s: %s", s->file, strerror(errno));
	}
	buf_release(&text);
	return rc;
}

/* The entry is answered: it leaves the queue, its workers are woken. Lock held. */
static void store_mark(struct approval_store *s, struct pending_entry *e,
		       enum approval_answer answer, const char *by, bool wake[CONFIG_MAX_WORKERS])
{
	e->answer = answer;
	snprintf(e->by, sizeof(e->by), "%s", by);
	s->n_waiting--;
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
		if (e->workers[i])
			wake[i] = true;
	struct answered_note note = {e, e->held};
	store_feed_put(s, "answered", feed_answered_body, &note);
}

void approval_store_answer(struct approval_store *s, uint64_t id, enum approval_answer answer,
			   int64_t expires_s, const char *by, struct approval_result *out)
{
	bool wake[CONFIG_MAX_WORKERS] = {0};

	memset(out, 0, sizeof(*out));
	if (expires_s && (answer == APPROVAL_ONCE || answer == APPROVAL_DENY)) {
		out->status = 400;
		snprintf(out->error, sizeof(out->error),
			 "expires applies to agent and all: once and deny end with the "
			 "requests held now");
		return;
	}
	pthread_mutex_lock(&s->lock);
	struct pending_entry *e = store_find(s, id);
	if (!e || e->answer != APPROVAL_WAITING) {
		pthread_mutex_unlock(&s->lock);
		out->status = 404;
		snprintf(out->error, sizeof(out->error),
			 "no such request waiting (answered, timed out, or its client left)");
		return;
	}
	out->status = 200;
	if (answer == APPROVAL_AGENT || answer == APPROVAL_ALL) {
		struct approval a = {.port = e->port, .at = store_wall_s()};
		snprintf(a.agent, sizeof(a.agent), "%s",
			 answer == APPROVAL_ALL ? APPROVAL_ANY_AGENT : e->agent);
		memcpy(a.host, e->host, sizeof(a.host));
		snprintf(a.by, sizeof(a.by), "%s", by);
		a.expires = expires_s ? a.at + expires_s : 0;
		approval_list_prune(&s->standing, a.at);
		if (approval_list_put(&s->standing, &a) != 0) {
			pthread_mutex_unlock(&s->lock);
			out->status = 500;
			snprintf(out->error, sizeof(out->error),
				 "too many standing approvals (at most %d)", APPROVALS_MAX);
			return;
		}
		atomic_fetch_add(&s->generation, 1);
		if (s->file[0])
			out->persisted = store_write_file(s, out->error, sizeof(out->error)) == 0;
		/* Every request waiting that the approval now lets through goes on too. */
		for (struct pending_entry *o = s->pending; o; o = o->next)
			if (o != e && o->answer == APPROVAL_WAITING && o->port == e->port &&
			    strcmp(o->host, e->host) == 0 &&
			    (answer == APPROVAL_ALL || strcmp(o->agent, e->agent) == 0)) {
				out->released += o->held;
				store_mark(s, o, answer, by, wake);
			}
	}
	out->released += e->held;
	store_mark(s, e, answer, by, wake);
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
		if (wake[i] && s->wake[i])
			event_active(s->wake[i], EV_READ, 0);
	pthread_mutex_unlock(&s->lock);
}

int approval_store_revoke(struct approval_store *s, const char *agent, struct slice host,
			  uint16_t port)
{
	char why[160];
	int status = 404;

	pthread_mutex_lock(&s->lock);
	if (approval_list_remove(&s->standing, agent, host, port)) {
		atomic_fetch_add(&s->generation, 1);
		status = s->file[0] && store_write_file(s, why, sizeof(why)) != 0 ? 500 : 200;
	}
	pthread_mutex_unlock(&s->lock);
	return status;
}

bool approval_store_pending_json(struct approval_store *s, struct buf *out, size_t max)
{
	struct json_write j;
	uint64_t now = store_now_ms();

	json_write_init(&j, out, max);
	json_write_object(&j);
	json_write_key(&j, "pending");
	json_write_array(&j);
	pthread_mutex_lock(&s->lock);
	/* Oldest first: entries are pushed at the front. */
	struct pending_entry *order[APPROVALS_PENDING_MAX];
	unsigned n = 0;
	for (struct pending_entry *e = s->pending; e && n < APPROVALS_PENDING_MAX; e = e->next)
		if (e->answer == APPROVAL_WAITING)
			order[n++] = e;
	while (n > 0)
		store_entry_json(&j, order[--n], now);
	pthread_mutex_unlock(&s->lock);
	json_write_end(&j);
	json_write_end(&j);
	return json_write_ok(&j);
}

bool approval_store_approvals_json(struct approval_store *s, struct buf *out, size_t max)
{
	struct json_write j;
	char t[UTC_TIME_TEXT_MAX];
	int64_t now = store_wall_s();

	json_write_init(&j, out, max);
	json_write_object(&j);
	json_write_key(&j, "approvals");
	json_write_array(&j);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->standing.n; i++) {
		const struct approval *a = &s->standing.items[i];
		if (a->expires && a->expires <= now)
			continue;
		json_write_object(&j);
		json_write_key(&j, "agent");
		json_write_cstr(&j, a->agent);
		json_write_key(&j, "host");
		json_write_cstr(&j, a->host);
		json_write_key(&j, "port");
		json_write_int(&j, a->port);
		if (a->expires) {
			utc_time_format(a->expires, t);
			json_write_key(&j, "expires");
			json_write_cstr(&j, t);
		}
		json_write_key(&j, "by");
		json_write_cstr(&j, a->by);
		if (a->at) {
			utc_time_format(a->at, t);
			json_write_key(&j, "at");
			json_write_cstr(&j, t);
		}
		json_write_end(&j);
	}
	pthread_mutex_unlock(&s->lock);
	json_write_end(&j);
	json_write_end(&j);
	return json_write_ok(&j);
}

void approval_store_feed(struct approval_store *s, uint64_t *cursor, struct buf *out, size_t max)
{
	pthread_mutex_lock(&s->lock);
	if (*cursor + STORE_FEED < s->feed_next)
		*cursor = s->feed_next - STORE_FEED;
	for (; *cursor < s->feed_next; (*cursor)++) {
		const char *line = s->feed[*cursor % STORE_FEED];
		if (!buf_append(out, line, strlen(line), max) || !buf_append(out, "\n", 1, max))
			break;
	}
	pthread_mutex_unlock(&s->lock);
}

uint64_t approval_store_feed_end(struct approval_store *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t end = s->feed_next;
	pthread_mutex_unlock(&s->lock);
	return end;
}
