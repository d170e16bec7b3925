/* ca_cmd: `sluice ca export [-c FILE]` — prints the interception CA's certificate (PEM) for agent
 * images to trust, creating the CA first when its state directory has none. Also the hidden
 * `sluice ca mint [-c FILE] NAME...` that tests use to see minted leaves. Starts nothing. */
#ifndef SLUICE_DAEMON_CA_CMD_H
#define SLUICE_DAEMON_CA_CMD_H

/* argv[0] is "ca". Returns the exit status: 0 done, 1 on an error (said on stderr), 2 on a
 * usage error. */
int ca_cmd_main(int argc, char **argv);

#endif
