/* TEMPORARY (lead): a weak stand-in until client/bench.c defines bench_main. */
#include "bench.h"
#include <stdio.h>
__attribute__((weak)) int bench_main(const endpoint *ep, int argc, char **argv)
{
    (void)ep, (void)argc, (void)argv;
    fputs("heapctl: bench is not built yet\n", stderr);
    return 2;
}
