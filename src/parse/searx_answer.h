/* searx_answer: SearXNG's JSON answer (format=json) into what a search API's answer is made
 * of: each result's title, url, content, engine, score and publishedDate, the engines that did
 * not answer, the total SearXNG estimates. Results without a URL are left out (infobox rows);
 * fields of the wrong type read as absent. The strings point into the parsed tree (the arena
 * and the body must outlive the answer). Pure: no I/O. */
#ifndef SLUICE_PARSE_SEARX_ANSWER_H
#define SLUICE_PARSE_SEARX_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/slice.h"

#define SEARX_RESULTS_MAX 100
#define SEARX_UNRESPONSIVE_MAX 16

struct searx_result {
	struct slice title, url, content, engine, published;
	double score;
	bool has_score;
};

struct searx_answer {
	struct searx_result results[SEARX_RESULTS_MAX];
	unsigned n_results;
	struct slice unresponsive[SEARX_UNRESPONSIVE_MAX]; /* engine names */
	unsigned n_unresponsive;
	double number_of_results; /* SearXNG's estimate (often 0) */
};

/* False with why when body is not SearXNG's JSON answer (not JSON, not an object, no
 * "results" list). */
bool searx_answer_parse(const char *body, size_t len, struct arena *a, struct searx_answer *out,
			char *why, size_t why_size);

#endif
