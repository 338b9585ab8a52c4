/* Logging to stderr with syslog priority prefixes ("<6>heapd: ...") so
 * journald files each line at its level. */
#ifndef HEAPD_LOG_H
#define HEAPD_LOG_H

enum { LOG_ERR_ = 3, LOG_WARNING_ = 4, LOG_NOTICE_ = 5, LOG_INFO_ = 6, LOG_DEBUG_ = 7 };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR_, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING_, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE_, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
