/* heapd entry point. Skeleton: options only; the server arrives later. */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void usage(FILE *out)
{
    fputs("usage: heapd [--config FILE] [--socket PATH] [--tcp HOST:PORT] [--check-config]\n"
          "       heapd --help | --version\n"
          "\n"
          "heapd " HEAPD_VERSION " holds the object heap only; the network server\n"
          "(and the options above) arrive in a later release.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        fputs("<5>heapd " HEAPD_VERSION ": network server not yet implemented (object heap only)\n",
              stderr);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("heapd " HEAPD_VERSION);
        return 0;
    }
    usage(stderr);
    return 2;
}
