/* lf_main.c - the logferry executable: everything lives in the core library. */
#include "lf_cmd.h"

int main(int argc, char **argv)
{
    return lf_cli_main(argc, argv);
}
