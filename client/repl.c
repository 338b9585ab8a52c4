/* The interactive prompt, on libedit's readline interface. */
#include "commands.h"
#include "py_run.h"
#include "script.h"

#include <editline/readline.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

enum { HISTORY_LINES = 1000 };

/* readline's completion hooks take no context: the session is here. */
static session *completing;

/* Candidates for the word being completed, gathered at state 0. */
static struct {
    char **items;
    size_t count, next;
} cands;

static void cands_clear(void)
{
    for (size_t i = 0; i < cands.count; i++)
        free(cands.items[i]);
    free(cands.items);
    cands.items = NULL;
    cands.count = cands.next = 0;
}

static void cands_add(const char *s, size_t n)
{
    char **items = realloc(cands.items, (cands.count + 1) * sizeof *items);
    if (!items)
        return;
    cands.items = items;
    char *copy = strndup(s, n);
    if (copy)
        cands.items[cands.count++] = copy;
}

/* Names bound in the session's innermost scope and in the global one. */
static void add_bound_names(void)
{
    static const char *const scopes[] = {"local", "global"};
    for (int k = 0; k < 2; k++) {
        rpc_reply rep;
        char err[600];
        if (rpc_call_str(completing->rpc, "names", scopes[k], &rep, err, sizeof err) || !rep.ok ||
            rep.result.type != MSGPACK_OBJECT_ARRAY)
            continue;
        for (uint32_t i = 0; i < rep.result.via.array.size; i++) {
            const msgpack_object *o = &rep.result.via.array.ptr[i];
            if (o->type == MSGPACK_OBJECT_STR)
                cands_add(o->via.str.ptr, o->via.str.size);
        }
    }
}

static char *next_candidate(const char *text, int state)
{
    if (state == 0) {
        cands.next = 0;
    }
    size_t n = strlen(text);
    while (cands.next < cands.count) {
        const char *c = cands.items[cands.next++];
        if (strncmp(c, text, n) == 0)
            return strdup(c);
    }
    return NULL;
}

/* The methods heapctl's Python has for a type (py_builtins.c). */
static const char *methods_of(const char *type)
{
    if (!strcmp(type, "list"))
        return "append extend insert pop remove clear";
    if (!strcmp(type, "dict"))
        return "keys pop clear";
    if (!strcmp(type, "set"))
        return "add discard remove pop clear";
    if (!strcmp(type, "sys"))
        return "getrefcount getsizeof";
    if (!strcmp(type, "gc"))
        return "collect get_threshold set_threshold get_count enable disable isenabled "
               "get_referrers get_referents freeze";
    return "";
}

/* `lst.ap` completes to `lst.append(`: the methods of the object's type,
 * asked of the server, or the functions of sys and gc. */
static void add_methods(const char *text)
{
    const char *dot = strrchr(text, '.');
    size_t n = (size_t)(dot - text);
    char name[256], type[32] = "";
    if (n == 0 || n >= sizeof name)
        return;
    memcpy(name, text, n);
    name[n] = '\0';
    if (!strcmp(name, "sys") || !strcmp(name, "gc")) {
        snprintf(type, sizeof type, "%.8s", name);
    } else {
        rpc_reply rep;
        char err[600];
        if (rpc_call_str(completing->rpc, "type", name, &rep, err, sizeof err) || !rep.ok ||
            rep.result.type != MSGPACK_OBJECT_STR)
            return;
        snprintf(type, sizeof type, "%.*s", (int)rep.result.via.str.size, rep.result.via.str.ptr);
    }
    for (const char *m = methods_of(type); *m;) {
        size_t k = strcspn(m, " ");
        char c[320];
        int len = snprintf(c, sizeof c, "%s.%.*s(", name, (int)k, m);
        if (len > 0 && (size_t)len < sizeof c)
            cands_add(c, (size_t)len);
        m += k + (m[k] == ' ');
    }
}

/* The first word completes to a command or a Python word, later ones to
 * bound names; a word with a dot to a method. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    rl_completion_append_character = strchr(text, '.') ? '\0' : ' ';
    cands_clear();
    if (strchr(text, '.')) {
        add_methods(text);
    } else if (strspn(rl_line_buffer, " \t") >= (size_t)start) {
        static const char *const words[] = {"print(", "len(",   "id(",  "type(",  "repr(", "del",
                                            "def",    "import", "pass", "return", NULL};
        for (int i = 0; words[i]; i++)
            cands_add(words[i], strlen(words[i]));
        add_bound_names();
        for (int i = 0; command_name(i); i++)
            cands_add(command_name(i), strlen(command_name(i)));
        cands_add("quit", 4);
    } else {
        add_bound_names();
    }
    return rl_completion_matches(text, next_candidate);
}

static char *history_path(void)
{
    const char *env = getenv("HEAPCTL_HISTFILE");
    if (env)
        return *env ? strdup(env) : NULL; /* empty: no history file */
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    size_t n = strlen(home) + sizeof "/.heapctl_history";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.heapctl_history", home);
    return p;
}

static void remember(const char *hist, const char *line)
{
    add_history(line);
    if (hist) { /* saved at once, so a killed session keeps its history */
        write_history(hist);
        history_truncate_file(hist, HISTORY_LINES);
    }
}

/* The prompt reads the terminal through libedit's callback interface, in a
 * select() loop over the terminal and the server's socket:
 *  - events (watch, subscribe) print as they arrive, above the line being
 *    typed, which is then drawn again;
 *  - Ctrl-C (SIGINT, caught by a handler that only sets a flag, so nothing
 *    unsafe runs in the handler) interrupts select(); the loop then drops
 *    the line and any pending "... " lines and prints KeyboardInterrupt, as
 *    Python's REPL does; the session, with its frames and handles, goes on.
 *    SIGINT is blocked except inside pselect(), so none is missed, and a
 *    command being run is not cut in the middle of a request. */
static struct {
    session *s;
    char *hist;
    py_unit unit;
    int rc;
    bool done, line_done;
} repl;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* libedit reads ^C as a key (the terminal is in its raw mode while a line
 * is edited): the key does what the signal does. */
static int ctrl_c_key(int count, int key)
{
    (void)count;
    (void)key;
    interrupted = 1;
    return 0;
}

static const char *prompt_now(void)
{
    return py_unit_pending(&repl.unit) ? "... " : "heapd> ";
}

static void run_ready_units(void)
{
    int r = -1;
    while (r != -2 && r != EXIT_CONNECT && py_unit_ready(&repl.unit)) {
        int first;
        char *text = py_unit_take(&repl.unit, &first);
        /* each input is numbered from line 1, as in Python's REPL */
        r = text ? py_run_unit(repl.s, text, 1, true) : -1;
        free(text);
    }
    if (r == -2)
        repl.done = true;
    if (r == EXIT_CONNECT) {
        repl.rc = r;
        repl.done = true;
    }
}

static void on_line(char *line)
{
    if (!line) { /* Ctrl-D */
        putchar('\n');
        repl.done = true;
        return;
    }
    if (line[strspn(line, " \t")] != '\0')
        remember(repl.hist, line);
    if (py_unit_feed(&repl.unit, line, 1))
        session_error(repl.s, "MemoryError", "out of memory");
    free(line);
    run_ready_units();
    repl.line_done = true; /* the loop draws the next prompt */
}

static void keyboard_interrupt(void)
{
    interrupted = 0;
    py_unit_cancel(&repl.unit);
    rl_replace_line("", 0);
    fputs("\nKeyboardInterrupt\n", stdout);
    fflush(stdout);
    rl_callback_handler_remove();
    rl_callback_handler_install(prompt_now(), on_line);
}

/* Events that came while the user types: printed on their own lines,
 * then the prompt and the line drawn again. */
static void show_events(void)
{
    char err[600];
    fputs("\r\033[K", stdout);
    int rc = rpc_poll_events(repl.s->rpc, err, sizeof err);
    fflush(stdout);
    if (rc) {
        session_error(repl.s, "ConnectionError", "%s", err);
        repl.rc = EXIT_CONNECT;
        repl.done = true;
        return;
    }
    rl_forced_update_display();
}

static void repl_loop(void)
{
    int sock = rpc_fd(repl.s->rpc);
    sigset_t block, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    rl_callback_handler_install(prompt_now(), on_line);
    while (!repl.done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        FD_SET(sock, &fds);
        /* SIGINT is blocked but while waiting here: one that comes
         * between the flag's test and the wait is not lost */
        int n = pselect((sock > STDIN_FILENO ? sock : STDIN_FILENO) + 1, &fds, NULL, NULL, NULL,
                        &wait_mask);
        if (interrupted) {
            keyboard_interrupt();
            continue;
        }
        if (n < 0)
            continue; /* EINTR: a signal other than SIGINT (SIGWINCH) */
        if (FD_ISSET(sock, &fds))
            show_events();
        if (!repl.done && FD_ISSET(STDIN_FILENO, &fds))
            rl_callback_read_char();
        if (interrupted) {
            keyboard_interrupt();
            continue;
        }
        if (repl.line_done && !repl.done) {
            repl.line_done = false;
            rl_callback_handler_remove();
            rl_callback_handler_install(prompt_now(), on_line);
        }
    }
    rl_callback_handler_remove();
    sigprocmask(SIG_UNBLOCK, &block, NULL);
}

int repl_run(session *s)
{
    /* libedit's own handlers would re-raise SIGINT with the action they
     * found at start-up, ending the session: ours must be the one */
    rl_catch_signals = 0;
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: select() returns at once */
    sigaction(SIGINT, &sa, &old);
    completing = s;
    rl_attempted_completion_function = complete;
    repl.s = s;
    repl.hist = history_path();
    repl.rc = EXIT_OK;
    repl.done = false;
    py_unit_init(&repl.unit, true);
    using_history();
    if (repl.hist)
        read_history(repl.hist);
    rl_bind_key(3, ctrl_c_key);
    repl_loop();
    sigaction(SIGINT, &old, NULL);
    py_unit_free(&repl.unit);
    cands_clear();
    free(repl.hist);
    return repl.rc;
}
