#include "sockpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int private_dir(const char *dir, bool make)
{
    struct stat st;
    if (make && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    if (lstat(dir, &st) != 0)
        return make ? -1 : 0; /* a client only needs the path */
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
        errno = EACCES; /* someone else's directory: never trust it */
        return -1;
    }
    return 0;
}

int sockpath_default(char *buf, size_t size, bool make_dir)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && *xdg) {
        n = snprintf(buf, size, "%s/heapd.sock", xdg);
    } else {
        char dir[64];
        snprintf(dir, sizeof dir, "/tmp/heapd-%u", (unsigned)getuid());
        if (private_dir(dir, make_dir) != 0)
            return -1;
        n = snprintf(buf, size, "%s/heapd.sock", dir);
    }
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
