/* check_cmd: `sluice check [--offline] -c FILE [FILE...]` — validates configuration files as a
 * start would and prints, per file, its errors or a summary of what a start would use.
 * Does not start anything: no listener, no worker, no DNS query. */
#ifndef SLUICE_DAEMON_CHECK_CMD_H
#define SLUICE_DAEMON_CHECK_CMD_H

/* argv[0] is "check". Returns the process exit status: 0 when every file is valid, 1 when one
 * is not (each is checked and reported all the same), 2 on a usage error. */
int check_cmd_main(int argc, char **argv);

#endif
