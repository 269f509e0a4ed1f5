/* tail.c - placeholder */
typedef int tail_placeholder;
