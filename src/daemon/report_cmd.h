/* report_cmd: `sluice report [-c FILE] [--agent NAME] [--only-report] [FILE...]` — reads
 * decision logs (files, or stdin) line by line and prints a suggested `agents:` allow list as
 * YAML on stdout; with -c, the config's route hosts are known routes. Does not build the
 * suggestion itself (emit/report does) or parse JSON (parse/log_line does). */
#ifndef SLUICE_DAEMON_REPORT_CMD_H
#define SLUICE_DAEMON_REPORT_CMD_H

/* argv[0] is "report". Returns the process exit status: 0 when YAML was printed, 1 when no line
 * was usable, a file could not be read or the config is invalid, 2 on a usage error. */
int report_cmd_main(int argc, char **argv);

#endif
