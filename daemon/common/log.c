#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int max_level = LOG_INFO_;
static int journal = -1; /* stderr is journald's stream: -1 not yet known */

void log_set_level(int level)
{
    max_level = level;
}
int log_get_level(void)
{
    return max_level;
}

/* systemd.exec(5): a service's stderr connected to the journal has
 * $JOURNAL_STREAM set to its "DEVICE:INODE"; comparing with fstat tells a
 * stream that is still the journal's from one redirected since (a shell or
 * test started from a unit inherits the variable but not the stream). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return false;
    return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

bool log_to_journal(void)
{
    if (journal < 0)
        journal = stderr_is_journal();
    return journal;
}

static const char *level_word(int level)
{
    static const char *const words[] = {"emergency", "alert",  "critical", "error",
                                        "warning",   "notice", "info",     "debug"};
    return level >= 0 && level <= LOG_DEBUG_ ? words[level] : "log";
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
    /* one fprintf per line: stderr is unbuffered, so one write each */
    if (log_to_journal())
        fprintf(stderr, "<%d>heapd: %s\n", level, line);
    else if (level == LOG_INFO_)
        fprintf(stderr, "heapd: %s\n", line);
    else
        fprintf(stderr, "heapd: %s: %s\n", level_word(level), line);
}
