#!/usr/bin/env python3
"""Stage 2: write cves.csv, cve-fixes.csv and cve-config.csv from builds.csv,
the vendored facts in sources/ and the curated rows already in
cve-fixes.csv (CURATED below). Deterministic; rerun after editing
sources/cve-records.csv or builds.csv. CI never runs it: the tests check
its output against the same sources.

Rules (README "How the fixes are derived"):
- HealthChecker-mapped CVE: for each product HealthChecker names, every
  build of Microsoft's list carrying the latest SU name that maps the CVE,
  plus HealthChecker's own build for that SU when Microsoft's list has it
  under another name (a CU released with the fix), plus the first later CU
  of the product (it ships with the fix).
- Other CVE from MSRC's affected list: on each affected CU line, the first
  build released on or after MSRC's release date, within 45 days; the first
  later CU of the product; Exchange 2010: the first rollup on or after it.
  A CVE whose fixing build cannot be found this way is left out (README).
"""
import csv, os, datetime as dt
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
D = os.path.join(HERE, "..")
S = os.path.join(D, "sources")

def rd(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))

def v(b):
    return tuple(int(x) for x in b.split("."))

def date(s):
    return dt.date.fromisoformat(s)

PNAME = {"2010": "Exchange Server 2010", "2013": "Exchange Server 2013",
         "2016": "Exchange Server 2016", "2019": "Exchange Server 2019",
         "SE": "Exchange Server SE"}
PSHORT = {v_: k for k, v_ in PNAME.items()}

builds = rd(os.path.join(D, "builds.csv"))
for b in builds:
    b["v"] = v(b["build"])
    b["d"] = date(b["release_date"])
    b["p"] = PSHORT[b["product"]]
    b["su"] = b["version_name"].rsplit(" ", 1)[-1] if b["kind"] == "SU" else None
by_num = {b["v"]: b for b in builds}
lines = defaultdict(list)
for b in builds:
    lines[b["build_short"]].append(b)
for l in lines.values():
    l.sort(key=lambda b: b["v"])
def base(short):
    return lines[short][0]

# Curated CVEs: their fix rows (checked against CVE records) are kept.
CURATED = {"CVE-2020-0688", "CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858",
           "CVE-2021-27065", "CVE-2021-28480", "CVE-2021-31207", "CVE-2021-33766",
           "CVE-2021-34470", "CVE-2021-34473", "CVE-2021-34523", "CVE-2021-42321",
           "CVE-2022-21978", "CVE-2022-41040", "CVE-2022-41080",
           "CVE-2022-41082", "CVE-2023-21529", "CVE-2023-21706", "CVE-2023-21707",
           "CVE-2023-21710", "CVE-2024-21410"}
old_fixes = rd(os.path.join(S, "vigie-curated-fixes.csv"))
old_cves = {r["cve"]: r for r in rd(os.path.join(S, "vigie-curated-cves.csv"))}

hc_map = rd(os.path.join(S, "healthchecker-su-cves.csv"))
hc_builds = rd(os.path.join(S, "healthchecker-builds.csv"))
msrc = {r["cve"]: r for r in rd(os.path.join(S, "msrc-exchange-cves.csv"))}
kev = {r["cve"]: r for r in rd(os.path.join(S, "cisa-kev-exchange.csv"))}
extra_kev = {r["cve"]: r for r in rd(os.path.join(S, "kev-after-snapshot.csv"))}
records = {r["cve"]: r for r in rd(os.path.join(S, "cve-records.csv"))}
# CVEs of the security-bulletin era (2013-2017), read one by one (README).
pre2018 = {r["cve"]: r for r in rd(os.path.join(S, "pre2018-cves.csv"))}
config = rd(os.path.join(D, "cve-config.csv"))

def su_date(name, product):
    ds = [b["d"] for b in builds if b["su"] == name and b["p"] == product]
    return min(ds) if ds else None

def next_cu(product, after_v, after_d):
    """The first CU/RTM line of the product after a build. Compared by build
    number like HealthChecker: a CU newer than every line the fix was
    released for already carries it (MSRC lists the CUs that needed it)."""
    cands = [base(s) for s in lines if base(s)["p"] == product
             and base(s)["kind"] in ("CU", "RTM", "SP", "RU") and base(s)["v"] > after_v]
    return min(cands, key=lambda b: b["v"]) if cands else None

fixes = []  # (cve, build, source)
# Fixed by an update whose build Microsoft's list lacks: only the rows of
# sources/vigie-extra-fixes.csv apply (README).
EXTRA_ONLY = {"CVE-2020-17144"}

def ru_fix_2010(cve):
    """Exchange 2010: MSRC names the rollup that carries the fix (or SP3)."""
    if cve in EXTRA_ONLY:
        return None
    r = msrc.get(cve)
    if not r or not r["release_date"]:
        return None
    rel = date(r["release_date"])
    for short in r["affected"].split(";"):
        if not short.startswith("14.3."):
            continue
        if short != "14.3.123" and short in lines:
            b = lines[short][0]
            return b, f"{PNAME['2010']} {b['version_name']}: the rollup MSRC lists for {cve}"
        ru = [b for b in builds if b["p"] == "2010" and b["kind"] == "RU" and b["d"] >= rel
              and (b["d"] - rel).days <= 45]
        if ru:
            b = min(ru, key=lambda b: b["v"])
            return b, f"{PNAME['2010']} {b['version_name']}: first rollup after MSRC's release of {cve} ({rel})"
    return None

def add(cve, b, why):
    fixes.append((cve, b["build"], why))

# 1. HealthChecker-mapped CVEs.
hc_by_cve = defaultdict(list)
for r in hc_map:
    hc_by_cve[r["cve"]].append(r)
# CVE records name a later update than HealthChecker does (README).
HC_OVERRIDE = {c: "Aug23SUv2" for c in ("CVE-2023-36744", "CVE-2023-36745",
               "CVE-2023-36756", "CVE-2023-36757", "CVE-2023-36777")}
for cve, entries in hc_by_cve.items():
    if cve in CURATED:
        continue
    per_product = defaultdict(list)
    for e in entries:
        for p in e["products"].split(";"):
            per_product[p].append(e["su"])
    for p, sus in per_product.items():
        sus = sorted(sus, key=lambda s: su_date(s, p) or dt.date(1, 1, 1))
        su = HC_OVERRIDE.get(cve, sus[-1])
        rows = [b for b in builds if b["su"] == su and b["p"] == p]
        for hb in hc_builds:
            if hb["su"] == su and hb["product"] == p and v(hb["su_build"]) in by_num:
                b = by_num[v(hb["su_build"])]
                if b not in rows:
                    rows.append(b)
        if not rows:
            print("no builds for", cve, p, su)
            continue
        for b in rows:
            name = f"{PNAME[p]} {b['version_name']}"
            why = f"HealthChecker maps {cve} to {su}"
            if cve in HC_OVERRIDE:
                why = f"CVE record: fixed from {su}; HealthChecker maps {cve} to {sus[-1]}"
            add(cve, b, f"{name}: {why}")
        newest = max(rows, key=lambda b: base(b["build_short"])["v"])
        nb = next_cu(p, newest["v"], newest["d"])
        if nb:
            add(cve, nb, f"{PNAME[p]} {nb['version_name']} and every later CU ship with the fix")
    got2010 = ru_fix_2010(cve)
    if got2010:
        add(cve, *got2010)

# 2. Curated rows, as they were.
kept = [(r["cve"], r["fixed_in"], r["source"]) for r in old_fixes if r["cve"] in CURATED]

# 3. Other MSRC CVEs (CVEs needing configuration included).
WINDOW = 45
# The CVE record names a re-released update as the fix.
FIX_SU = {"CVE-2024-49040": "Nov24SUv2"}
# The Extended Protection CVEs of August 2022: their records give the
# October 2022 SU builds as the first fixed ones.
FIX_SU.update({c: "Oct22SU" for c in ("CVE-2022-21979", "CVE-2022-21980",
               "CVE-2022-24477", "CVE-2022-24516", "CVE-2022-30134")})
skipped = []
# Fixed by the same updates as another CVE: CVE-2018-8581 (PrivExchange) is
# closed by the EWS push-notification change of the February 2019 CUs/SUs
# and 2010 RU26, which HealthChecker tracks as CVE-2019-0686/-0724.
ALIAS = {"CVE-2018-8581": "CVE-2019-0686"}
for cve, same in ALIAS.items():
    for c, b, why in list(fixes):
        if c == same:
            fixes.append((cve, b, f"{why.split(':')[0]}: the February 2019 EWS push-notification "
                          f"change (Exchange team blog, KB4490060) that also fixes {same}"))

# 4. Security-bulletin era (2013-2017): the first CU of each product after
# every CU line the bulletin/record lists (their security updates have no
# build in Microsoft's list: those lines stay vulnerable, "upgrade"), and
# the 2010 SP3 rollup that carries the fix.
for cve, r in pre2018.items():
    per_product = defaultdict(list)
    for short in r["affected"].split(";"):
        b = lines[short][0]
        per_product[b["p"]].append(b)
    for p, bs in per_product.items():
        top = max(bs, key=lambda b: b["v"])
        nb = next_cu(p, top["v"], top["d"])
        listed = ", ".join(b["version_name"] for b in sorted(bs, key=lambda b: b["v"]))
        add(cve, nb, f"{PNAME[p]} {nb['version_name']} and every later CU ship with the fix "
                     f"({r['bulletin']} lists {listed}; their security updates are not in Microsoft's build list)")
    if r["fix_2010"]:
        b = by_num[v(r["fix_2010"])]
        add(cve, b, f"{PNAME['2010']} {b['version_name']}: the rollup that carries {r['bulletin']}")

# Fixed by another product's update, not by an Exchange update (README).
NOT_EXCHANGE = {c: "Malware Protection Engine (an engine update, not an Exchange update)"
                for c in ("CVE-2017-8535", "CVE-2017-8536", "CVE-2017-8537", "CVE-2018-0986")}
for cve, r in msrc.items():
    if cve in EXTRA_ONLY or cve in pre2018 or cve in ALIAS:
        continue
    if cve in NOT_EXCHANGE:
        skipped.append((cve, NOT_EXCHANGE[cve]))
        continue
    if cve in CURATED or cve in hc_by_cve or not r["release_date"]:
        if not r["release_date"] and cve not in CURATED and cve not in hc_by_cve:
            skipped.append((cve, "no affected build list in MSRC data"))
        continue
    rel = date(r["release_date"])
    if rel < dt.date(2018, 3, 1):
        skipped.append((cve, f"published {rel}, before the SU era: MSRC's CU names for it are not reliable enough to derive a fix"))
        continue
    got = []
    products = set()
    wanted = {lines[s][0]["p"] for s in r["affected"].split(";") if s in lines}
    for short in r["affected"].split(";"):
        if short not in lines:
            continue
        line = lines[short]
        p = line[0]["p"]
        if p == "2010":
            got2010 = ru_fix_2010(cve)
            if got2010:
                got.append(got2010)
                products.add(p)
            continue
        if line[0]["kind"] == "RTM" and short.endswith((".516", ".225", ".221")) and rel.year < 2019 and len(line) == 1:
            continue  # product-level entry without a CU: not usable
        cand = [b for b in line if b["d"] >= rel and (b["d"] - rel).days <= WINDOW]
        if cve in FIX_SU:
            cand = [b for b in line if b["su"] == FIX_SU[cve]]
        if not cand:
            continue
        b = cand[0]
        how = f"first build of that CU line on or after MSRC's release of {cve} ({rel})"
        if cve in FIX_SU:
            how = f"{FIX_SU[cve]}, as the CVE record says"
        got.append((b, f"{PNAME[p]} {b['version_name']}: {how}"))
        products.add(p)
    if not got or products != wanted:
        skipped.append((cve, f"no fixing build found for {sorted(wanted - products) or 'any product'} within {WINDOW} days of {rel}"))
        continue
    for b, why in got:
        add(cve, b, why)
    for p in products:
        if p == "2010":
            continue
        newest = max((b for b, _ in got if b["p"] == p), key=lambda b: base(b["build_short"])["v"])
        nb = next_cu(p, newest["v"], newest["d"])
        if nb:
            add(cve, nb, f"{PNAME[p]} {nb['version_name']} and every later CU ship with the fix")

extra_fixes = [(r["cve"], r["fixed_in"], r["source"]) for r in rd(os.path.join(S, "vigie-extra-fixes.csv"))]
allfix = kept + fixes + extra_fixes
seen = set()
out = []
for cve, b, why in allfix:
    if (cve, b) in seen:
        continue
    seen.add((cve, b))
    out.append((cve, b, why))
out.sort(key=lambda x: (x[0], v(x[1])))

with open(os.path.join(D, "cve-fixes.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["cve", "fixed_in", "source"])
    w.writerows(out)

# cves.csv
NAMED = {  # campaign names administrators know
    "CVE-2021-26855": "ProxyLogon", "CVE-2021-26857": "ProxyLogon", "CVE-2021-26858": "ProxyLogon",
    "CVE-2021-27065": "ProxyLogon", "CVE-2021-34473": "ProxyShell", "CVE-2021-34523": "ProxyShell",
    "CVE-2021-31207": "ProxyShell", "CVE-2021-33766": "ProxyToken", "CVE-2022-41040": "ProxyNotShell",
    "CVE-2022-41082": "ProxyNotShell", "CVE-2022-41080": "OWASSRF", "CVE-2024-21410": "NTLM relay",
    "CVE-2018-8581": "PrivExchange",
}
IMPACTS = [("Remote Code Execution", "Remote code execution"), ("Elevation of Privilege", "Elevation of privilege"),
           ("Privilege Escalation", "Elevation of privilege"), ("Spoofing", "Spoofing"),
           ("Information Disclosure", "Information disclosure"), ("Security Feature Bypass", "Security feature bypass"),
           ("Denial of Service", "Denial of service"), ("Tampering", "Tampering"), ("Cross-site Scripting", "Spoofing")]
def impact_of(title):
    for k, val in IMPACTS:
        if k.lower() in title.lower():
            return val
    return "unknown"

conf = {c["cve"] for c in config}
# Where the CVE record's publication is earlier than MSRC's release date.
PUBLISHED = {"CVE-2025-53786": "2025-08-06", "CVE-2026-42897": "2026-05-14"}
ids = sorted({c for c, _, _ in out}, key=lambda c: (c.split("-")[1] if c.startswith("CVE") else "2019", c))
prods = defaultdict(set)
for c, b, _ in out:
    prods[c].add(by_num[v(b)]["p"])
missing = []
with open(os.path.join(D, "cves.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["cve", "products", "family", "impact", "name", "cvss", "known_exploited", "published", "source"])
    for c in ids:
        rec = records.get(c, {})
        pre = pre2018.get(c)
        if pre:
            rec = {"title": pre["title"], "impact": pre["impact"], "cvss": pre["cvss"],
                   "name": pre["title"] if pre["bulletin"] in pre["title"] else f"{pre['title']} ({pre['bulletin']})",
                   "source": pre["source"]}
        old = old_cves.get(c, {})
        title = rec.get("title") or ""
        impact = rec.get("impact") or impact_of(title) or "unknown"
        sus_of = sorted({e["su"] for e in hc_by_cve.get(c, [])})
        fallback = f"fixed by {'/'.join(sus_of)}; title not recorded" if sus_of else "title not recorded"
        name = rec.get("name") or old.get("name") or title or fallback
        if impact == "unknown" and old:
            impact = impact_of(old.get("name", ""))
        cvss = rec.get("cvss") or old.get("cvss") or ""
        pub = (PUBLISHED.get(c) or (pre["published"] if pre else "")
               or msrc.get(c, {}).get("release_date") or old.get("published") or "")
        if c == "ADV190018":
            pub = "2019-06-11"
        k = "true" if (c in kev or c in extra_kev) else "false"
        src = []
        if old.get("source"): src.append(old["source"])
        if rec.get("source") and rec["source"] not in src: src.append(rec["source"])
        if pre: src.append(f"date: {pre['bulletin']}")
        elif c in msrc: src.append("date: MSRC")
        if c in kev: src.append(f"CISA KEV {kev[c]['date_added']}")
        if c in extra_kev: src.append(f"CISA KEV {extra_kev[c]['date_added']} ({extra_kev[c]['source']})")
        if c in hc_by_cve: src.append("HealthChecker " + "/".join(sorted({e['su'] for e in hc_by_cve[c]})))
        family = NAMED.get(c) or (impact[0].upper() + impact[1:] if impact != "unknown" else "Impact not recorded")
        if not cvss: missing.append((c, "cvss"))
        if impact == "unknown": missing.append((c, "impact/title"))
        if not pub:
            print("NO DATE", c)
        order = ["2010", "2013", "2016", "2019", "SE"]
        w.writerow([c, ";".join(p for p in order if p in prods[c]), family, impact, name, cvss, k, pub, "; ".join(src)])
with open(os.path.join(HERE, "unknowns.txt"), "w") as f:
    for c, what in missing:
        f.write(f"{c} {what}\n")
    for c, why in skipped:
        f.write(f"{c} left out: {why}\n")
print(len(ids), "cves;", len(out), "fix rows;", len(missing), "unknown facts;", len(skipped), "left out")
