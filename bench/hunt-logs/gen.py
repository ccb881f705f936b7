#!/usr/bin/env python3
"""Generate HttpProxy + IIS logs of about SIZE GiB with a few known hits.

usage: gen.py OUT_DIR [SIZE_GIB]   (default 2)
Half the bytes go to HttpProxy/Owa CSV logs, half to IIS W3C logs, in
256 MiB files. Hits (ServerInfo~ anchors, /ecp/y.js with an SSRF cookie,
autodiscover.json?@) are planted every 1,000,000 lines; benign lines fill
the rest. Fixed dates, fixed seed: the output is reproducible.
"""
import os, random, sys

out, gib = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
rnd = random.Random(7)
HP_HDR = ("#Fields: DateTime,RequestId,UrlStem,AuthenticatedUser,"
          "AnchorMailbox,UserAgent,ClientIpAddress,HttpStatus,"
          "BackEndCookie,Method\r\n")
IIS_HDR = ("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query "
           "s-port cs-username c-ip cs(User-Agent) cs(Cookie) sc-status\n")
FILE = 256 << 20


def hp_line(i, hit):
    t = f"2021-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
    if hit:
        return (f"{t},{i},/ecp/y.js,,ServerInfo~a]@ex.lab:444/mapi/"
                f"emsmdb?,ExchangeServicesClient/0.0.0.0,192.0.2.7,241,,"
                "POST\r\n")
    u = f"user{rnd.randrange(5000)}@lab.example"
    return (f"{t},{i},/owa/service.svc,{u},{u},Mozilla/5.0 (Windows NT 10.0)"
            f",10.1.{i % 250}.{i % 200},200,,POST\r\n")


def iis_line(i, hit):
    d = f"2021-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
    if hit:
        return (f"{d} 10.0.0.1 GET /autodiscover/autodiscover.json "
                "@x.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F"
                "@x.com 443 - 192.0.2.5 python-requests/2.25 - 200\n")
    return (f"{d} 10.0.0.1 POST /owa/service.svc action=GetItem 443 "
            f"lab\\user{i % 5000} 10.1.{i % 250}.{i % 200} "
            "Mozilla/5.0+(Windows+NT+10.0) - 200\n")


def write(kind, budget):
    sub = "HttpProxy/Owa" if kind == "hp" else "W3SVC1"
    os.makedirs(os.path.join(out, sub), exist_ok=True)
    n, i, hits = 0, 0, 0
    while budget > 0:
        name = (f"HttpProxy_20210301{n:02d}-1.LOG" if kind == "hp"
                else f"u_ex2103{n:02d}.log")
        with open(os.path.join(out, sub, name), "w", newline="") as f:
            f.write(HP_HDR if kind == "hp" else IIS_HDR)
            size = 0
            while size < min(FILE, budget):
                chunk = []
                for _ in range(10000):
                    i += 1
                    hit = i % 1_000_000 == 0
                    hits += hit
                    chunk.append((hp_line if kind == "hp" else iis_line)(i, hit))
                s = "".join(chunk)
                f.write(s)
                size += len(s)
        budget -= size
        n += 1
    print(f"{kind}: {n} files, {i} lines, {hits} hits", file=sys.stderr)


half = int(gib * (1 << 30) / 2)
write("hp", half)
write("iis", half)
