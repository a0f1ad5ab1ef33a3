#!/usr/bin/env python3
"""-hf downloads against a Hugging Face-like server on 127.0.0.1 (no internet
needed): files behind a redirect to a "CDN" path with Range support, the
repository listing, resuming after a dropped connection and after Ctrl-C, a
server that ignores Range (restart), one that resumes at the wrong offset, a
.part that is already complete (416), 401/403/404, a non-GGUF body, a stalled
server, offline use of the cache, a locked .part and bad specs. The GGUF file
is written here, so no shared data is needed. Usage: test_hf.py PLEXUS"""
import fcntl, hashlib, http.server, json, os, random, shutil, signal, socket, struct, subprocess, sys, tempfile
import threading, time, urllib.parse

plexus = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="plexus-hf-")
fails = 0


def ok(cond, what, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else "\n     " + detail.replace("\n", "\n     ")))
    if not cond:
        fails += 1


def gguf_file(n_floats):
    """A small GGUF v3 file: two metadata keys and one F32 tensor of random bits."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    kv = [("general.architecture", s("llama")), ("general.name", s("hf-test"))]
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv))
    for k, v in kv:
        out += s(k) + struct.pack("<I", 8) + v
    out += s("token_embd.weight") + struct.pack("<IQQIQ", 2, 64, n_floats // 64, 0, 0)
    out += b"\0" * (-len(out) % 32)
    return out + random.Random(7).randbytes(n_floats * 4)


data = gguf_file(768 * 1024)  # 3 MiB
sha = hashlib.sha256(data).hexdigest()
N = len(data)
state = {"drop_once": True, "hits": 0, "ranges": [], "auth": None}
CDN = ("model-Q4_K_M.gguf", "model-Q8_0.gguf", "model-Q4_0.gguf", "sub/dir/model.gguf", "dir with space/model.gguf",
       "flaky.gguf", "norange.gguf", "badrange.gguf", "full.gguf", "slow.gguf", "auth.gguf", "locked.gguf")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body(self, code, body, ctype="application/octet-stream", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def partial(self, promised, chunks, pause):
        """Promise `promised` bytes, send `chunks`, pausing between them, then drop the connection."""
        self.send_response(200)
        self.send_header("Content-Length", str(promised))
        self.end_headers()
        try:
            for c in chunks:
                self.wfile.write(c)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass
        self.close_connection = True

    def do_GET(self):
        state["hits"] += 1
        p = urllib.parse.unquote(self.path)
        if p == "/api/models/owner/repo":
            names = ["README.md", "model-Q4_0_4_4.gguf", "model-Q4_0.gguf", "model-Q8_0.gguf", "model-Q4_K_M.gguf",
                     "big-Q2_K-00001-of-00002.gguf", "big-Q2_K-00002-of-00002.gguf", "config.json"]
            return self.send_body(200, json.dumps({"siblings": [{"rfilename": n} for n in names]}).encode(),
                                  "application/json")
        if p.startswith("/api/models/"):
            return self.send_body(404, b'{"error":"Repository not found"}', "application/json")
        if p.startswith("/owner/repo/resolve/main/"):
            name = p[len("/owner/repo/resolve/main/"):]
            if name == "gated.gguf":
                return self.send_body(403, b"Access to model owner/repo is restricted.", "text/plain")
            if name == "auth.gguf":
                state["auth"] = self.headers.get("Authorization")
                if state["auth"] != "Bearer secret":
                    return self.send_body(401, b"Invalid credentials in Authorization header", "text/plain")
            if name == "notgguf.gguf":
                return self.send_body(200, b"<html>hello</html>", "text/html")
            if name == "stall.gguf":
                return self.partial(N, [data[:1000], b""], 20)
            if name in CDN:
                self.send_response(302)
                self.send_header("Location", "/cdn/" + urllib.parse.quote(name))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_body(404, b"Entry not found", "text/plain")
        if p.startswith("/cdn/"):
            name = p[5:]
            rng = self.headers.get("Range")
            state["ranges"].append((name, rng))
            start = int(rng[6:].split("-")[0]) if rng and rng.startswith("bytes=") else 0
            if name == "flaky.gguf" and state["drop_once"] and start == 0:
                state["drop_once"] = False
                return self.partial(N, [data[: N // 3]], 0)
            if name == "slow.gguf" and start == 0:  # a third, then a trickle until Ctrl-C
                return self.partial(N, [data[: N // 3]] + [data[N // 3 + i: N // 3 + i + 1] for i in range(60)], 0.5)
            if name == "norange.gguf":
                return self.send_body(200, data)
            if name == "badrange.gguf" and start:
                return self.send_body(206, data, extra={"Content-Range": "bytes 0-%d/%d" % (N - 1, N)})
            if start >= N:
                return self.send_body(416, b"", extra={"Content-Range": "bytes */%d" % N})
            if start:
                return self.send_body(206, data[start:], extra={"Content-Range": "bytes %d-%d/%d" % (start, N - 1, N)})
            return self.send_body(200, data)
        return self.send_body(404, b"no", "text/plain")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-transfer are part of the test


srv = Server(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
cache = os.path.join(tmp, "cache")
env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:%d/" % srv.server_address[1], XDG_CACHE_HOME=cache,
           PLEXUS_HF_TIMEOUT="2")
env.pop("HF_TOKEN", None)


def info(*args, extra_env=None):
    e = dict(env, **(extra_env or {}))
    return subprocess.run([plexus, "info", *args, "--json"], capture_output=True, text=True, env=e, timeout=120)


def cached(name):
    return os.path.join(cache, "plexus", "hf", "owner", "repo", name)


def same(path):
    return os.path.exists(path) and hashlib.sha256(open(path, "rb").read()).hexdigest() == sha


def last(r):
    lines = [l for l in r.stderr.strip().splitlines() if l.startswith("plexus:")]
    return lines[-1] if lines else "(no message)"


def arch(r):
    try:
        return json.loads(r.stdout)["architecture"]
    except (ValueError, KeyError):
        return None


# 1. an explicit file behind a redirect: cached copy byte-identical, progress lines (stderr is not a tty)
r = info("-hf", "owner/repo/sub/dir/model.gguf")
ok(r.returncode == 0 and arch(r) == "llama", "download owner/repo/sub/dir/model.gguf", r.stderr)
ok(same(cached("sub/dir/model.gguf")), "cached file is byte-identical")
ok(not os.path.exists(cached("sub/dir/model.gguf.part")), "no .part file left")
ok("100%" in r.stderr and "MB/s" in r.stderr, "progress lines every 10 %", r.stderr)
# 2. second run: from the cache, no request
state["hits"] = 0
r = info("-hf", "owner/repo/sub/dir/model.gguf", "-v")
ok(r.returncode == 0 and state["hits"] == 0 and "using cached" in r.stderr,
   "second run uses the cache (%d requests)" % state["hits"], r.stderr)
# 3. picking from the listing
r = info("-hf", "owner/repo:q8_0")
ok(r.returncode == 0 and same(cached("model-Q8_0.gguf")), "owner/repo:q8_0 picks model-Q8_0.gguf", r.stderr)
r = info("-hf", "owner/repo:Q4_0", "-v")
ok(r.returncode == 0 and "picked model-Q4_0.gguf" in r.stderr, "owner/repo:Q4_0 prefers model-Q4_0.gguf to Q4_0_4_4",
   r.stderr)
r = info("-hf", "owner/repo")
ok(r.returncode == 0 and os.path.exists(cached("model-Q4_K_M.gguf")), "owner/repo picks model-Q4_K_M.gguf", r.stderr)
r = info("-hf", "owner/repo:Q2_K")
ok(r.returncode == 1 and "split" in r.stderr, "only split files match: " + last(r), r.stderr)
r = info("-hf", "owner/repo:Q5_K_M")
ok(r.returncode == 1 and "no .gguf file matching" in r.stderr and "model-Q8_0.gguf" in r.stderr,
   "no match lists the files: " + last(r)[:90], r.stderr)
r = info("-hf", "owner/nothing:Q4_0")
ok(r.returncode == 1 and "404" in r.stderr and "repository not found" in r.stderr, "unknown repo: " + last(r)[:90],
   r.stderr)
# 4. --hf-file overrides the tag; names with spaces are escaped in the URL
r = info("-hf", "owner/repo:Q8_0", "--hf-file", "dir with space/model.gguf")
ok(r.returncode == 0 and same(cached("dir with space/model.gguf")), "--hf-file 'dir with space/model.gguf'", r.stderr)
# 5. a dropped connection leaves a .part; the next run resumes with a Range request
r = info("-hf", "owner/repo/flaky.gguf")
part = cached("flaky.gguf.part")
size = os.path.getsize(part) if os.path.exists(part) else -1
ok(r.returncode == 1 and 0 < size < N and "resume" in r.stderr,
   "dropped connection: error, partial file kept (%d bytes): %s" % (size, last(r)[-70:]), r.stderr)
state["ranges"].clear()
r = info("-hf", "owner/repo/flaky.gguf")
ok(r.returncode == 0 and same(cached("flaky.gguf")) and state["ranges"] == [("flaky.gguf", "bytes=%d-" % size)],
   "resumed with Range: bytes=%d- and byte-identical" % size, "%s\n%s" % (state["ranges"], r.stderr))
# 6. a server that answers 200 to a Range request: start over from zero
os.makedirs(os.path.dirname(cached("x")), exist_ok=True)
open(cached("norange.gguf.part"), "wb").write(b"garbage" * 100)
r = info("-hf", "owner/repo/norange.gguf")
ok(r.returncode == 0 and same(cached("norange.gguf")), "200 to a Range request restarts the file", r.stderr)
# 7. a 206 at the wrong offset: start over
open(cached("badrange.gguf.part"), "wb").write(data[:5000])
r = info("-hf", "owner/repo/badrange.gguf", "-v")
ok(r.returncode == 0 and same(cached("badrange.gguf")) and "starting over" in r.stderr,
   "206 at the wrong offset restarts the file", r.stderr)
# 8. a .part that is already complete (the server answers 416 with its size)
open(cached("full.gguf.part"), "wb").write(data)
r = info("-hf", "owner/repo/full.gguf")
ok(r.returncode == 0 and same(cached("full.gguf")), "complete .part (416 bytes */N) is taken as is", r.stderr)
# 9. Ctrl-C keeps the .part; the next run resumes
p = subprocess.Popen([plexus, "info", "-hf", "owner/repo/slow.gguf"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, env=dict(env, PLEXUS_HF_TIMEOUT="10"))
part = cached("slow.gguf.part")
t0 = time.time()
while time.time() - t0 < 20 and not (os.path.exists(part) and os.path.getsize(part) >= N // 3):
    time.sleep(0.05)
time.sleep(0.3)
p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=30)
size = os.path.getsize(part) if os.path.exists(part) else -1
ok(p.returncode == 1 and "interrupted" in err and N // 3 <= size < N,
   "Ctrl-C: exit 1, .part kept (%d bytes)" % size, err)
r = info("-hf", "owner/repo/slow.gguf")
ok(r.returncode == 0 and same(cached("slow.gguf")), "download resumed after Ctrl-C is byte-identical", r.stderr)
# 10. HTTP errors
r = info("-hf", "owner/repo/missing.gguf")
ok(r.returncode == 1 and "404" in r.stderr and "file not found" in r.stderr and "missing.gguf" in r.stderr,
   "404: " + last(r)[-80:], r.stderr)
ok(not os.path.exists(cached("missing.gguf.part")), "404 leaves no .part file")
r = info("-hf", "owner/repo/gated.gguf")
ok(r.returncode == 1 and "403" in r.stderr and "gated" in r.stderr, "403: " + last(r)[-80:], r.stderr)
r = info("-hf", "owner/repo/auth.gguf")
ok(r.returncode == 1 and "401" in r.stderr and "set HF_TOKEN" in r.stderr, "401: " + last(r)[-80:], r.stderr)
r = info("-hf", "owner/repo/auth.gguf", extra_env={"HF_TOKEN": "secret"})
ok(r.returncode == 0 and state["auth"] == "Bearer secret" and same(cached("auth.gguf")),
   "HF_TOKEN is sent as Authorization: Bearer", r.stderr)
r = info("-hf", "owner/repo/notgguf.gguf")
ok(r.returncode == 1 and "not a GGUF" in r.stderr and not os.path.exists(cached("notgguf.gguf"))
   and not os.path.exists(cached("notgguf.gguf.part")), "non-GGUF download is refused and deleted", r.stderr)
t0 = time.time()
r = info("-hf", "owner/repo/stall.gguf")
dt = time.time() - t0
ok(r.returncode == 1 and dt < 10 and "no data" in r.stderr, "stalled server: gives up after %.1f s" % dt, r.stderr)
# 11. a .part locked by another download
lockf = open(cached("locked.gguf.part"), "wb")
fcntl.flock(lockf, fcntl.LOCK_EX)
r = info("-hf", "owner/repo/locked.gguf")
ok(r.returncode == 1 and "another plexus" in r.stderr, "locked .part: " + last(r)[:80], r.stderr)
lockf.close()
# 12. offline: a closed port; a :QUANT is picked from the cache
s = socket.socket()
s.bind(("127.0.0.1", 0))
dead = "http://127.0.0.1:%d" % s.getsockname()[1]
s.close()
r = info("-hf", "owner/repo:Q8_0", extra_env={"HF_ENDPOINT": dead})
ok(r.returncode == 0 and arch(r) == "llama" and "offline" in r.stderr, "offline: owner/repo:Q8_0 from the cache",
   r.stderr)
r = info("-hf", "owner/repo:Q6_K", extra_env={"HF_ENDPOINT": dead})
ok(r.returncode == 1 and "no file in" in r.stderr, "offline, not cached: " + last(r)[:80], r.stderr)
# 13. bad specs
for spec in ("owner", "owner/", "owner/../etc/passwd", "/abs/path", "owner/repo/../../x.gguf", "owner/repo/./x.gguf",
             "owner/repo/a//b.gguf", "owner/repo/x.gguf:Q4_0", "owner/repo:", "own er/repo", "owner/repo:Q4 K"):
    r = info("-hf", spec)
    ok(r.returncode == 1 and r.stderr.strip() != "", "bad spec %r refused: %s" % (spec, last(r)[:70]), r.stderr)
r = info("--hf-file", "x.gguf")
ok(r.returncode == 2, "--hf-file without -hf: usage", r.stderr)
parts = sorted(n for _, _, fs in os.walk(cache) for n in fs if n.endswith(".part"))
ok(parts == ["locked.gguf.part", "stall.gguf.part"], "no stray .part files (only the stalled and the locked one)",
   str(parts))

srv.shutdown()
shutil.rmtree(tmp)
print("all passed" if not fails else "%d failed" % fails)
sys.exit(1 if fails else 0)
