#include "errors.h"

#include <stdio.h>
#include <string.h>

static const char *const error_names[] = {NULL,
#define X(code, name) name,
                                          HEAP_ERRORS(X)
#undef X
};

int herr_set(herr *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *herr_name(int code)
{
    int i = -code;
    if (i <= 0 || i >= HE__END)
        return NULL;
    return error_names[i];
}

int herr_from_name(const char *name)
{
    for (int i = 1; i < HE__END; i++)
        if (strcmp(error_names[i], name) == 0)
            return -i;
    return 0;
}
