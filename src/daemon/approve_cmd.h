/* approve_cmd: `sluice approve` — the console's approval queue from the command line, for
 * headless runs and scripts: lists what waits (GET /api/pending) or answers one entry (POST
 * /api/pending/ID) on the admin listener. Does not hold or decide anything itself. */
#ifndef SLUICE_DAEMON_APPROVE_CMD_H
#define SLUICE_DAEMON_APPROVE_CMD_H

/* argv[0] is "approve". Returns 0 when the console answered 200, 1 otherwise, 2 on usage
 * errors. */
int approve_cmd_main(int argc, char **argv);

#endif
