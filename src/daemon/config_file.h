/* config_file: reads a configuration file, parses it and prints its errors on stderr as
 * FILE:line:column: message; config_file_load also reads the secrets it names. Does not validate
 * anything itself (config/config and daemon/secrets do) nor start anything. */
#ifndef SLUICE_DAEMON_CONFIG_FILE_H
#define SLUICE_DAEMON_CONFIG_FILE_H

struct config;

/* The configuration in path, its secrets not read (every token_ready and header ready false).
 * Returns NULL when the file cannot be read or is invalid, after printing why. */
struct config *config_file_parse(const char *path);
/* config_file_parse, then every token file, environment variable and header value it names
 * (daemon/secrets); NULL path is the embedded default. What starting, reloading and jail use. */
struct config *config_file_load(const char *path);

#endif
