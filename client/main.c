/* heapctl entry point. Skeleton: options only; the client arrives later. */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void usage(FILE *out)
{
    fputs("usage: heapctl [-s SOCKET | -H HOST -p PORT] [-a TOKEN] [--json] [COMMAND ARGS...]\n"
          "       heapctl --help | --version\n"
          "\n"
          "heapctl " HEAPD_VERSION " is a skeleton; the client arrives in a later release.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("heapctl " HEAPD_VERSION);
        return 0;
    }
    fputs("heapctl " HEAPD_VERSION ": client not yet implemented; it arrives in a later release\n",
          stderr);
    return 2;
}
