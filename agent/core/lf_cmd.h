/* lf_cmd.h - the command line (DESIGN.md "Command line"): one function per command. */
#ifndef LF_CMD_H
#define LF_CMD_H

#include <stdio.h>

/* Dispatches argv to a command; returns the process exit code. */
int lf_cli_main(int argc, char **argv);
int lf_cmd_parse(int argc, char **argv);
/* Prints the help of one command ("run", "check", "parse", ...) or the overview (NULL). */
void lf_cmd_help_command(FILE *fp, const char *command);

#endif
