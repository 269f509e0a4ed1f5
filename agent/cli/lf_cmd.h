/* lf_cmd.h - the command line (DESIGN.md "Command line"): one function per command. */
#ifndef LF_CMD_H
#define LF_CMD_H

/* Dispatches argv to a command; returns the process exit code. */
int lf_cli_main(int argc, char **argv);
/* `logferry parse` (argv[0] is "parse"); returns the process exit code. */
int lf_cmd_parse(int argc, char **argv);
/* `logferry status` (argv[0] is "status"); returns the process exit code. */
int lf_cmd_status(int argc, char **argv);
/* `logferry dlq` (argv[0] is "dlq"); returns the process exit code. */
int lf_cmd_dlq(int argc, char **argv);

/* `logferry reload` (argv[0] is "reload"); returns the process exit code. */
int lf_cmd_reload(int argc, char **argv);

#endif
