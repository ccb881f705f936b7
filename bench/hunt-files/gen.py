#!/usr/bin/env python3
"""Generate a forged Exchange server tree for the file-check bench.

usage: gen.py OUT_DIR [FILES]   (default 100,000 files)

Layout: Exchange web folders (FrontEnd/HttpProxy, ClientAccess) with pages,
scripts, styles, images and bin DLLs; inetpub/wwwroot; Windows/System32 and
WinSxS binaries; ProgramData vendor folders; Users documents. Sizes follow a
skewed 200 B - 256 KiB spread. A few samples are planted from vigie's encoded
test fixtures (decoded here, in /tmp, never in the repository): five web
shells, an LSASS minidump, a staged zip. Deterministic (seeded).
"""
import base64, os, random, sys

out = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
here = os.path.dirname(os.path.abspath(__file__))
fx = os.path.join(here, '..', '..', 'crates', 'hunt', 'tests', 'fixtures', 'files')
rnd = random.Random(7)
V15 = 'C/Program Files/Microsoft/Exchange Server/V15'
AREAS = [  # (folder, weight, extensions)
    (V15 + '/FrontEnd/HttpProxy/owa/auth/15.2.986.14', 4, ['js', 'css', 'gif', 'png', 'htm']),
    (V15 + '/FrontEnd/HttpProxy/ecp', 3, ['aspx', 'js', 'css', 'config']),
    (V15 + '/FrontEnd/HttpProxy/bin', 2, ['dll', 'xml']),
    (V15 + '/ClientAccess/Owa/prem/15.2.986.14/scripts', 10, ['js', 'css', 'png', 'resx']),
    (V15 + '/ClientAccess/ecp', 8, ['aspx', 'ascx', 'js', 'css', 'svc', 'config']),
    (V15 + '/Bin', 8, ['dll', 'exe', 'config', 'xml']),
    ('C/inetpub/wwwroot/site', 2, ['aspx', 'htm', 'css', 'js', 'png']),
    ('C/Windows/System32', 20, ['dll', 'exe', 'mui', 'sys', 'ini']),
    ('C/Windows/WinSxS/amd64_x', 20, ['dll', 'manifest', 'cat']),
    ('C/Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/owa/1a2b/3c4d', 3, ['dll', 'cs', 'compiled', 'ccu']),
    ('C/ProgramData/Vendor/Agent', 8, ['dat', 'xml', 'json', 'db', 'zip']),
    ('C/Users/admin/Documents', 12, ['docx', 'pdf', 'txt', 'xlsx']),
]
TEXT = {'js', 'css', 'htm', 'aspx', 'ascx', 'svc', 'config', 'xml', 'resx',
        'ini', 'manifest', 'cs', 'txt', 'json', 'compiled'}
weights = [a[1] for a in AREAS]
chunk = (b'function f(a){return a+1;} /* padding */ var x = "abcdefghij";\n' * 4096)
noise = os.urandom(1 << 20)


def size():
    return min(262_144, int(rnd.lognormvariate(8.3, 1.1)) + 200)


made = 0
nbytes = 0
dirs = set()
while made < total:
    area = rnd.choices(AREAS, weights)[0]
    sub = '%s/d%03d' % (area[0], rnd.randrange(200))
    if sub not in dirs:
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        dirs.add(sub)
    ext = rnd.choice(area[2])
    n = size()
    if ext in TEXT:
        data = chunk[:n]
    else:
        off = rnd.randrange(len(noise) - n)
        data = noise[off:off + n]
    with open(os.path.join(out, sub, 'f%06d.%s' % (made, ext)), 'wb') as f:
        f.write(data)
    made += 1
    nbytes += n


def plant(rel, sample):
    p = os.path.join(out, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(os.path.join(fx, sample + '.b64')) as f:
        data = base64.b64decode(''.join(f.read().split()))
    with open(p, 'wb') as f:
        f.write(data)


plant(V15 + '/FrontEnd/HttpProxy/owa/auth/OutlookZH.aspx', 'chopper-script.aspx')
plant('C/inetpub/wwwroot/aspnet_client/system_web/AbCd1234.aspx', 'chopper-page.aspx')
plant(V15 + '/FrontEnd/HttpProxy/owa/auth/ohyeah.aspx', 'oab-dump.aspx')
plant(V15 + '/FrontEnd/HttpProxy/ecp/cmd.aspx', 'process-standin.aspx')
plant('C/inetpub/wwwroot/site/loader.aspx', 'loader-standin.aspx')
plant('C/Windows/Temp/chrome.gif', 'lsass-dump.bin')
with open(os.path.join(out, 'C/ProgramData/it.zip'), 'wb') as f:
    f.write(b'PK\x03\x04' + noise[:50_000])
print('%d files, %.0f MiB, %d folders, 7 planted' % (made, nbytes / 2**20, len(dirs)))
