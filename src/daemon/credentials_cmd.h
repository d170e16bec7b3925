/* credentials_cmd: `sluice credentials [-c FILE] [--agent NAME]` — prints, per agent, the
 * placeholder each of its credentials gives it, as NAME=VALUE lines an agent's environment (or
 * `docker run --env-file`) takes, so that the agent never holds a secret. Reads no secret and
 * starts nothing. */
#ifndef SLUICE_DAEMON_CREDENTIALS_CMD_H
#define SLUICE_DAEMON_CREDENTIALS_CMD_H

/* argv[0] is "credentials". Returns the exit status: 0 done, 1 on an error (said on stderr), 2
 * on a usage error. */
int credentials_cmd_main(int argc, char **argv);

#endif
