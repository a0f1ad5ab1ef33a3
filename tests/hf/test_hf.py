#!/usr/bin/env python3
"""-hf downloads against a Hugging Face-like server on 127.0.0.1: a file,
the repository listing, a redirect to a "CDN" path, Range requests for
resuming, a connection dropped mid-file, a 404, a gated (403) file and a
stalled server. The GGUF is made by `plexus synth`, so no shared data is
needed. Usage: test_hf.py PLEXUS [SHARED_DIR]"""
import hashlib, http.server, json, os, shutil, subprocess, sys, tempfile, threading, time

plexus = sys.argv[1]
tmp = tempfile.mkdtemp()
fails = 0

def ok(cond, what, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else "\n     " + detail))
    if not cond:
        fails += 1

gguf = os.path.join(tmp, "model.gguf")
r = subprocess.run([plexus, "synth", "--preset", "stories15m", "--layers", "1", "--type", "Q8_0", "-o", gguf],
                   capture_output=True, text=True)
if r.returncode != 0:
    print("cannot make a test model:", r.stderr)
    sys.exit(1)
data = open(gguf, "rb").read()
sha = hashlib.sha256(data).hexdigest()
state = {"drop_once": True, "hits": 0}

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
    def do_GET(self):
        state["hits"] += 1
        p = self.path
        if p == "/api/models/owner/repo":
            listing = {"siblings": [{"rfilename": "README.md"}, {"rfilename": "model-Q8_0.gguf"},
                                    {"rfilename": "model-Q4_K_M.gguf"}, {"rfilename": "big-00001-of-00002.gguf"}]}
            return self.send_body(200, json.dumps(listing).encode(), "application/json")
        if p.startswith("/owner/repo/resolve/main/"):
            name = p[len("/owner/repo/resolve/main/"):]
            if name == "gated.gguf":
                return self.send_body(403, b"Access to model owner/repo is restricted.", "text/plain")
            if name == "notgguf.gguf":
                return self.send_body(200, b"<html>hello</html>", "text/html")
            if name == "stall.gguf":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:1000])
                self.wfile.flush()
                time.sleep(8)
                return
            if name in ("model-Q4_K_M.gguf", "model-Q8_0.gguf", "sub/dir/model.gguf", "flaky.gguf"):
                self.send_response(302)
                self.send_header("Location", "/cdn/" + name)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_body(404, b"Entry not found", "text/plain")
        if p.startswith("/cdn/"):
            name = p[5:]
            rng = self.headers.get("Range")
            start = 0
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
            body = data[start:]
            if name == "flaky.gguf" and state["drop_once"] and start == 0:
                # promise the whole file, send a third, drop the connection
                state["drop_once"] = False
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 3])
                self.wfile.flush()
                self.connection.shutdown(2)
                self.close_connection = True
                return
            if start:
                extra = {"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))}
                return self.send_body(206, body, extra=extra)
            return self.send_body(200, body)
        return self.send_body(404, b"no", "text/plain")

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:%d" % srv.server_address[1],
           XDG_CACHE_HOME=os.path.join(tmp, "cache"), PLEXUS_HF_TIMEOUT="3")
env.pop("HF_TOKEN", None)

def info(spec):
    return subprocess.run([plexus, "info", "-hf", spec, "--json"], capture_output=True, text=True, env=env, timeout=120)

cached = lambda name: os.path.join(tmp, "cache", "plexus", "hf", "owner", "repo", name)

# 1. explicit file through a redirect; cached copy byte-identical
r = info("owner/repo/sub/dir/model.gguf")
ok(r.returncode == 0 and json.loads(r.stdout)["architecture"] == "llama", "download owner/repo/sub/dir/model.gguf", r.stderr)
f = cached("sub/dir/model.gguf")
ok(os.path.exists(f) and hashlib.sha256(open(f, "rb").read()).hexdigest() == sha, "cached file is byte-identical")
ok(not os.path.exists(f + ".part"), "no .part file left")
# 2. second run: from the cache, no request
state["hits"] = 0
r = info("owner/repo/sub/dir/model.gguf")
ok(r.returncode == 0 and state["hits"] == 0, "second run uses the cache (%d requests)" % state["hits"], r.stderr)
# 3. repo:QUANT picks from the listing
r = info("owner/repo:q8_0")
ok(r.returncode == 0 and os.path.exists(cached("model-Q8_0.gguf")), "owner/repo:q8_0 picks model-Q8_0.gguf", r.stderr)
# 4. repo alone picks Q4_K_M
r = info("owner/repo")
ok(r.returncode == 0 and os.path.exists(cached("model-Q4_K_M.gguf")), "owner/repo picks model-Q4_K_M.gguf", r.stderr)
# 5. a dropped connection leaves a .part; the next run resumes with a Range request
r = info("owner/repo/flaky.gguf")
part = cached("flaky.gguf") + ".part"
ok(r.returncode != 0 and os.path.exists(part) and 0 < os.path.getsize(part) < len(data),
   "dropped connection: error, partial file kept (%d bytes)" % (os.path.getsize(part) if os.path.exists(part) else -1),
   r.stderr)
r = info("owner/repo/flaky.gguf")
f = cached("flaky.gguf")
ok(r.returncode == 0 and os.path.exists(f) and hashlib.sha256(open(f, "rb").read()).hexdigest() == sha,
   "resumed download is byte-identical", r.stderr)
# 6. errors: 404, 403, not a GGUF, stalled server, bad spec
r = info("owner/repo/missing.gguf")
ok(r.returncode == 1 and "404" in r.stderr and "not found" in r.stderr, "404: " + r.stderr.strip().splitlines()[-1], r.stderr)
ok(not os.path.exists(cached("missing.gguf") + ".part"), "404 leaves no .part file")
r = info("owner/repo/gated.gguf")
ok(r.returncode == 1 and "403" in r.stderr and "HF_TOKEN" in r.stderr, "403: " + r.stderr.strip().splitlines()[-1], r.stderr)
r = info("owner/repo/notgguf.gguf")
ok(r.returncode == 1 and "not a GGUF" in r.stderr and not os.path.exists(cached("notgguf.gguf")),
   "non-GGUF download is refused and deleted", r.stderr)
t0 = time.time()
r = info("owner/repo/stall.gguf")
ok(r.returncode == 1 and time.time() - t0 < 30, "stalled server: gives up after %.1f s" % (time.time() - t0), r.stderr)
for spec in ("owner", "owner/../etc/passwd", "/abs/path", "owner/repo/../../x.gguf"):
    r = info(spec)
    ok(r.returncode != 0 and r.stderr.strip() != "", "bad spec %r refused: %s" % (spec, r.stderr.strip()[:80]))

srv.shutdown()
shutil.rmtree(tmp)
print("%s" % ("all passed" if not fails else "%d failed" % fails))
sys.exit(1 if fails else 0)
