/* cli_help.c - the help texts of the commands: usage line and description of each. */
#include "cli_help.h"

#include <string.h>

static const struct {
    const char *name;
    const char *usage;
    const char *text;
} commands[] = {
    {"run", "logferry run [-c FILE]",
     "Runs the agent in the foreground until SIGTERM or SIGINT. On the first signal it stops\n"
     "reading, waits up to agent.shutdown_timeout for in-flight records to be acknowledged,\n"
     "writes checkpoints and exits 0. A second signal exits at once (75); checkpoints never\n"
     "pass an unacknowledged record, so those records are read again after restart.\n"
     "SIGHUP reloads the configuration file (see reload). The pid is written to\n"
     "<agent.state_dir>/logferry.pid. Under systemd (Type=notify) it sends READY=1,\n"
     "STATUS= counts, RELOADING=1, STOPPING=1, and WATCHDOG=1 when WatchdogSec= is set.\n"
     "  -c, --config FILE   configuration (default " CLI_DEFAULT_CONFIG ")\n"},
    {"reload", "logferry reload [-c FILE]",
     "Checks FILE like check, then sends SIGHUP to the agent running with FILE's\n"
     "agent.state_dir (pid from <state_dir>/logferry.pid). The agent reads the file it was\n"
     "started with again: unchanged inputs and outputs keep running untouched, changed ones\n"
     "are drained and restarted, new ones start, removed outputs drain or spool, removed\n"
     "inputs keep their checkpoints; an invalid file leaves the running configuration in\n"
     "place. The result is one line of the agent's log (\"reload: outputs +A -R ~C =S,\n"
     "inputs ...\"). Exits 0 once signalled, 69 when no agent runs, 78 for a bad config.\n"
     "  -c, --config FILE   configuration (default " CLI_DEFAULT_CONFIG ")\n"},
    {"check", "logferry check [-c FILE]",
     "Validates a configuration: YAML syntax, keys, types, units, environment variables,\n"
     "plugins and their options. Prints every problem as FILE:LINE:COL: message and exits\n"
     "78, or exits 0 (warnings are printed but do not fail).\n"},
    {"parse",
     "logferry parse -p PARSER [--format STRING] [-m PRESET] [FILE...]\n"
     "       logferry parse -c FILE -i INPUT [FILE...]",
     "Parses files (or stdin) and prints one encoded JSON record per line, to try a parser\n"
     "on your own logs. --format takes the parser's format string (nginx log_format, Apache\n"
     "LogFormat, logback pattern, regex). -m picks a multi-line preset. With -c and -i the\n"
     "parser, multi-line and filter settings of that input of a config file are used.\n"
     "A summary (records, unparsable, filtered) goes to stderr.\n"},
    {"status", "logferry status [-c FILE] [--json] [--watch[=SECONDS]]",
     "Asks the running agent, at the endpoint agent.http.listen of the config, for its\n"
     "state and prints a table: each file (path, inode, acknowledged offset, size, lag) and\n"
     "each output (breaker, records in flight, delivered, retried, dead-lettered, spool\n"
     "records, size and oldest age, drops), with the readiness verdict. --json prints the\n"
     "agent's /status JSON instead; --watch repeats every SECONDS (default 2). Exits 0,\n"
     "69 when the endpoint is off in the config or no agent answers, 78 for a bad config.\n"
     "  -c, --config FILE   configuration (default " CLI_DEFAULT_CONFIG ")\n"},
    {"spool", "logferry spool inspect [-c FILE] [OUTPUT]",
     "Prints, for the spool of OUTPUT (default: every output of the config), in\n"
     "<agent.state_dir>/spool/<output>/: the persisted head, each segment with its bytes,\n"
     "frames and unacknowledged frames, bad parts that the next start will quarantine,\n"
     "the age of the oldest unacknowledged record and the files in quarantine/.\n"
     "Read only: safe while the agent runs. Exits 0 (also when an output has no spool),\n"
     "64 for an unknown OUTPUT, 78 for a bad config, 1 when a spool cannot be read.\n"
     "  -c, --config FILE   configuration (default " CLI_DEFAULT_CONFIG ")\n"},
    {"dlq",
     "logferry dlq list [-c FILE] [--output O] [--since DURATION] [--json] [--from-topic T]\n"
     "       logferry dlq show [-c FILE] [--from-topic T] ID\n"
     "       logferry dlq replay [-c FILE] [--output O] (ID... | --all) [--to OUTPUT] "
     "[--dry-run] [--from-topic T]\n"
     "       logferry dlq purge [-c FILE] [--output O] (ID... | --older-than DURATION | "
     "--all) [--yes]",
     "Works on the local dead-letter store, <agent.state_dir>/dead-letter/<output>.jsonl,\n"
     "while the agent runs or not (docs/dead-letters.md). An ID may be shortened to a\n"
     "unique prefix of at least 8 characters. Lines that are not dead letters are skipped\n"
     "and reported, never fatal.\n"
     "  list     id, output, reason, attempts, age and record size of each dead letter;\n"
     "           --since keeps those dead-lettered within DURATION (30s, 15m, 2h, 7d);\n"
     "           --json prints one JSON object a line\n"
     "  show     everything about one dead letter, and its record\n"
     "  replay   sends the records, unchanged and with their ids, through the output\n"
     "           (--to another one of the config) and removes each from the store once\n"
     "           delivered; a progress bar on a terminal, then a summary line. Safe to\n"
     "           interrupt and run again. --dry-run lists what would be sent\n"
     "  purge    deletes dead letters; asks first on a terminal, else needs --yes\n"
     "  -c, --config FILE   configuration (default " CLI_DEFAULT_CONFIG ")\n"
     "  -o, --output O      only the store of output O (with --from-topic: the kafka output\n"
     "                      whose brokers hold T, and the one replayed to; default the first)\n"
     "  --from-topic T      the dead letters of Kafka topic T (a .dlt topic): list, show and\n"
     "                      replay; replayed ids are journaled in\n"
     "                      <state_dir>/dead-letter/topic-T.done and skipped by later runs\n"
     "Exits 0; 64 bad arguments; 65 an ID in no store; 66 no store; 69 the output did not\n"
     "start; 75 records left after a replay (rejected or undelivered), or another replay\n"
     "or purge of the store runs; 78 bad config; 1 the store cannot be read or written.\n"},
    {"help", "logferry help [COMMAND | config]",
     "Shows help for a command, or the configuration reference (help config).\n"},
};

void cli_help_command(FILE *fp, const char *command)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (command && strcmp(commands[i].name, command) == 0) {
            fprintf(fp, "usage: %s\n\n%s", commands[i].usage, commands[i].text);
            return;
        }
    }
    fprintf(fp,
            "logferry %s - tails log files, parses them into records, forwards them to "
            "Kafka or RabbitMQ\n\nusage:\n",
            LF_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(fp, "  %s\n", commands[i].usage);
    }
    fprintf(fp, "  logferry --version\n\n"
                "exit codes:\n"
                "  0   success\n"
                "  1   runtime failure (state dir, checkpoint file, output start, unreadable "
                "spool)\n"
                "  64  bad command line\n"
                "  65  dlq: an ID in no store\n"
                "  66  dlq: no dead-letter store\n"
                "  69  status, reload: no agent answers; dlq replay: the output did not start\n"
                "  73  run: another agent holds the lock of agent.state_dir\n"
                "  75  stopped by a second signal before in-flight records were acknowledged;\n"
                "      dlq: records left after a replay, or the store is busy\n"
                "  78  configuration error (EX_CONFIG)\n");
}
