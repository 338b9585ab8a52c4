/* heapctl: the command-line client of heapd (SPEC §6). One-shot commands,
 * scripts (-f FILE or a pipe), the interactive prompt, stats and bench. */
#include "bench.h"
#include "commands.h"
#include "py_run.h"
#include "script.h"
#include "session.h"
#include "sockpath.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the packaged service listens (systemd/heapd.socket): tried when
 * the per-user default socket does not exist. */
#define SERVICE_SOCKET "/run/heapd/heapd.sock"

static void usage(FILE *out)
{
    fputs("usage: heapctl [-s SOCKET | -H HOST -p PORT] [-a TOKEN] [--json] [--raw]\n"
          "               [-f FILE] [--keep-going] [COMMAND ARGS...]\n"
          "       heapctl help [COMMAND] | heapctl --help | --version\n"
          "\n"
          "  -s, --socket PATH   Unix socket (default $XDG_RUNTIME_DIR/heapd.sock, else\n"
          "                      /tmp/heapd-UID/heapd.sock; if that does not exist,\n"
          "                      " SERVICE_SOCKET ")\n"
          "  -H, --host HOST     connect over TCP to HOST:PORT (heapd --tcp HOST:PORT)\n"
          "  -p, --port PORT     the TCP port, with -H\n"
          "  -a, --auth TOKEN    authenticate first (default: $HEAPCTL_AUTH)\n"
          "      --json          print results as JSON (tuples, sets, bytes and refs as\n"
          "                      {\"$tuple\": [...]}, {\"$set\": [...]}, {\"$bytes\": \"hex\"},\n"
          "                      {\"$ref\": ID, \"type\": \"list\"}; see heapctl(1))\n"
          "      --raw           print a str or bytes result without quotes or escapes\n"
          "  -f, --file FILE     run FILE: Python statements and commands ('-': stdin)\n"
          "  -c, --command CODE  run CODE (Python statements and commands), as python3 -c\n"
          "      --keep-going    in a script, go on after a failing line\n"
          "\n"
          "Every method of heapd is a command of the same name (heapctl help lists them).\n"
          "Values are Python literals: None True 1 -2.5 'a' b'\\x00' (1,) [1, 2] {'k': 1}\n"
          "{1, 2} set(), plus $name (the object bound to name) and @id (an object by id).\n"
          "A bare word where an object is expected is a name: heapctl refcount x.\n"
          "With no command: an interactive prompt on a terminal, else a script on stdin.\n"
          "The prompt, scripts and -c speak a subset of Python (heapctl(1), PYTHON):\n"
          "  a = [26, 26]; import sys; print(sys.getrefcount(26)); del a\n"
          "  heapctl stats [SECTION] [--json] [--watch SECONDS]\n"
          "  heapctl bench [-c CLIENTS] [-n REQUESTS] [-P PIPELINE] [-t TESTS] [-d SIZE]\n"
          "\n"
          "Exit status: 0 success, 1 the server answered an error, 2 usage or syntax,\n"
          "3 could not connect.\n",
          out);
}

typedef struct options {
    endpoint ep;
    bool json, raw, keep_going;
    const char *file;
    const char *code; /* -c CODE */
    char default_socket[PATH_MAX];
} options;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("heapctl: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (heapctl --help)\n", stderr);
    return EXIT_USAGE;
}

static const char *default_socket(options *o)
{
    if (sockpath_default(o->default_socket, sizeof o->default_socket, false) < 0)
        return SERVICE_SOCKET;
    if (access(o->default_socket, F_OK) != 0 && access(SERVICE_SOCKET, F_OK) == 0)
        return SERVICE_SOCKET;
    return o->default_socket;
}

static int parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Options up to the command; "+" stops there, so `bind x -1` works. */
static int parse_options(int argc, char **argv, options *o)
{
    enum { OPT_JSON = 256, OPT_RAW, OPT_KEEP, OPT_HELP, OPT_VERSION };
    static const struct option longs[] = {
        {"socket", required_argument, 0, 's'},    {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},      {"auth", required_argument, 0, 'a'},
        {"file", required_argument, 0, 'f'},      {"command", required_argument, 0, 'c'},
        {"json", no_argument, 0, OPT_JSON},       {"raw", no_argument, 0, OPT_RAW},
        {"keep-going", no_argument, 0, OPT_KEEP}, {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION}, {0, 0, 0, 0},
    };
    o->ep.token = getenv("HEAPCTL_AUTH");
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:H:p:a:f:c:h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            o->ep.unix_path = optarg;
            break;
        case 'H':
            o->ep.host = optarg;
            break;
        case 'p':
            if (parse_port(optarg, &o->ep.port))
                return usage_error("bad port '%s'", optarg);
            break;
        case 'a':
            o->ep.token = optarg;
            break;
        case 'f':
            o->file = optarg;
            break;
        case 'c':
            o->code = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_RAW:
            o->raw = true;
            break;
        case OPT_KEEP:
            o->keep_going = true;
            break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            exit(EXIT_OK);
        case OPT_VERSION:
            puts("heapctl " HEAPD_VERSION);
            exit(EXIT_OK);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->ep.unix_path && (o->ep.host || o->ep.port))
        return usage_error("%s", "-s and -H/-p exclude each other");
    if (!o->ep.host != !o->ep.port)
        return usage_error("%s", "TCP needs both -H HOST and -p PORT");
    if (!o->ep.host && !o->ep.unix_path)
        o->ep.unix_path = default_socket(o);
    return EXIT_OK;
}

/* "heapctl: could not connect ..." for people; a ConnectionError for --json. */
static int connect_failed(const session *s, const char *err)
{
    if (s->json)
        session_error(s, "ConnectionError", "%s", err);
    else
        fprintf(stderr, "heapctl: %s\n", err);
    return EXIT_CONNECT;
}

static int connect_session(const options *o, session *s)
{
    char err[600];
    *s = (session){.json = o->json, .raw = o->raw};
    s->rpc = rpc_connect(&o->ep, err, sizeof err);
    if (!s->rpc)
        return connect_failed(s, err);
    rpc_on_event(s->rpc, session_print_event, s);
    if (o->ep.token) {
        rpc_reply rep;
        if (rpc_call_str(s->rpc, "auth", o->ep.token, &rep, err, sizeof err))
            return connect_failed(s, err);
        if (!rep.ok) {
            session_error(s, rep.etype, "%s", rep.emsg);
            return EXIT_SERVER_ERROR;
        }
    }
    return EXIT_OK;
}

/* -c CODE: a script held in the argument, named "<string>" as python3 -c
 * names it. */
static int run_code(const options *o, session *s)
{
    FILE *f = fmemopen((void *)o->code, strlen(o->code), "r");
    if (!f) {
        fprintf(stderr, "heapctl: -c: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    int rc = script_run(s, f, "<string>", o->keep_going);
    fclose(f);
    return rc;
}

static int run_script(const options *o, session *s)
{
    if (!o->file || strcmp(o->file, "-") == 0)
        return script_run(s, stdin, "<stdin>", o->keep_going);
    FILE *f = fopen(o->file, "r");
    if (!f) {
        fprintf(stderr, "heapctl: %s: %s\n", o->file, strerror(errno));
        return EXIT_USAGE;
    }
    int rc = script_run(s, f, o->file, o->keep_going);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs > 0 && strcmp(args[0], "help") == 0)
        return help_command(NULL, nargs, args);
    if (nargs > 0 && strcmp(args[0], "bench") == 0)
        return bench_main(&o.ep, nargs, args);
    if (nargs > 0 && o.file)
        return usage_error("%s", "-f FILE and a COMMAND exclude each other");
    if (o.code && (nargs > 0 || o.file))
        return usage_error("%s", "-c CODE excludes -f FILE and a COMMAND");
    session s;
    rc = connect_session(&o, &s);
    if (rc == EXIT_OK) {
        if (nargs > 0)
            rc = session_run(&s, nargs, args, NULL, NULL);
        else if (o.code)
            rc = run_code(&o, &s);
        else if (o.file || !isatty(STDIN_FILENO))
            rc = run_script(&o, &s);
        else
            rc = repl_run(&s);
    }
    fflush(stdout);
    py_session_end(&s);
    rpc_close(s.rpc);
    return rc;
}
