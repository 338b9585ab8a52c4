'use strict';
// heapd driven by a stock msgpack-RPC client from another ecosystem:
// msgpack5rpc (a generic msgpack-RPC session for Node) over msgpack5. The
// only heapd-specific code is below: the four ext types, written from
// docs/protocol.md ("Values" and "Ext types in detail") and nothing else.
//
//   HEAPD_SOCKET=/path/to/heapd.sock node test.js
//
// run.sh starts a heapd, runs this, and checks that heapd exits 0 after the
// final shutdown(). Prints one line per test and "N passed, N failed".

const assert = require('assert');
const net = require('net');
const Session = require('msgpack5rpc');
const msgpack5 = require('msgpack5');

const SOCKET = process.env.HEAPD_SOCKET;
const EVENT_TIMEOUT_MS = 5000;

// ---- the ext types of docs/protocol.md, section 3 ------------------------

// Low 4 bits of an id: the type ("Ext 1, a reference").
const TYPE_BY_BITS = ['NoneType', 'bool', 'int', 'float', 'str', 'bytes', 'tuple', 'list',
  'dict', 'set'];

class Ref { // ext 1: an existing object, by its uint64 id
  constructor(id) { this.id = BigInt.asUintN(64, BigInt(id)); }
  get type() { return TYPE_BY_BITS[Number(this.id & 0xfn)] || 'object'; }
}
class Tuple { // ext 2: the payload is one msgpack array, the items
  constructor(items) { this.items = items; }
}
class PySet { // ext 3: the payload is one msgpack array, the members
  constructor(members) { this.members = members; }
}
class Name { // ext 4: the object bound to a name; the payload is UTF-8
  constructor(name) { this.name = name; }
}

// Tuple and set payloads are msgpack of their own that may hold any value,
// ext types included, so they go through a codec that knows the types too.
const codec = msgpack5();

function payloadArray(code, buf) {
  const v = codec.decode(buf);
  if (!Array.isArray(v)) throw new Error('ext ' + code + ' payload is not an array');
  return v;
}

const EXT_TYPES = [
  {
    code: 1,
    constructor: Ref,
    encode: (r) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(r.id); return b; },
    decode: (b) => {
      if (b.length !== 8) throw new Error('ext 1 must be 8 bytes, not ' + b.length);
      return new Ref(b.readBigUInt64BE(0));
    },
  },
  {
    code: 2,
    constructor: Tuple,
    encode: (t) => codec.encode(t.items),
    decode: (b) => new Tuple(payloadArray(2, b)),
  },
  {
    code: 3,
    constructor: PySet,
    encode: (s) => codec.encode(s.members),
    decode: (b) => new PySet(payloadArray(3, b)),
  },
  {
    code: 4,
    constructor: Name,
    encode: (n) => Buffer.from(n.name, 'utf8'),
    decode: (b) => new Name(b.toString('utf8')),
  },
];
for (const t of EXT_TYPES) codec.register(t.code, t.constructor, t.encode, t.decode);

// ---- a thin client over msgpack5rpc -----------------------------------------

class HeapdError extends Error {
  constructor(err) {
    super(err && err.type ? err.type + ': ' + err.message : String(err));
    this.type = err && err.type;
    this.remote = err;
  }
}

class Client {
  static connect(path) {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(path);
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.removeListener('error', reject);
        resolve(new Client(sock));
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.events = []; // server notifications: [method, params]
    this.waiting = null;
    this.closed = new Promise((resolve) => sock.once('close', resolve));
    sock.on('error', () => {}); // 'close' follows; pending calls time out below
    this.session = new Session(EXT_TYPES);
    this.session.attach(sock, sock);
    this.session.on('notification', (method, params) => {
      this.events.push([method, params]);
      if (this.waiting) this.waiting();
    });
  }

  call(method, ...params) {
    return new Promise((resolve, reject) => {
      this.session.request(method, params, (err, res) => {
        if (err) reject(new HeapdError(err));
        else resolve(res);
      });
    });
  }

  notify(method, ...params) {
    this.session.notify(method, params);
  }

  // The next server notification named `method` (earlier others are kept).
  async nextEvent(method, timeoutMs = EVENT_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e[0] === method);
      if (i >= 0) return this.events.splice(i, 1)[0][1];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no "' + method + '" event within ' + timeoutMs + ' ms');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting = () => { clearTimeout(t); resolve(); };
      });
      this.waiting = null;
    }
  }

  close() {
    this.sock.end();
    return this.closed;
  }
}

async function expectError(promise, type, message) {
  try {
    const res = await promise;
    assert.fail('expected ' + type + ', got the result ' + JSON.stringify(res, jsonable));
  } catch (e) {
    if (!(e instanceof HeapdError)) throw e;
    assert.strictEqual(e.type, type, e.message);
    assert.strictEqual(typeof e.remote.message, 'string');
    if (message !== undefined) assert.strictEqual(e.remote.message, message);
  }
}

function jsonable(key, v) {
  return typeof v === 'bigint' ? v.toString() : v;
}

function sortedMembers(s) {
  assert.ok(s instanceof PySet, 'expected a set (ext 3), got ' + JSON.stringify(s, jsonable));
  return s.members.slice().sort();
}

// ---- the tests -------------------------------------------------------------

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

let c; // the main client, connected before the first test

test('hello and api_info', async () => {
  const h = await c.call('hello');
  assert.strictEqual(h.server, 'heapd');
  assert.strictEqual(h.protocol, 1);
  assert.strictEqual(typeof h.version, 'string');
  assert.ok(Number.isInteger(h.session) && h.session > 0, 'session ' + h.session);
  const info = await c.call('api_info');
  assert.deepStrictEqual(info.ext, { ref: 1, tuple: 2, set: 3, name: 4, instance: 5 });
  assert.ok(info.errors.includes('NameError') && info.errors.includes('ProtocolError'));
  assert.ok(info.methods.some((m) => m.name === 'bind' && m.min_args === 2));
});

test('bind: names share the interned 26 (the seeds)', async () => {
  const e = await c.call('bind', 'E', 26);
  assert.ok(e instanceof Ref, 'bind answers a reference (ext 1)');
  assert.strictEqual(e.type, 'int'); // from the id's low 4 bits, no round trip
  const k = await c.call('bind', 'K', 26);
  assert.strictEqual(k.id, e.id);
  assert.strictEqual(await c.call('refcount', 'E'), 2);
  assert.strictEqual(await c.call('is', 'E', 'K'), true);
  await c.call('bind', 'Z', [new Name('E'), new Name('E')]); // Z = [E, E]
  assert.deepStrictEqual(await c.call('get', 'Z'), [26, 26]);
  assert.strictEqual(await c.call('refcount', 'E'), 4);
  assert.strictEqual(await c.call('unbind', 'E'), null); // del E
  assert.strictEqual(await c.call('refcount', 'K'), 3);
});

test('get of every value type', async () => {
  const cases = [
    ['v_none', null],
    ['v_true', true],
    ['v_false', false],
    ['v_int', 26],
    ['v_negint', -5],
    ['v_bigint', 2 ** 40],
    ['v_float', 2.5], // exact in 32 bits too: msgpack5 3.x may send float 32
    ['v_str', 'héllo, wörld ✓'],
    ['v_bytes', Buffer.from([0, 1, 2, 255])],
    ['v_list', [1, 'two', [3.5, null]]],
    ['v_dict', { k: [1], n: null, s: 'x' }],
    ['v_tuple', new Tuple([1, 'a', new Tuple([])])],
  ];
  for (const [name, value] of cases) {
    const r = await c.call('bind', name, value);
    assert.ok(r instanceof Ref, name);
    assert.deepStrictEqual(await c.call('get', name), value, name);
  }
  assert.strictEqual((await c.call('lookup', 'v_tuple')).type, 'tuple');
  assert.strictEqual(await c.call('type', 'v_bytes'), 'bytes');

  // set (ext 3): members come back in table order
  await c.call('bind', 'v_set', new PySet([3, 1, 2, 1.0, true])); // 1, 1.0, True: one member
  assert.deepStrictEqual(sortedMembers(await c.call('get', 'v_set')), [1, 2, 3]);
  const nested = await c.call('get', await c.call('bind', 'v_nest', new Tuple([new PySet([])]))); // target by ext 1
  assert.ok(nested instanceof Tuple);
  assert.deepStrictEqual(sortedMembers(nested.items[0]), []);

  // ref (ext 1): a list that holds itself comes back as [ref to itself]
  const cyc = await c.call('bind', 'v_cyc', []);
  await c.call('append', 'v_cyc', new Name('v_cyc'));
  const got = await c.call('get', 'v_cyc');
  assert.strictEqual(got.length, 1);
  assert.ok(got[0] instanceof Ref);
  assert.strictEqual(got[0].id, cyc.id);
  assert.strictEqual(got[0].type, 'list');
  const shallow = await c.call('get', 'v_list', 0); // depth 0: just the reference
  assert.ok(shallow instanceof Ref);
  assert.strictEqual(shallow.type, 'list');
  const item = await c.call('getitem', 'v_list', 2); // a container item: a reference
  assert.ok(item instanceof Ref);
  assert.deepStrictEqual(await c.call('get', item), [3.5, null]);
  await c.call('bind', 'v_same', item); // a ref as a value is the object, not a copy
  assert.strictEqual(await c.call('is', 'v_same', item), true);

  // name (ext 4): the object bound to a name, as a target and inside a value
  assert.strictEqual(await c.call('get', new Name('K')), 26);
  const viaName = await c.call('bind', 'v_name', new Name('v_list'));
  assert.strictEqual(viaName.id, (await c.call('lookup', 'v_list')).id);
  assert.deepStrictEqual(await c.call('get', 'v_name'), [1, 'two', [3.5, null]]);
});

test('errors come back as {type, message}', async () => {
  await expectError(c.call('get', 'nosuch'), 'NameError', "name 'nosuch' is not defined");
  await expectError(c.call('get', new Name('nosuch')), 'NameError');
  await expectError(c.call('nosuch_method', 1), 'ProtocolError', "unknown method 'nosuch_method'");
  await expectError(c.call('push_scope', 1), 'TypeError', 'push_scope() takes 0 arguments (1 given)');
  await expectError(c.call('bind', 'bad', new PySet([[1]])), 'TypeError', "unhashable type: 'list'");
  await expectError(c.call('append', 'v_dict', 1), 'TypeError');
  await expectError(c.call('getitem', 'v_list', 9), 'IndexError', 'list index out of range');
  await expectError(c.call('pop_scope'), 'RuntimeError');
  assert.strictEqual(await c.call('ping'), 'pong'); // the session goes on
});

test('event: watch an object, unbind it, receive "freed"', async () => {
  const other = await Client.connect(SOCKET);
  try {
    const w = await c.call('bind', 'watched', [1]);
    assert.strictEqual(await c.call('watch', 'watched'), null);
    await other.call('unbind', 'watched'); // another session drops the last reference
    const [ref, type, cause] = await c.nextEvent('freed');
    assert.ok(ref instanceof Ref);
    assert.strictEqual(ref.id, w.id);
    assert.deepStrictEqual([type, cause], ['list', 'refcount']);
    await expectError(c.call('get', w), 'ReferenceError'); // a freed id names nothing
    assert.deepStrictEqual(other.events, []); // only the watcher hears it
  } finally {
    await other.close();
  }
});

test('event: a cycle freed by the collector, and the "gc" channel', async () => {
  await c.call('gc_disable');
  try {
    await c.call('subscribe', 'gc');
    const r = await c.call('bind', 'gcyc', []);
    await c.call('append', 'gcyc', new Name('gcyc'));
    await c.call('watch', r);
    await c.call('unbind', 'gcyc');
    assert.ok((await c.call('gc_collect')) >= 1);
    const [ref, type, cause] = await c.nextEvent('freed');
    assert.strictEqual(ref.id, r.id);
    assert.deepStrictEqual([type, cause], ['list', 'gc']);
    let [info] = await c.nextEvent('gc');
    assert.deepStrictEqual(info, { phase: 'start', generation: 2 });
    [info] = await c.nextEvent('gc');
    assert.strictEqual(info.phase, 'stop');
    for (const k of ['collected', 'pause_us', 'duration_us']) assert.ok(k in info, k);
    await c.call('unsubscribe', 'gc');
  } finally {
    await c.call('gc_enable');
  }
});

test('client notifications run without a response', async () => {
  c.notify('bind', 'nb', 41);
  c.notify('nosuch_method'); // an error: still no response
  assert.strictEqual(await c.call('get', 'nb'), 41);
});

test('pipelining: 500 requests in flight, answered in order', async () => {
  // All sent before the first answer arrives: ping(i), or bind then get.
  const calls = [];
  const want = [];
  for (let i = 0; i < 500; i++) {
    if (i % 2) {
      calls.push(c.call('ping', i));
    } else {
      calls.push(c.call('bind', 'pl', i).then((r) => r instanceof Ref && i));
      calls.push(c.call('get', 'pl')); // sees the bind just before it
    }
    want.push(i);
    if (!(i % 2)) want.push(i);
  }
  assert.deepStrictEqual(await Promise.all(calls), want);
});

test('handles: new holds an object, release lets it go', async () => {
  const h = await c.call('new', [1, 2]);
  assert.strictEqual(await c.call('refcount', h), 1);
  assert.strictEqual(await c.call('release', h), null);
  await expectError(c.call('get', h), 'ReferenceError');
  await expectError(c.call('release', 'K'), 'ValueError');
});

// Two additions of protocol 1 (docs/protocol.md, sections 2 and 7), checked
// when api_info shows them (hello takes opts, release takes a count).
async function hasRefHandles() {
  const m = Object.fromEntries((await c.call('api_info')).methods.map((x) => [x.name, x]));
  return m.hello.max_args >= 1 && m.release.max_args >= 2;
}

test('ref-handle mode: every ref in a result is a handle', async (skip) => {
  if (!(await hasRefHandles())) return skip('this heapd has no hello(opts) / release(ref, count)');
  const s = await Client.connect(SOCKET);
  try {
    await s.call('hello', { ref_handles: true });
    const r = await s.call('bind', 'rh', [1]); // a name and one handle
    assert.strictEqual(await c.call('refcount', 'rh'), 2);
    const n = await s.call('new', [5]); // new's own handle, not an extra one
    assert.strictEqual(await s.call('refcount', n), 1);
    await s.call('bind', 'rhl', [new Name('rh'), new Name('rh')]);
    const base = await c.call('refcount', 'rh');
    const both = await s.call('get', 'rhl', 1); // two refs: two handles
    assert.ok(both[0] instanceof Ref && both[0].id === r.id && both[1].id === r.id);
    assert.strictEqual(await c.call('refcount', 'rh'), base + 2);
    assert.strictEqual(await s.call('release', r, 2), null);
    assert.strictEqual(await c.call('refcount', 'rh'), base);
    s.notify('release', r, 1); // the bind's handle, without a response
    assert.strictEqual(await s.call('ping'), 'pong');
    assert.strictEqual(await c.call('refcount', 'rh'), base - 1);
  } finally {
    await s.close();
  }
  await c.call('unbind', 'rhl');
  await c.call('unbind', 'rh');
});

test('a response sent by a client gets an "error" notification', async (skip) => {
  if (!(await hasRefHandles())) return skip('this heapd predates the protocol 1 additions');
  // Raw msgpack on a socket of its own: msgpack5rpc itself never sends a
  // response nobody asked for.
  const sock = net.createConnection(SOCKET);
  const decoder = codec.decoder({ header: false });
  const msgs = [];
  sock.pipe(decoder);
  decoder.on('data', (m) => msgs.push(m));
  try {
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    sock.write(codec.encode([1, 7, null, null]).slice());
    sock.write(codec.encode([0, 8, 'ping', []]).slice());
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    while (msgs.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.strictEqual(msgs.length, 2, JSON.stringify(msgs));
    assert.deepStrictEqual(msgs[0].slice(0, 2), [2, 'error']);
    assert.strictEqual(msgs[0][2][0].type, 'ProtocolError');
    assert.deepStrictEqual(msgs[1], [1, 8, null, 'pong']); // the connection stays open
  } finally {
    sock.end();
  }
});

test('shutdown() answers, then heapd closes the connection', async () => {
  assert.strictEqual(await c.call('shutdown', false), null);
  await c.closed;
});

// ---- run ---------------------------------------------------------------------

async function main() {
  if (!SOCKET) {
    console.error('test.js: set HEAPD_SOCKET to a running heapd\'s socket (run.sh does)');
    process.exit(2);
  }
  const overall = setTimeout(() => {
    console.error('test.js: still running after 60 s; giving up');
    process.exit(1);
  }, 60000);
  overall.unref();

  c = await Client.connect(SOCKET);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const t of tests) {
    let skipReason = null;
    const t0 = Date.now();
    try {
      await t.fn((why) => { skipReason = why; });
      if (skipReason) {
        skipped++;
        console.log('skip - ' + t.name + ': ' + skipReason);
      } else {
        passed++;
        console.log('ok   - ' + t.name + ' (' + (Date.now() - t0) + ' ms)');
      }
    } catch (e) {
      failed++;
      console.log('FAIL - ' + t.name + '\n' + (e && e.stack ? e.stack : e));
    }
  }
  console.log('node: ' + passed + ' passed, ' + failed + ' failed, ' + skipped + ' skipped');
  process.exitCode = failed ? 1 : 0;
  c.sock.destroy();
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
