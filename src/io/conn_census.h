/* conn_census: one worker's answer to the census (io/census): each of its live connections as
 * one JSON line — what it is doing (its state), for which agent, to where, since when and how
 * many bytes so far. Runs on the worker's thread, when the census asks. */
#ifndef SLUICE_IO_CONN_CENSUS_H
#define SLUICE_IO_CONN_CENSUS_H

struct worker;

/* At most this many connections per worker are listed (the rest are counted in a last line,
 * {"more": N}), so that an answer stays a few MiB at worst. */
#define CONN_CENSUS_MAX 20000

/* Writes w's connections and hands them to its census. */
void conn_census_answer(struct worker *w);

#endif
