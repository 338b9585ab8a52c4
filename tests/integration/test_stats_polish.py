"""stats and clients as a new user meets them: heapctl rounds floats and
says "unlimited" for a 0 limit, the memory section has the process's RSS
and figures for people (used_memory_human, as Redis), the objects section
counts the global names, clients() names each client's peer with its age
and idle time, `stats --watch --json` prints JSON lines, and --json errors
are JSON too (one line on stderr, the exit status unchanged)."""

import json
import os
import re
import select
import socket
import subprocess
import time

from heapd_client import TIMEOUT, Client, Server, ServerTestCase, free_tcp_port
from test_heapctl import (EXIT_CONNECT, EXIT_SERVER_ERROR, EXIT_USAGE, HEAPCTL, base_env,
                          run_heapctl)


def human(n):
    """Redis's bytesToHuman, as heapd's stats_human_bytes writes it."""
    if n < 1024:
        return "%dB" % n
    v = n / 1024.0
    for unit in "KMGT":
        if v < 1024:
            return "%.2f%s" % (v, unit)
        v /= 1024
    return "%.2fP" % v


class PolishTestCase(ServerTestCase):

    def ctl(self, *args, input=None):
        return run_heapctl(["-s", self.server.sock_path] + list(args), input=input)

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual((r.returncode, r.err), (0, ""), args)
        return r.out

    def entries(self, out):
        return dict(line.split(":", 1) for line in out.splitlines()
                    if line and not line.startswith("#"))


class StatsForPeopleTest(PolishTestCase):

    def test_floats_are_rounded_for_people_only(self):
        for _ in range(3):
            self.ok("ping")
        out = self.ok("stats", "commands")
        ping = re.search(r"(?m)^ping:(.*)$", out).group(1)
        fields = dict(f.split("=", 1) for f in ping.split(","))
        self.assertRegex(fields["usec_per_call"], r"^\d+\.\d\d$")
        self.assertNotRegex(self.ok("stats"), r"\d\.\d{3,}")  # no long float anywhere
        doc = json.loads(self.ok("--json", "stats", "commands"))
        self.assertIsInstance(doc["ping"]["usec_per_call"], float)
        self.assertAlmostEqual(doc["ping"]["usec_per_call"],
                               doc["ping"]["usec"] / doc["ping"]["calls"], delta=1.0)

    def test_zero_limits_read_unlimited(self):
        limits = self.entries(self.ok("stats", "limits"))
        self.assertEqual(limits["max_objects"], "unlimited")
        self.assertEqual(limits["max_memory_bytes"], "unlimited")
        self.assertEqual(limits["max_clients"], "10000")
        memory = self.entries(self.ok("stats", "memory"))
        self.assertEqual((memory["limit"], memory["limit_human"]), ("unlimited", "unlimited"))
        doc = json.loads(self.ok("--json", "stats", "limits"))
        self.assertEqual((doc["max_objects"], doc["max_memory_bytes"]), (0, 0))

    def test_memory_section(self):
        c = self.connect()
        c.ok("bind", "big", list(range(300, 20300)))
        mem = c.ok("stats", "memory")
        for key in ("bytes", "peak_bytes", "rss_bytes"):
            self.assertIsInstance(mem[key], int, key)
        self.assertEqual(mem["bytes_human"], human(mem["bytes"]))
        self.assertEqual(mem["peak_human"], human(mem["peak_bytes"]))
        self.assertEqual(mem["rss_human"], human(mem["rss_bytes"]))
        self.assertEqual(mem["limit_human"], "unlimited")
        self.assertRegex(mem["bytes_human"], r"^\d+\.\d\dK$")  # some 160 KiB of ints
        with open("/proc/%d/statm" % self.server.proc.pid) as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        self.assertLess(abs(mem["rss_bytes"] - rss), max(rss // 4, 1 << 20))
        c.ok("unbind", "big")

    def test_human_units(self):
        s = Server({"limits": {"max_memory_bytes": 1536, "max_objects": 7}}).start()
        try:
            c = s.client()
            mem = c.ok("stats", "memory")
            self.assertEqual((mem["limit"], mem["limit_human"]), (1536, "1.50K"))
            out = run_heapctl(["-s", s.sock_path, "stats", "limits"]).out
            self.assertIn("max_objects:7\n", out)
            self.assertIn("max_memory_bytes:1536\n", out)
            c.close()
            self.assertEqual(s.stop(), 0)
        finally:
            s.cleanup()

    def test_global_names(self):
        c = self.connect()
        base = c.ok("stats", "objects")["global_names"]
        self.assertEqual(base, len(c.ok("names")))
        c.ok("bind", "gn_a", 1)
        c.ok("bind", "gn_b", [2])
        c.ok("push_scope")
        c.ok("bind", "local_only", 3)  # a frame's name is not a global one
        self.assertEqual(c.ok("stats", "objects")["global_names"], base + 2)
        c.ok("pop_scope")
        c.ok("unbind", "gn_a")
        self.assertEqual(c.ok("stats", "objects")["global_names"], base + 1)
        self.assertIn("global_names:%d\n" % (base + 1), self.ok("stats", "objects"))
        c.ok("unbind", "gn_b")


class ClientsTest(PolishTestCase):

    def test_unix_peer_age_and_idle(self):
        idle = self.connect()
        idle.ok("ping")
        time.sleep(1.2)
        me = self.connect()
        listed = {cl["id"]: cl for cl in me.ok("clients")}
        mine = [cl for cl in listed.values() if cl["idle_s"] == 0]
        old = [cl for cl in listed.values() if cl["idle_s"] >= 1]
        self.assertTrue(mine and old, listed)
        for cl in listed.values():
            self.assertEqual(cl["peer"], self.server.sock_path)
            self.assertEqual(cl["pid"], os.getpid())  # SO_PEERCRED: this test process
            self.assertEqual(cl["transport"], "unix")
            self.assertGreaterEqual(cl["age_s"], cl["idle_s"])
        self.assertGreaterEqual(max(cl["age_s"] for cl in old), 1)
        out = self.ok("clients")
        self.assertIn("'peer': %r" % self.server.sock_path, out)
        self.assertIn("'idle_s': ", out)
        self.assertIn("'age_s': ", out)

    def test_tcp_peer_is_address_and_port(self):
        port = free_tcp_port()
        s = Server({"listen": {"tcp": "127.0.0.1:%d" % port}}).start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                c = Client(raw)
                listed = c.ok("clients")
                tcp = [cl for cl in listed if cl["transport"] == "tcp"]
                self.assertEqual(len(tcp), 1, listed)
                self.assertEqual(tcp[0]["peer"], "127.0.0.1:%d" % raw.getsockname()[1])
                self.assertNotIn("pid", tcp[0])
            self.assertEqual(s.stop(), 0)
        finally:
            s.cleanup()


class WatchJsonTest(PolishTestCase):

    def watch_lines(self, args, n):
        p = subprocess.Popen([HEAPCTL, "-s", self.server.sock_path] + args,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=base_env())
        lines = []
        try:
            deadline = time.monotonic() + TIMEOUT
            while len(lines) < n and time.monotonic() < deadline:
                if select.select([p.stdout], [], [], 0.5)[0]:
                    line = p.stdout.readline()
                    if not line:
                        break
                    lines.append(line.decode())
            self.assertIsNone(p.poll(), "--watch ended by itself")
        finally:
            p.terminate()
            p.wait(TIMEOUT)
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(len(lines), n, lines)
        return [json.loads(line) for line in lines]

    def test_json_lines(self):
        docs = self.watch_lines(["--json", "stats", "--watch", "0.2"], 3)
        for d in docs:
            self.assertEqual(set(d), set(self.connect().ok("stats")))
        calls = [sum(m["calls"] for m in d["commands"].values()) for d in docs]
        self.assertEqual(calls, sorted(calls))
        self.assertLess(calls[0], calls[-1])  # each line is a new call

    def test_json_lines_of_one_section(self):
        for d in self.watch_lines(["stats", "gc", "--watch", "0.2", "--json"], 2):
            self.assertIn(d["phase"], ("idle", "mark", "sweep"))

    def test_text_watch_of_a_section_is_refused(self):
        r = self.ctl("stats", "gc", "--watch", "1")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn("--json", r.err)


class JsonErrorsTest(PolishTestCase):

    def json_error(self, r):
        self.assertEqual(r.out, "")
        lines = r.err.splitlines()
        self.assertEqual(len(lines), 1, r.err)
        doc = json.loads(lines[0])
        self.assertEqual(list(doc), ["error"])
        return doc["error"]

    def test_server_error(self):
        r = self.ctl("--json", "get", "no_such")
        self.assertEqual(r.returncode, EXIT_SERVER_ERROR)
        self.assertEqual(self.json_error(r),
                         {"type": "NameError", "message": "name 'no_such' is not defined"})
        r = self.ctl("get", "no_such")  # for people: unchanged
        self.assertEqual(r.err, "NameError: name 'no_such' is not defined\n")

    def test_syntax_error_has_its_column(self):
        r = self.ctl("--json", "bind", "x", "[1,")
        self.assertEqual(r.returncode, EXIT_USAGE)
        e = self.json_error(r)
        self.assertEqual(e["type"], "SyntaxError")
        self.assertEqual(e["column"], 4)
        self.assertIsInstance(e["message"], str)

    def test_script_errors_name_file_and_line(self):
        r = self.ctl("--json", "--keep-going", input="ping\nget nope\nbind y 'a\n")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertEqual(r.out, '"pong"\n')
        errs = [json.loads(line)["error"] for line in r.err.splitlines()]
        self.assertEqual([(e["type"], e["file"], e["line"]) for e in errs],
                         [("NameError", "<stdin>", 2), ("SyntaxError", "<stdin>", 3)])

    def test_usage_and_connection_errors(self):
        r = self.ctl("--json", "no_such_command")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertEqual(self.json_error(r)["type"], "UsageError")
        r = run_heapctl(["--json", "-s", self.server.sock_path + ".none", "ping"])
        self.assertEqual(r.returncode, EXIT_CONNECT)
        e = self.json_error(r)
        self.assertEqual(e["type"], "ConnectionError")
        self.assertIn(".none", e["message"])
        r = run_heapctl(["-s", self.server.sock_path + ".none", "ping"])
        self.assertTrue(r.err.startswith("heapctl: "), r.err)  # for people: unchanged
