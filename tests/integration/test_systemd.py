"""heapd as a Debian service (SPEC section 7): the sd_notify protocol,
socket activation, the units, the service config, make install and the man
pages.

The notify tests stand in for systemd with an AF_UNIX datagram socket named
by NOTIFY_SOCKET; socket activation uses systemd-socket-activate, which
passes its listening sockets exactly as systemd does. Tools that are
missing skip their tests with a message (CI installs them all)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from heapd_client import (HEAPD, REPO, TIMEOUT, VALGRIND, Client, Server,
                          free_tcp_port)

BUILD_DIR = os.environ.get("BUILD_DIR") or "build"
SYSTEMD_DIR = os.path.join(REPO, "systemd")
UNITS = ("heapd.service", "heapd.socket")
MAN_PAGES = sorted(f[:-len(".scd")] for f in os.listdir(os.path.join(REPO, "man"))
                   if f.endswith(".scd"))
# The score systemd/README.md records, from systemd 252.
RECORDED_EXPOSURE = "1.1"


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise unittest.SkipTest("%s not found (apt-get install %s)" % (
            tool, "man-db" if tool == "man" else "systemd"))
    return path


def make(*args):
    """Runs make in the repository on this run's build directory. The
    parent make's MAKEFLAGS (jobserver descriptors) are not passed on."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    res = subprocess.run(["make", "-s", "B=" + BUILD_DIR] + list(args), cwd=REPO, env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=600)
    if res.returncode != 0:
        raise AssertionError("make %s failed:\n%s%s" % (" ".join(args), res.stdout, res.stderr))
    return res


def read_json(path):
    with open(path) as f:
        return json.load(f)


def flatten(d, prefix=""):
    """{"gc": {"threshold": 700}} -> {"gc.threshold": 700}"""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def unit_settings(path):
    """[(section, key, value)] of a unit file, in order."""
    out, section = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            out.append((section, key, value))
    return out


def unit_value(path, key):
    values = [v for _, k, v in unit_settings(path) if k == key]
    assert len(values) == 1, "%s: %s=%r" % (path, key, values)
    return values[0]


# ---- a fake service manager: the notify socket ----

class NotifySocket:
    """The datagram socket heapd's sd_notify() writes to."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.seen = []  # every datagram, in order

    def close(self):
        self.sock.close()

    def next(self, timeout=TIMEOUT):
        self.sock.settimeout(timeout)
        msg = self.sock.recv(4096).decode()
        self.seen.append(msg)
        return msg

    def wait_for(self, field, timeout=TIMEOUT):
        """The first datagram from now on with the line `field` (such as
        "READY=1"); the datagrams before it are in self.seen."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s; got %r" % (field, self.seen))
            try:
                msg = self.next(left)
            except socket.timeout:
                continue
            if field in msg.split("\n"):
                return msg

    def count(self, field, seconds):
        """How many datagrams with the line `field` arrive in `seconds`."""
        n, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self.next(max(deadline - time.monotonic(), 0.001))
            except socket.timeout:
                break
            n += field in msg.split("\n")
        return n


def status_of(msg):
    for line in msg.split("\n"):
        if line.startswith("STATUS="):
            return line[len("STATUS="):]
    return None


class SystemdTestCase(unittest.TestCase):

    def server(self, config=None, args=()):
        s = Server(config, args)
        self.addCleanup(s.cleanup)
        return s

    def spawn(self, s, env, cmd=None):
        """Starts heapd (or cmd) for Server s with the environment env,
        without waiting for it: the tests wait on their own signal."""
        s._stderr = open(s.stderr_path, "wb")
        s.proc = subprocess.Popen(cmd or s.command(), env=env, stdin=subprocess.DEVNULL,
                                  stdout=s._stderr, stderr=s._stderr)

    def notify_env(self, s, **extra):
        ns = NotifySocket(s.dir)
        self.addCleanup(ns.close)
        env = dict(os.environ, NOTIFY_SOCKET=ns.path)
        for k in ("WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"):
            env.pop(k, None)
        env.update(extra)
        return ns, env


# ---- sd_notify ----

class NotifyTest(SystemdTestCase):

    def test_ready_status_then_stopping(self):
        s = self.server()
        ns, env = self.notify_env(s)
        self.spawn(s, env)
        ready = ns.wait_for("READY=1")
        # STATUS=Loading comes first, while the heap is built.
        self.assertEqual([status_of(m) for m in ns.seen[:-1]], ["Loading"])
        self.assertRegex(status_of(ready), r"^Ready: \d+ objects$")
        # Ready means accepting: no retry loop needed.
        with s.client() as c:
            c.ok("bind", "x", [1, 2, 3])
            self.assertEqual(c.ok("get", "x"), [1, 2, 3])
        s.proc.send_signal(signal.SIGTERM)
        stopping = ns.wait_for("STOPPING=1")
        self.assertEqual(status_of(stopping), "Stopping")
        self.assertEqual(s.wait(10), 0, s.stderr_text())

    def test_object_count_in_ready_status(self):
        s = self.server()
        ns, env = self.notify_env(s)
        self.spawn(s, env)
        ready = ns.wait_for("READY=1")
        before = int(re.search(r"(\d+) objects", status_of(ready)).group(1))
        with s.client() as c:
            self.assertEqual(c.ok("stats")["objects"]["live"], before)
            c.ok("bind", "x", [[], [], 1000, 1001])
        s.proc.send_signal(signal.SIGHUP)  # READY=1 again, with the new count
        again = ns.wait_for("READY=1")
        self.assertEqual(status_of(again), "Ready: %d objects" % (before + 5))
        self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_sighup_reloading_then_ready_after_the_reload(self):
        s = self.server({"gc": {"threshold": 700}})
        ns, env = self.notify_env(s)
        self.spawn(s, env)
        ns.wait_for("READY=1")
        s.write_file("heapd.json", json.dumps({"gc": {"threshold": 1234}}))
        s.proc.send_signal(signal.SIGHUP)
        reloading = ns.wait_for("RELOADING=1")
        self.assertRegex(reloading, r"(^|\n)MONOTONIC_USEC=\d+($|\n)")
        ns.wait_for("READY=1")
        # READY=1 came after the reload: the new setting is in force.
        with s.client() as c:
            self.assertEqual(c.ok("gc_get_threshold"), [1234, 10, 10])
        self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_watchdog_pings_at_half_the_interval(self):
        s = self.server()
        # WATCHDOG_PID must be heapd's pid: the shell's $$, kept by exec.
        ns, env = self.notify_env(s, WATCHDOG_USEC="200000")
        cmd = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"]
        self.spawn(s, env, cmd + s.command())
        ns.wait_for("READY=1")
        # Every 100 ms: about 10 in a second (fewer under valgrind).
        n = ns.count("WATCHDOG=1", 1.0)
        self.assertGreaterEqual(n, 3 if VALGRIND else 6)
        self.assertLessEqual(n, 12)
        self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_no_watchdog_unless_asked_for_this_process(self):
        for extra in ({}, {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}):
            s = self.server()
            ns, env = self.notify_env(s, **extra)
            self.spawn(s, env)
            ns.wait_for("READY=1")
            self.assertEqual(ns.count("WATCHDOG=1", 0.5), 0, extra)
            self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_shutdown_method_sends_stopping(self):
        s = self.server()
        ns, env = self.notify_env(s)
        self.spawn(s, env)
        ns.wait_for("READY=1")
        with s.client() as c:
            c.ok("shutdown")
        ns.wait_for("STOPPING=1")
        self.assertEqual(s.wait(10), 0, s.stderr_text())

    def test_failed_start_is_not_ready(self):
        s = self.server(args=["--socket", "/nonexistent-dir/heapd.sock"])  # cannot bind
        ns, env = self.notify_env(s)
        self.spawn(s, env)
        self.assertEqual(s.wait(10), 1)
        try:
            while True:
                ns.next(0.2)
        except socket.timeout:
            pass
        self.assertFalse(any("READY=1" in m.split("\n") for m in ns.seen), ns.seen)


# ---- socket activation ----

class SocketActivationTest(SystemdTestCase):
    """systemd-socket-activate binds, waits for the first connection, then
    execs heapd (same pid) with LISTEN_FDS, as systemd does."""

    def activate(self, s, listen, config=None, datagram=False):
        tool = need("systemd-socket-activate")
        cmd = [tool]
        if datagram:
            cmd.append("--datagram")
        for addr in listen:
            cmd += ["-l", addr]
        # Only these variables reach heapd (the tool passes few by default).
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                cmd += ["-E", k]
        self.spawn(s, dict(os.environ), cmd + s.command())
        deadline = time.monotonic() + TIMEOUT
        paths = [a for a in listen if a.startswith("/")]
        while not all(os.path.exists(p) for p in paths):  # the tool is listening
            self.assertIsNone(s.proc.poll(), s.stderr_text())
            self.assertLess(time.monotonic(), deadline, "no socket from systemd-socket-activate")
            time.sleep(0.01)

    def unix_client(self, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        return Client(sock)

    def tcp_client(self, port):
        """A connection to the tool's TCP socket, once it listens."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                return Client(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def test_unix_socket_is_adopted_and_left_in_place(self):
        s = self.server()  # s.sock_path: heapd's own --socket, which it must not bind
        passed = os.path.join(s.dir, "passed.sock")
        self.activate(s, [passed])
        with self.unix_client(passed) as c:
            c.ok("bind", "x", "activated")
            self.assertEqual(c.ok("get", "x"), "activated")
            self.assertEqual(c.ok("clients")[0]["transport"], "unix")
        with self.unix_client(passed) as c:  # a second client, same socket
            self.assertEqual(c.ok("get", "x"), "activated")
        self.assertFalse(os.path.exists(s.sock_path), "heapd bound its own socket too")
        self.assertIn("fd 3 from systemd", s.stderr_text())
        self.assertEqual(s.stop(), 0, s.stderr_text())
        # The socket belongs to systemd: heapd leaves it for the next start.
        self.assertTrue(os.path.exists(passed))

    def test_passed_socket_at_listen_unix_is_not_probed(self):
        # The service's config names the socket heapd.socket listens on
        # (/run/heapd/heapd.sock): systemd answers there, and heapd must not
        # take that for another heapd.
        s = self.server()
        self.activate(s, [s.sock_path])
        with self.unix_client(s.sock_path) as c:
            self.assertEqual(c.ok("ping"), "pong")
        self.assertNotIn("address in use", s.stderr_text())
        self.assertEqual(s.stop(), 0, s.stderr_text())
        self.assertTrue(os.path.exists(s.sock_path))

    def test_unix_and_tcp_sockets(self):
        s = self.server()
        passed, port = os.path.join(s.dir, "passed.sock"), free_tcp_port()
        self.activate(s, [passed, "127.0.0.1:%d" % port])
        with self.unix_client(passed) as u, self.tcp_client(port) as t:
            u.ok("bind", "shared", [1, 2])
            self.assertEqual(t.ok("get", "shared"), [1, 2])
            kinds = sorted(c["transport"] for c in t.ok("clients"))
            self.assertEqual(kinds, ["tcp", "unix"])
        self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_non_loopback_tcp_needs_a_token(self):
        s = self.server()
        port = free_tcp_port()
        self.activate(s, ["0.0.0.0:%d" % port])
        self.tcp_client(port).close()  # triggers the exec; heapd refuses
        self.assertEqual(s.wait(10), 1, s.stderr_text())
        self.assertIn("auth token", s.stderr_text())

    def test_non_loopback_tcp_with_a_token(self):
        s = self.server()
        token = s.write_file("token", "sesame\n")
        s.config = {"auth": {"token_file": token}}
        port = free_tcp_port()
        self.activate(s, ["0.0.0.0:%d" % port])
        with self.tcp_client(port) as c:
            self.assertEqual(c.err("bind", "x", 1)["type"], "AuthError")
            c.ok("auth", "sesame")
            c.ok("bind", "x", 1)
        self.assertEqual(s.stop(), 0, s.stderr_text())

    def test_datagram_socket_is_refused(self):
        s = self.server()
        passed = os.path.join(s.dir, "dgram.sock")
        self.activate(s, [passed], datagram=True)
        d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        d.sendto(b"x", passed)  # triggers the exec
        d.close()
        self.assertEqual(s.wait(10), 1, s.stderr_text())
        self.assertIn("not a listening Unix or TCP stream socket", s.stderr_text())


# ---- the units and the service's config ----

class UnitFilesTest(unittest.TestCase):

    def test_service_config_is_the_example_with_two_service_paths(self):
        example = flatten(read_json(os.path.join(REPO, "conf", "heapd.json")))
        service = flatten(read_json(os.path.join(SYSTEMD_DIR, "heapd.json")))
        self.assertEqual(list(service), list(example))  # same keys, same order
        differ = {k: service[k] for k in example if service[k] != example[k]}
        self.assertEqual(differ, {"listen.unix": "/run/heapd/heapd.sock",
                                  "persistence.path": "/var/lib/heapd/heapd.snapshot",
                                  "persistence.log": "/var/lib/heapd/heapd.log"})
        res = subprocess.run([HEAPD, "--check-config", "--config",
                              os.path.join(SYSTEMD_DIR, "heapd.json")],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_units_agree_with_the_service_config(self):
        service = flatten(read_json(os.path.join(SYSTEMD_DIR, "heapd.json")))
        unit = os.path.join(SYSTEMD_DIR, "heapd.service")
        sock = os.path.join(SYSTEMD_DIR, "heapd.socket")
        self.assertEqual(unit_value(sock, "ListenStream"), service["listen.unix"])
        run_dir = "/run/" + unit_value(unit, "RuntimeDirectory") + "/"
        state_dir = "/var/lib/" + unit_value(unit, "StateDirectory") + "/"
        self.assertTrue(service["listen.unix"].startswith(run_dir))
        self.assertTrue(service["persistence.path"].startswith(state_dir))
        self.assertTrue(service["persistence.log"].startswith(state_dir))
        self.assertEqual(unit_value(unit, "Type"), "notify")
        self.assertEqual(unit_value(unit, "ExecStart"),
                         "/usr/bin/heapd --config /etc/heapd/heapd.json")
        # Enough descriptors for limits.max_clients, plus some.
        self.assertGreater(int(unit_value(unit, "LimitNOFILE")), service["limits.max_clients"])


class InstallTest(unittest.TestCase):

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="heapd-install-")
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def files(self):
        out = []
        for root, _, names in os.walk(self.dest):
            out += [os.path.relpath(os.path.join(root, n), self.dest) for n in names]
        return sorted(out)

    def expected(self, prefix, unitdir):
        p = prefix.lstrip("/")
        man = ["%s/share/man/man%s/%s" % (p, page.rsplit(".", 1)[1], page) for page in MAN_PAGES]
        return sorted([
            "etc/heapd/heapd.json",
            p + "/bin/heapctl",
            p + "/bin/heapd",
            p + "/share/doc/heapd/heapd.json.example",
            unitdir.lstrip("/") + "/heapd.service",
            unitdir.lstrip("/") + "/heapd.socket",
        ] + man)

    def test_install_file_list_and_contents(self):
        make("install", "DESTDIR=" + self.dest)
        self.assertEqual(self.files(), self.expected("/usr/local", "/usr/local/lib/systemd/system"))
        self.assertEqual(sorted(MAN_PAGES), ["heapctl.1", "heapd.8", "heapd.json.5"])
        units = os.path.join(self.dest, "usr/local/lib/systemd/system")
        self.assertEqual(unit_value(os.path.join(units, "heapd.service"), "ExecStart"),
                         "/usr/local/bin/heapd --config /etc/heapd/heapd.json")
        with open(os.path.join(self.dest, "etc/heapd/heapd.json")) as f, \
                open(os.path.join(SYSTEMD_DIR, "heapd.json")) as g:
            self.assertEqual(f.read(), g.read())
        with open(os.path.join(self.dest, "usr/local/share/doc/heapd/heapd.json.example")) as f, \
                open(os.path.join(REPO, "conf", "heapd.json")) as g:
            self.assertEqual(f.read(), g.read())
        heapd = os.path.join(self.dest, "usr/local/bin/heapd")
        self.assertTrue(os.access(heapd, os.X_OK))
        self.assertIn("heapd", subprocess.run([heapd, "--version"], capture_output=True,
                                              text=True, timeout=10).stdout)

    def test_prefix_usr(self):
        make("install", "DESTDIR=" + self.dest, "PREFIX=/usr")
        unitdir = "/usr/lib/systemd/system"
        self.assertEqual(self.files(), self.expected("/usr", unitdir))
        self.assertEqual(unit_value(os.path.join(self.dest, unitdir.lstrip("/"), "heapd.service"),
                                    "ExecStart"),
                         "/usr/bin/heapd --config /etc/heapd/heapd.json")

    def test_existing_config_is_kept_and_uninstall_removes_the_rest(self):
        make("install", "DESTDIR=" + self.dest)
        conf = os.path.join(self.dest, "etc/heapd/heapd.json")
        with open(conf, "w") as f:
            f.write('{"log": {"level": "debug"}}\n')
        res = make("install", "DESTDIR=" + self.dest)
        self.assertIn("keeping the existing", res.stdout)
        with open(conf) as f:
            self.assertEqual(f.read(), '{"log": {"level": "debug"}}\n')
        make("uninstall", "DESTDIR=" + self.dest)
        self.assertEqual(self.files(), ["etc/heapd/heapd.json"])  # changed: the operator's

    def test_uninstall_removes_everything_install_added(self):
        make("install", "DESTDIR=" + self.dest)
        make("uninstall", "DESTDIR=" + self.dest)
        self.assertEqual(self.files(), [])
        self.assertFalse(os.path.exists(os.path.join(self.dest, "etc/heapd")))


class SystemdAnalyzeTest(unittest.TestCase):
    """The units as installed under a temporary PREFIX, so that ExecStart
    names a heapd that exists on any machine."""

    @classmethod
    def setUpClass(cls):
        need("systemd-analyze")
        cls.root = tempfile.mkdtemp(prefix="heapd-units-")
        make("install", "PREFIX=" + cls.root + "/usr", "SYSCONFDIR=" + cls.root + "/etc",
             "UNITDIR=" + cls.root + "/units")
        cls.units = os.path.join(cls.root, "units")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def analyze(self, *args):
        # The Documentation= man pages are checked too, in the installed tree.
        env = dict(os.environ, MANPATH=os.path.join(self.root, "usr/share/man"))
        return subprocess.run(["systemd-analyze"] + list(args), env=env, capture_output=True,
                              text=True, timeout=120)

    def test_verify(self):
        need("man")
        self.assertEqual(unit_value(os.path.join(self.units, "heapd.service"), "ExecStart"),
                         "%s/usr/bin/heapd --config %s/etc/heapd/heapd.json" % (self.root, self.root))
        for unit in UNITS:
            path = os.path.join(self.units, unit)
            res = self.analyze("verify", "--man=yes", path)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertEqual(res.stderr.strip(), "", unit)

    def test_verify_fails_on_a_missing_binary(self):
        # So that test_verify can fail: verify does look at ExecStart.
        bad = os.path.join(self.root, "bad.service")
        with open(os.path.join(self.units, "heapd.service")) as f, open(bad, "w") as g:
            g.write(f.read().replace(self.root + "/usr/bin/heapd", self.root + "/nope/heapd"))
        res = self.analyze("verify", "--man=no", bad)
        self.assertNotEqual(res.returncode, 0)

    def test_security_score(self):
        res = self.analyze("security", "--offline=true", "--threshold=49",
                           os.path.join(self.units, "heapd.service"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        m = re.search(r"Overall exposure level for heapd\.service: (\d+\.\d) (\w+)", res.stdout)
        self.assertIsNotNone(m, res.stdout)
        self.assertIn(m.group(2), ("PERFECT", "SAFE", "OK"))
        version = subprocess.run(["systemd-analyze", "--version"], capture_output=True,
                                 text=True).stdout
        if version.startswith("systemd 252 "):
            self.assertEqual(m.group(1), RECORDED_EXPOSURE,
                             "update the score in systemd/README.md and README.md")
        for doc in ("systemd/README.md", "README.md"):
            with open(os.path.join(REPO, doc)) as f:
                self.assertIn("%s OK" % RECORDED_EXPOSURE, f.read(), doc)


# ---- man pages ----

class ManPagesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        need("man")
        make("man")

    def render(self, page):
        path = os.path.join(REPO, BUILD_DIR, "man", page)
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
        res = subprocess.run(["man", "--warnings", "-l", path], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stderr, "", page)
        # Plain text: no overstrike bold or underline, no line-end hyphenation.
        text = re.sub(r".\x08", "", res.stdout)
        text = re.sub(r"\u2010\n\s+", "", text)
        return re.sub(r"(\w-)\n\s+(?=\w)", r"\1", text)

    def test_every_page_renders_without_warnings(self):
        self.assertEqual(MAN_PAGES, ["heapctl.1", "heapd.8", "heapd.json.5"])
        for page in MAN_PAGES:
            text = self.render(page)
            name, section = page.rsplit(".", 1)
            self.assertIn("%s(%s)" % (name, section), text.splitlines()[0])
            for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
                self.assertIn("\n" + heading + "\n", text, page)

    def options_of(self, binary):
        """The options --help lists, one a line: "  -s, --socket PATH"."""
        out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        options = set()
        for m in re.finditer(r"^ {2,}(?:(-[a-zA-Z]), )?(--[a-z][a-z-]+)", out, re.M):
            options.update(o for o in m.groups() if o)
        options.update(o for o in ("--help", "--version") if o in out)  # maybe in the usage
        return options

    def test_pages_agree_with_help(self):
        heapctl = os.environ.get("HEAPCTL") or os.path.join(REPO, BUILD_DIR, "heapctl")
        for binary, page in ((HEAPD, "heapd.8"), (heapctl, "heapctl.1")):
            text = self.render(page)
            options = self.options_of(binary)
            self.assertGreaterEqual(len(options), 6, options)
            missing = sorted(o for o in options
                             if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text))
            self.assertEqual(missing, [], "%s lacks options of %s --help" % (page, binary))

    def test_config_page_names_every_setting(self):
        text = self.render("heapd.json.5")
        keys = flatten(read_json(os.path.join(REPO, "conf", "heapd.json")))
        missing = [k for k in keys if k not in text]
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
