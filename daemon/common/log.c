#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static int max_level = LOG_INFO_;

void log_set_level(int level)
{
    max_level = level;
}
int log_get_level(void)
{
    return max_level;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > max_level)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "<%d>heapd: %s\n", level, line); /* one write per line */
}
