/* Logging to stderr, one line per message. Under systemd, when stderr is
 * the journal's stream ($JOURNAL_STREAM matches it), each line carries its
 * syslog priority ("<6>heapd: ...") so journald files it at its level;
 * anywhere else (a terminal, a file, a pipe) the line is plain:
 * "heapd: MESSAGE" at info, "heapd: LEVEL: MESSAGE" at the other levels. */
#ifndef HEAPD_LOG_H
#define HEAPD_LOG_H

#include <stdbool.h>

enum {
    LOG_CRIT_ = 2,
    LOG_ERR_ = 3,
    LOG_WARNING_ = 4,
    LOG_NOTICE_ = 5,
    LOG_INFO_ = 6,
    LOG_DEBUG_ = 7
};

/* Lines above this syslog priority (info 6 by default) are dropped. */
void log_set_level(int level);
int log_get_level(void);
/* Whether lines carry priority prefixes (stderr is journald's stream). */
bool log_to_journal(void);
/* One line at this priority, "heapd: " and the level added as above. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_crit(...)   log_msg(LOG_CRIT_, __VA_ARGS__)
#define log_err(...)    log_msg(LOG_ERR_, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING_, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE_, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
