/*
 * cli: the `lathe` command line: `lathe server`, `lathe version`, `lathe keys`,
 * `lathe api <Operation>`. Only this module (and main) may exit the process; it turns
 * every error into a message on stderr and an exit status.
 */
#ifndef LT_CLI_H
#define LT_CLI_H

/* Runs the command named by argv[1]; returns the process exit status. */
int lt_cli_main(int argc, char **argv);

#endif
