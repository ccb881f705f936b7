"""Compare vigie.exe's answers under Wine with the Linux binary's.

Called by scripts/wine-tests.sh with the JSON outputs it saved. Paths are
normalised first: the Linux binary reports /tmp/x, vigie.exe under Wine
Z:\\tmp\\x for the same file. Prints each check and exits 1 if any failed.
"""
import json
import re
import sys

failures = []


def check(name, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + name)
    if not ok:
        failures.append(name)
        if detail:
            print("      " + detail.replace("\n", "\n      "))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def norm_path(p):
    """Z:\\tmp\\x (vigie.exe under Wine) and /tmp/x (Linux) alike."""
    if not isinstance(p, str):
        return p
    return re.sub(r"(^|[\s(])[A-Za-z]:/", r"\1/", p.replace("\\", "/"))


def finding_key(f):
    src = f.get("source") or {}
    return (f["rule_id"], f.get("severity"), f.get("grade"), f.get("timestamp"),
            norm_path(src.get("path")), src.get("line"), f.get("summary"))


def same_check(name, lin, win):
    a, b = load(lin), load(win)
    for r in a["results"] + b["results"]:
        r["source"] = norm_path(r.get("source"))
        r["input"] = norm_path(r.get("input"))
    check(name, a == b, f"linux {json.dumps(a)[:400]}\nwine  {json.dumps(b)[:400]}")


def same_hunt(name, lin, win):
    a, b = load(lin), load(win)
    check(f"{name}: verdict {a['verdict']}", a["verdict"] == b["verdict"],
          f"linux {a['verdict']}, wine {b['verdict']}")
    fa = sorted(map(finding_key, a["findings"]))
    fb = sorted(map(finding_key, b["findings"]))
    check(f"{name}: {len(fa)} findings", fa == fb,
          "only linux: %s\nonly wine: %s" % (
              [f for f in fa if f not in fb][:5], [f for f in fb if f not in fa][:5]))


def judgements(doc):
    """Statuses by judgement id (an id judged per folder has several)."""
    s = doc["servers"][0]
    out = {}
    for j in s["judgements"]:
        out.setdefault(j["id"], []).append(j["status"])
    return {k: sorted(v) for k, v in out.items()}, s


def live_check(lin, win):
    a, sa = judgements(load(lin))
    b, sb = judgements(load(win))
    check("check --live: build read from ExSetup.exe the registry points to",
          sb["build"] is not None and sb["build"] == sa["build"],
          f"linux {sa['build']}, wine {sb['build']}")
    ev = json.dumps(sb["judgements"])
    check("check --live: registry evidence from the live registry", "live registry" in ev)
    # Judgements that read only Exchange's files and keys must agree; the
    # operating-system ones read Wine's own registry, which the copy lacks.
    own = [k for k in a if not k.startswith("os.")]
    diff = {k: (a[k], b.get(k)) for k in own if a[k] != b.get(k)}
    check(f"check --live: {len(own)} judgements as on the copy", not diff,
          json.dumps(diff, indent=1))
    os_diff = sorted(k for k in a if k.startswith("os.") and a[k] != b.get(k))
    print(f"      (operating-system judgements read Wine's own registry: {len(a) - len(own)}, "
          f"{len(os_diff)} differ from the copy: {', '.join(os_diff) or 'none'})")
    check("check --live: no registry read errors",
          not [e for e in sb["errors"] if "registry" in json.dumps(e)],
          json.dumps(sb["errors"])[:600])


def live_hunt(lin, win):
    a, b = load(lin), load(win)
    check(f"hunt --live: verdict {b['verdict']} as on the copy",
          a["verdict"] == b["verdict"], f"linux {a['verdict']}, wine {b['verdict']}")
    # Findings on files are stamped when seen: compare what, not when;
    # Windows paths in summaries without case (Wine says C:\\windows).
    key = lambda f: (f["rule_id"], (f.get("summary") or "").lower())
    fa = {key(f) for f in a["findings"]}
    fb = {key(f) for f in b["findings"]}
    check(f"hunt --live: the copy's {len(fa)} findings all found live",
          fa <= fb, "missing live: %s" % sorted(fa - fb)[:5])
    paths = [norm_path((f.get("source") or {}).get("path")) or "" for f in b["findings"]]
    check("hunt --live: IIS logs found where applicationHost.config says",
          any("/IISLogs/" in p for p in paths), str(paths[:8]))
    check("hunt --live: install folder found through the registry",
          any("/Exchange/V15/" in p for p in paths), str(paths[:8]))
    check("hunt --live: event logs read from winevt\\Logs",
          any("/winevt/Logs/" in p for p in paths), str(paths[:8]))


def main():
    kind, *files = sys.argv[1:]
    if kind == "check":
        same_check(files[0], files[1], files[2])
    elif kind == "hunt":
        same_hunt(files[0], files[1], files[2])
    elif kind == "live-check":
        live_check(files[0], files[1])
    elif kind == "live-hunt":
        live_hunt(files[0], files[1])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
