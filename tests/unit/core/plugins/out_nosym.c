/* out_nosym.c - test plugin that forgot to export the entry symbol. */
#include "logferry/lf_plugin.h"

int out_nosym_something(void);
int out_nosym_something(void)
{
    return 1;
}
