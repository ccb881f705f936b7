#!/usr/bin/env python3
"""Stage 1: copy the facts vigie tests against into data/sources/ (run by a
maintainer with local snapshots; CI never runs it).

usage: vendor_sources.py CSS_EXCHANGE_GIT_DIR KEV_GIT_DIR RIGHEL_GIT_DIR

Reads HealthChecker's SU->CVE table and build dictionary (microsoft/
CSS-Exchange, MIT), CISA's KEV catalogue (cisagov/kev-data) and MSRC's
affected-product lists as scraped by righel/ms-exchange-version-nse, and
writes small CSVs. The June-August 2026 HealthChecker entries are not in
the CSS-Exchange snapshot used (f88378b, 2026-04-02): they are added from
CSS-Exchange PR #2574's diff (see README) and marked so in `source`.
"""
import csv, json, re, subprocess, sys, os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "sources")

def git_show(repo, path):
    return subprocess.run(["git", "-C", repo, "show", "HEAD:" + path],
                          check=True, capture_output=True, text=True).stdout

def head(repo):
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()

PRODUCT = {"Exchange2013": "2013", "Exchange2016": "2016",
           "Exchange2019": "2019", "ExchangeSE": "SE"}
VAR = {"$ex2013": ["2013"], "$ex2016": ["2016"], "$ex2019": ["2019"],
       "$exSE": ["SE"], "$ex131619": ["2013", "2016", "2019"]}

# CSS-Exchange PR #2574 (merged 2026-08-11) shows these three entries.
PR2574 = {
    "Jun26SU": ["CVE-2026-42897", "CVE-2026-45500", "CVE-2026-45501", "CVE-2026-45502",
                "CVE-2026-45503", "CVE-2026-45504", "CVE-2026-47631"],
    "Jul26SU": ["CVE-2026-55005", "CVE-2026-55006", "CVE-2026-55008", "CVE-2026-55009"],
    "Aug26SU": ["CVE-2026-62910", "CVE-2026-62911", "CVE-2026-62912", "CVE-2026-62913",
                "CVE-2026-65813", "CVE-2026-62914", "CVE-2026-62915"],
}
# Builds of those SUs: Microsoft's build list (PR #2574 lists the Aug26SU
# ones with the same numbers).
PR2574_BUILDS = [
    ("2016", "CU23", "Jun26SU", "15.1.2507.69"), ("2016", "CU23", "Jul26SU", "15.1.2507.71"),
    ("2016", "CU23", "Aug26SU", "15.1.2507.72"),
    ("2019", "CU14", "Jun26SU", "15.2.1544.41"), ("2019", "CU14", "Jul26SU", "15.2.1544.43"),
    ("2019", "CU14", "Aug26SU", "15.2.1544.44"),
    ("2019", "CU15", "Jun26SU", "15.2.1748.46"), ("2019", "CU15", "Jul26SU", "15.2.1748.48"),
    ("2019", "CU15", "Aug26SU", "15.2.1748.49"),
    ("SE", "RTM", "Jun26SU", "15.2.2562.43"), ("SE", "RTM", "Jul26SU", "15.2.2562.45"),
    ("SE", "RTM", "Aug26SU", "15.2.2562.46"),
]

def su_cves(src):
    rows = []
    for line in src.splitlines():
        m = re.match(r'\s*"(\w+)"\s*=\s*(.*NewCveEntry.*)$', line)
        if not m:
            continue
        su, rest = m.groups()
        for part in re.findall(r'NewCveEntry\s+(@\([^)]*\)|"[^"]*"|\([^)]*\))\s+(@\([^)]*\)|\$\w+)', rest):
            ids = re.findall(r'(CVE-\d{4}-\d+|ADV\d+)', part[0])
            prods = []
            for v in re.findall(r'\$\w+', part[1]):
                prods += VAR[v]
            for i in ids:
                rows.append((su, i, ";".join(prods), "HealthChecker f88378b"))
    return rows

def build_dict(src):
    rows, prod, cu, cu_build = [], None, None, None
    body = src[src.index("function GetExchangeBuildDictionary"):]
    for line in body.splitlines():
        m = re.match(r'\s*"(Exchange\w+)"\s*=\s*@\{', line)
        if m:
            prod = PRODUCT[m.group(1)]
            continue
        m = re.match(r'\s*"(CU\d+|RTM)"\s*=\s*\(NewCUAndSUObject\s+"([\d.]+)"', line)
        if m:
            cu, cu_build = m.groups()
            rows.append([prod, cu, cu_build, "", "", ""])
            continue
        m = re.match(r'\s*"(\w+(?:SU|HU)\w*)"\s*=\s*"([\d.]+)"', line)
        if m and prod:
            rows.append([prod, cu, cu_build, "", m.group(1), m.group(2)])
    return rows

def cu_dates(src):
    """CU release dates from the switch cascade of Get-ExchangeBuildVersionInformation."""
    dates, prod = {}, None
    for line in src.splitlines():
        m = re.search(r'\$exchangeMajorVersion = "(Exchange\w+)"', line)
        if m:
            prod = PRODUCT[m.group(1)]
        m = re.search(r'\$cuLevel = "(\w+)"', line)
        if m:
            cu = m.group(1)
        m = re.search(r'\$cuReleaseDate = "(\d\d)/(\d\d)/(\d{4})"', line)
        if m and prod:
            dates[(prod, cu)] = f"{m.group(3)}-{m.group(1)}-{m.group(2)}"
    # SE is set before $exchangeMajorVersion's switch in the file
    return dates

def main():
    css, kev, righel = sys.argv[1:4]
    css_commit = head(css)
    cve_src = git_show(css, "Diagnostics/HealthChecker/Analyzer/Security/Invoke-AnalyzerSecurityCveCheck.ps1")
    bld_src = git_show(css, "Shared/Get-ExchangeBuildVersionInformation.ps1")
    with open(os.path.join(OUT, "healthchecker.LICENSE.txt"), "w") as f:
        f.write(f"Files sources/healthchecker-*.csv are facts extracted from microsoft/CSS-Exchange @ {css_commit}\n")
        f.write("(Diagnostics/HealthChecker/Analyzer/Security/Invoke-AnalyzerSecurityCveCheck.ps1,\n")
        f.write(" Shared/Get-ExchangeBuildVersionInformation.ps1), under this licence:\n\n")
        f.write(git_show(css, "LICENSE"))
    rows = su_cves(cve_src)
    for su, ids in PR2574.items():
        for i in ids:
            rows.append((su, i, "2016;2019;SE", "CSS-Exchange PR #2574 diff (after f88378b)"))
    with open(os.path.join(OUT, "healthchecker-su-cves.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["su", "cve", "products", "source"])
        w.writerows(rows)
    dates = cu_dates(bld_src)
    dates[("SE", "RTM")] = "2025-07-01"
    brows = build_dict(bld_src)
    for r in brows:
        r[3] = dates.get((r[0], r[1]), "")
    for prod, cu, su, b in PR2574_BUILDS:
        base = next(r for r in brows if r[0] == prod and r[1] == cu)
        brows.append([prod, cu, base[2], base[3], su, b])
    with open(os.path.join(OUT, "healthchecker-builds.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["product", "cu", "cu_build", "cu_release_date", "su", "su_build", "source"])
        for r in brows:
            src = "CSS-Exchange PR #2574 / Microsoft build list" if r[4] in PR2574 else "HealthChecker f88378b"
            w.writerow(r + [src])
    # CISA KEV: Exchange rows only.
    kev_commit = head(kev)
    text = git_show(kev, "known_exploited_vulnerabilities.csv")
    with open(os.path.join(OUT, "cisa-kev-exchange.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["cve", "date_added", "name", "source"])
        for r in csv.DictReader(text.splitlines()):
            if r["vendorProject"] == "Microsoft" and "xchange" in r["product"]:
                w.writerow([r["cveID"], r["dateAdded"], r["vulnerabilityName"], f"cisagov/kev-data @ {kev_commit[:7]}"])
    # MSRC release dates and affected CU lines, via righel's scrape.
    rg_commit = head(righel)
    aff = json.loads(git_show(righel, "cves_affected_products_dict.json"))
    with open(os.path.join(OUT, "msrc-exchange-cves.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["cve", "release_date", "affected", "source"])
        for c, v in sorted(aff.items()):
            d = sorted({x["releaseDate"][:10] for x in v.values()})
            lines = ";".join(sorted(v))
            w.writerow([c, d[0] if d else "", lines, f"MSRC affected products via righel/ms-exchange-version-nse @ {rg_commit[:7]}"])

main()
