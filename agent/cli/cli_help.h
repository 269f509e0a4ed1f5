/* cli_help.h - the help texts of the command line, shared by every command's module.
 *
 * Depends on nothing else of the CLI, so the command modules can all use it without
 * calling each other.
 */
#ifndef CLI_HELP_H
#define CLI_HELP_H

#include <stdio.h>

#define CLI_DEFAULT_CONFIG "/etc/logferry/logferry.yaml"

/* Prints the usage and description of one command ("run", "check", "parse", ...), or the
 * overview with every usage line and the exit codes (command NULL or unknown). */
void cli_help_command(FILE *fp, const char *command);
/* Prints `logferry --version`: version, plugin ABI, library versions (cli_version.c). */
void cli_version(FILE *fp);

#endif
