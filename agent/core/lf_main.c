/* lf_main.c - STUB */
#include <stdio.h>
int main(void)
{
    puts("logferry " LF_VERSION);
    return 0;
}
