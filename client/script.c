#include "script.h"
#include "args.h"

#include <stdlib.h>
#include <string.h>

int script_line(session *s, const char *line)
{
    line_words w;
    arg_error e;
    if (line_split(line, &w, &e)) {
        session_syntax_error(s, line, e.col, e.msg);
        return EXIT_USAGE;
    }
    int rc = -1;
    if (w.count > 0 && (strcmp(w.words[0], "quit") == 0 || strcmp(w.words[0], "exit") == 0))
        rc = -2;
    else if (w.count > 0)
        rc = session_run(s, w.count, w.words, line, w.starts);
    line_words_free(&w);
    return rc;
}

int script_run(session *s, FILE *in, const char *name, bool keep_going)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int worst = EXIT_OK;
    s->file = name;
    s->line = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        s->line++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        int rc = script_line(s, line);
        if (rc == -2)
            break;
        if (rc > worst)
            worst = rc;
        if (rc == EXIT_CONNECT || (rc > 0 && !keep_going))
            break;
    }
    free(line);
    fflush(stdout);
    return worst;
}
