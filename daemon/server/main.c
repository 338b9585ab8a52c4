/* heapd: options, configuration, the loop. */
#include "config.h"
#include "listeners.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "version.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: heapd [--config FILE] [--socket PATH] [--tcp HOST:PORT] [--check-config]\n"
          "       heapd --help | --version\n"
          "\n"
          "Runs Python's memory model as a network service (msgpack-RPC).\n"
          "\n"
          "  -c, --config FILE   load settings from FILE (JSON; see conf/heapd.json)\n"
          "  -s, --socket PATH   listen on this Unix socket (listen.unix); refused\n"
          "                      when another heapd answers there\n"
          "  -t, --tcp HOST:PORT also listen on TCP (listen.tcp): a numeric address\n"
          "                      ([::1] for IPv6) and a port of 1..65535; one off\n"
          "                      loopback needs auth.token_file\n"
          "      --check-config  apply every start-up rule and exit (0 if valid)\n"
          "  -h, --help          this help\n"
          "  -V, --version       the version\n"
          "\n"
          "With no options heapd listens on $XDG_RUNTIME_DIR/heapd.sock, else on\n"
          "/tmp/heapd-UID/heapd.sock. SIGTERM/SIGINT stop it; SIGHUP reloads the\n"
          "settings that can change at run time.\n"
          "\n"
          "Logs go to stderr as plain lines (\"heapd: ...\"); on a terminal one\n"
          "of them says how to reach heapd with heapctl. When stderr is the\n"
          "journal's ($JOURNAL_STREAM), each line has a <N> priority prefix.\n"
          "\n"
          "With auth.token_file set, a wrong token is answered after 0.5 s (at most\n"
          "20 such answers a second in all), and the third closes the connection.\n"
          "\n"
          "With metrics.listen set (\"127.0.0.1:9411\"; off by default), heapd\n"
          "serves GET /metrics over HTTP in Prometheus's text format.\n"
          "\n"
          "With persistence.path set, heapd loads the snapshot there at start (a\n"
          "damaged one stops it, untouched) and saves it on `save`, at SIGTERM and\n"
          "SIGINT, and every persistence.interval_s seconds when set.\n"
          "\n"
          "Under systemd (heapd.service, Type=notify) it reports READY, STATUS,\n"
          "RELOADING and STOPPING, pings the watchdog, and adopts the sockets\n"
          "systemd passes (heapd.socket) instead of binding its own. See heapd(8).\n",
          out);
}

struct options {
    const char *config, *socket, *tcp;
    bool check;
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"tcp", required_argument, NULL, 't'},
        {"check-config", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:t:hV", longs, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 't':
            o->tcp = optarg;
            break;
        case 'k':
            o->check = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            puts("heapd " HEAPD_VERSION);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "heapd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* The configuration: the file (if any), then the command-line overrides,
 * which get the checks the file's values get. */
static int load_config(const struct options *o, heapd_config *cfg)
{
    char err[CONFIG_ERR_MAX];
    config_defaults(cfg);
    int rc = o->config ? config_load_file(cfg, o->config, err, sizeof err) : 0;
    if (!rc && o->socket)
        rc = config_set_option(cfg, "listen.unix", o->socket, err, sizeof err);
    if (!rc && o->tcp)
        rc = config_set_option(cfg, "listen.tcp", o->tcp, err, sizeof err);
    if (rc) {
        log_err("%s", err);
        config_free(cfg);
        return -1;
    }
    return 0;
}

/* --check-config: the file, the options, and every rule start-up applies
 * before it binds (listeners_check); not whether the addresses are free. */
static int check_config(const struct options *o, heapd_config *cfg)
{
    char err[256];
    int rc = listeners_check(cfg, err, sizeof err);
    if (rc)
        log_err("%s", err);
    else
        printf("%s: configuration is valid\n", o->config ? o->config : "built-in defaults");
    config_free(cfg);
    return rc ? 1 : 0;
}

/* Appends w to line as one shell word: bare when plain, else in single
 * quotes, so the hint below pastes back into a shell as it reads. */
static void add_word(char *line, size_t size, const char *w)
{
    size_t n = strlen(line);
    bool plain = w[0] && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_/.,:@%+=-") == strlen(w);
    if (n + 4 >= size)
        return;
    line[n++] = ' ';
    if (!plain)
        line[n++] = '\'';
    for (; *w && n + 6 < size; w++)
        if (*w == '\'' && !plain)
            n += (size_t)snprintf(line + n, size - n, "'\\''");
        else
            line[n++] = *w;
    if (!plain)
        line[n++] = '\'';
    line[n] = '\0';
}

/* Someone who ran heapd on a terminal (make run) learns how to reach it:
 * heapctl from beside this heapd when there is one (build/heapctl), -s
 * unless the socket is where heapctl looks by itself, -a when a token is
 * needed. The journal and files get no hint. */
static void connect_hint(const server *srv, const char *argv0)
{
    char ctl[512] = "heapctl", line[1024] = "";
    const char *slash = strrchr(argv0, '/');
    if (!isatty(STDERR_FILENO) || !srv->lis.unix_path)
        return;
    if (slash && (size_t)(slash - argv0) + sizeof "/heapctl" <= sizeof ctl) {
        snprintf(ctl, sizeof ctl, "%.*s/heapctl", (int)(slash - argv0), argv0);
        if (access(ctl, X_OK) != 0)
            snprintf(ctl, sizeof ctl, "heapctl");
    }
    add_word(line, sizeof line, ctl);
    if (srv->cfg.listen_unix) {
        add_word(line, sizeof line, "-s");
        add_word(line, sizeof line, srv->lis.unix_path);
    }
    if (srv->cfg.auth_token_file) {
        char cat[600];
        snprintf(cat, sizeof cat, "$(cat");
        add_word(cat, sizeof cat, srv->cfg.auth_token_file);
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, " -a \"%s)\"", cat);
    }
    log_info("ready: %s ping", line + 1);
}

int main(int argc, char **argv)
{
    struct options o = {0};
    heapd_config cfg;
    char err[256];
    if (parse_options(argc, argv, &o))
        return 2;
    if (load_config(&o, &cfg))
        return 1;
    if (o.check)
        return check_config(&o, &cfg);
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return, not a death */
    log_set_level(cfg.log_level);
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* Start-up order, as systemd sees it: STATUS=Loading here; the heap
     * and listeners (server_new); anything loaded into the heap before
     * server_run, which sends READY=1 with the object count. */
    notify_status("Loading");
    server *srv = server_new(&loop, &cfg, err, sizeof err);
    if (!srv) {
        log_err("%s", err);
        uv_loop_close(&loop);
        return 1;
    }
    log_info("heapd %s started (pid %d)", HEAPD_VERSION, (int)getpid());
    connect_hint(srv, argv[0]);
    int rc = server_run(srv);
    server_free(srv);
    int busy = uv_loop_close(&loop);
    log_info("stopped%s", busy ? " (handles still open)" : "");
    return rc;
}
