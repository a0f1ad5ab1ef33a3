"""A minimal GGUF reader for the quantize tests: tensor name -> (type, dims, bytes)."""
import struct

SIZES = {0: 4, 1: 2, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # scalar sizes by GGUF type

def tensors(path):
    d = open(path, "rb").read()
    p = 0
    def take(fmt):
        nonlocal p
        v = struct.unpack_from(fmt, d, p)
        p += struct.calcsize(fmt)
        return v[0]
    def skip_value(t):
        nonlocal p
        if t in SIZES:
            p += SIZES[t]
        elif t == 8:
            n = take("<Q")
            p += n
        elif t == 9:
            et = take("<I")
            n = take("<Q")
            for _ in range(n):
                skip_value(et)
    assert d[:4] == b"GGUF"
    p = 8
    nt = take("<Q")
    nkv = take("<Q")
    align = 32
    for _ in range(nkv):
        n = take("<Q")
        k = d[p:p + n].decode()
        p += n
        t = take("<I")
        if k == "general.alignment":
            align = struct.unpack_from("<I", d, p)[0]
        skip_value(t)
    info = []
    for _ in range(nt):
        n = take("<Q")
        name = d[p:p + n].decode()
        p += n
        nd = take("<I")
        dims = [take("<Q") for _ in range(nd)]
        t = take("<I")
        o = take("<Q")
        info.append((name, dims, t, o))
    base = (p + align - 1) // align * align
    offs = sorted(o for _, _, _, o in info) + [len(d) - base]
    out = {}
    for name, dims, t, o in info:
        nxt = min(x for x in offs if x > o)
        out[name] = (t, dims, d[base + o:base + nxt])
    return out

