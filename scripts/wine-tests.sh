#!/usr/bin/env bash
# Windows tests of vigie.exe under Wine (Debian's wine64), run by
# `scripts/build-windows.sh --test` and by .ci/run:
#   1. vigie-live's unit tests (registry API, token), cross-compiled and
#      run under Wine;
#   2. vigie.exe against the Linux binary on the same inputs: `check` on
#      build numbers and on a synthetic ExSetup.exe, `hunt` on the forged
#      server trees `vigie demo` writes (same verdicts and findings);
#   3. `check --live` and `hunt --live` in a Wine prefix made to look like
#      an Exchange server: registry values added with `reg import`, an
#      install tree moved off the default path (so only the registry can
#      find it), IIS logs in a folder only applicationHost.config names,
#      event logs in winevt\Logs. Their answers are compared with the
#      Linux binary's on a copy of the same files with the same registry
#      export beside them.
# Everything happens under a temporary folder (the Wine prefix too);
# nothing is sent anywhere. The ProcessPrng stand-in DLL Wine 8 needs
# (scripts/wine/bcryptprimitives.c) goes into that prefix only.
#
# Usage: scripts/wine-tests.sh [path/to/vigie.exe]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Called from build-windows.sh, whose Debian-toolchain settings must not
# reach the Linux build below (it would rebuild everything with 1.96).
unset RUSTC RUSTDOC RUSTC_BOOTSTRAP CC_x86_64_pc_windows_gnu AR_x86_64_pc_windows_gnu \
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER
exe=${1:-target/x86_64-pc-windows-gnu/debug/vigie.exe}
[ -f "$exe" ] || { echo "wine-tests: no $exe (run scripts/build-windows.sh --debug)" >&2; exit 1; }
exe=$(realpath "$exe")
WINE=${WINE:-/usr/lib/wine/wine64}
[ -x "$WINE" ] || WINE=$(command -v wine64 || command -v wine || true)
[ -n "$WINE" ] || { echo "wine-tests: no wine64 (apt-get install wine64)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vigie-wine.XXXXXX")
keep=${KEEP_WINE_TESTS:-}
cleanup() {
  WINEPREFIX="$work/prefix" "${WINE%/*}/wineserver" -k 2>/dev/null || true
  if [ -z "$keep" ]; then rm -rf "$work"; else echo "wine-tests: kept $work" >&2; fi
}
trap cleanup EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64

win() { printf 'Z:%s' "${1//\//\\}"; }

echo "== wine-tests: $($WINE --version) in $work" >&2
"$WINE" wineboot -i >"$work/wineboot.log" 2>&1
sys32="$WINEPREFIX/drive_c/windows/system32"
x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c -ladvapi32

# 1. Unit tests of the Windows-only code, under Wine.
echo "== wine-tests: vigie-live unit tests under Wine" >&2
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE" \
  /usr/bin/cargo test --locked --target x86_64-pc-windows-gnu \
  -Zbuild-std=std,panic_abort -p vigie-live --lib

# 2 and 3: the Linux binary (the tests' toolchain) beside vigie.exe. Built
# as the README's test command builds it (same feature set), so after that
# command, as in .ci/run, this is a no-op instead of a second build.
cargo test --workspace --locked --no-run -q
linux="$root/target/debug/vigie"
"$linux" demo --out "$work/demo" >"$work/demo.log" 2>&1

# The live server: drive_c laid out like an Exchange server whose install
# folder is C:\Exchange\V15 and whose IIS logs are in C:\IISLogs.
drive_c="$WINEPREFIX/drive_c"
mirror="$work/mirror/EXCHLIVE"
mkdir -p "$mirror/C"
stage() { # copy the demo's server files into a C:\ folder, relocated
  local to=$1
  local ex="$to/Exchange/V15"
  mkdir -p "$ex" "$to/IISLogs" "$to/inetpub" \
    "$to/Windows/System32/inetsrv/config" "$to/Windows/System32/winevt/Logs"
  local hc="$work/demo/host-check/EXCH01/C" hu="$work/demo/hunt/evidence/EXCH01/C"
  cp -r "$hc/Program Files/Microsoft/Exchange Server/V15/." "$ex/"
  cp -r "$hu/Program Files/Microsoft/Exchange Server/V15/." "$ex/"
  cp -r "$hc/inetpub/." "$to/inetpub/"
  cp -r "$hu/inetpub/logs/LogFiles/." "$to/IISLogs/"
  cp -r "$hu/inetpub/wwwroot/." "$to/inetpub/wwwroot/" 2>/dev/null || true
  cp "$hu/Windows/System32/winevt/Logs/"* "$to/Windows/System32/winevt/Logs/"
  sed -e 's#C:\\Program Files\\Microsoft\\Exchange Server\\V15#C:\\Exchange\\V15#g' \
      -e 's#</sites>#<siteDefaults><logFile directory="%SystemDrive%\\IISLogs" /></siteDefaults></sites>#' \
    "$hc/Windows/System32/inetsrv/config/applicationHost.config" \
    >"$to/Windows/System32/inetsrv/config/applicationHost.config"
}
stage "$mirror/C"
# Wine's drive_c has its own lower-case windows\system32 folder: merge
# into it (a second, capitalised one would shadow it on a Linux disk).
stage "$work/stage"
cp -r "$work/stage/Windows/System32/." "$drive_c/windows/system32/"
rm -rf "$work/stage/Windows"
cp -r "$work/stage/." "$drive_c/"
cat >"$mirror/server.reg" <<'REG'
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\ExchangeServer\v15\Setup]
"MsiInstallPath"="C:\\Exchange\\V15\\"
"MsiProductMajor"=dword:0000000f
"MsiProductMinor"=dword:00000002
"MsiBuildMajor"=dword:00000a02
"MsiBuildMinor"=dword:00000011

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole]
"ConfiguredVersion"="15.2.2562.17"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework\v4.0.30319]
"SystemDefaultTlsVersions"=dword:00000001
"SchUseStrongCrypto"=dword:00000001

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server]
"Enabled"=dword:00000001
"DisabledByDefault"=dword:00000000
REG
"$WINE" reg import "$(win "$mirror/server.reg")" >"$work/reg.log" 2>&1 \
  || { echo "wine-tests: reg import failed:" >&2; cat "$work/reg.log" >&2; exit 1; }

out="$work/out"
mkdir -p "$out"
status=0
# Run both binaries; stdout to a file, exit code to a file (findings exit 1).
both() { # name, args with paths given as @PATH@...
  local name=$1; shift
  local lin_args=() win_args=() a
  for a in "$@"; do
    if [[ $a == @*@ ]]; then a=${a#@}; a=${a%@}; lin_args+=("$a"); win_args+=("$(win "$a")")
    else lin_args+=("$a"); win_args+=("$a"); fi
  done
  "$linux" "${lin_args[@]}" >"$out/$name.linux.json" 2>"$out/$name.linux.err" && echo 0 >"$out/$name.linux.rc" || echo $? >"$out/$name.linux.rc"
  "$WINE" "$exe" "${win_args[@]}" >"$out/$name.wine.json" 2>"$out/$name.wine.err" && echo 0 >"$out/$name.wine.rc" || echo $? >"$out/$name.wine.rc"
  if ! cmp -s "$out/$name.linux.rc" "$out/$name.wine.rc"; then
    echo "FAIL  $name: exit $(cat "$out/$name.linux.rc") on Linux, $(cat "$out/$name.wine.rc") under Wine"
    sed 's/^/      /' "$out/$name.wine.err" | head -20
    status=1
  fi
}
compare() { python3 scripts/wine/compare.py "$@" || status=1; }

echo "== wine-tests: vigie.exe against the Linux binary" >&2
asof=(--as-of 2026-11-01)
both builds check 15.2.1544.4 15.1.2507.6 15.2.2562.17 14.3.123.4 "${asof[@]}" --format json
compare check "check on build numbers" "$out/builds.linux.json" "$out/builds.wine.json"
both exsetup check "@$work/demo/ExSetup.exe@" "${asof[@]}" --format json
compare check "check on a synthetic ExSetup.exe" "$out/exsetup.linux.json" "$out/exsetup.wine.json"
for h in EXCH01 EXCH02; do
  both "hunt-$h" hunt "@$work/demo/hunt/evidence/$h@" --no-progress --format json
  compare hunt "hunt on the forged $h tree" "$out/hunt-$h.linux.json" "$out/hunt-$h.wine.json"
done

echo "== wine-tests: --live in a prefix laid out like an Exchange server" >&2
# Evidence is read-only: every file of the server, hashed before and after.
evidence_sums() {
  (cd "$drive_c" && find Exchange IISLogs inetpub windows/system32/winevt \
     windows/system32/inetsrv -type f -print0 | sort -z | xargs -0 sha256sum)
}
evidence_sums >"$work/before.sums"
touch "$work/marker"
"$linux" check --host "$mirror" --format json "${asof[@]}" >"$out/live-check.linux.json" 2>"$out/live-check.linux.err" || true
"$WINE" "$exe" check --live --format json "${asof[@]}" >"$out/live-check.wine.json" 2>"$out/live-check.wine.err" || true
compare live-check "$out/live-check.linux.json" "$out/live-check.wine.json"
"$linux" hunt "$mirror" --no-progress --format json >"$out/live-hunt.linux.json" 2>"$out/live-hunt.linux.err" || true
"$WINE" "$exe" hunt --live --no-progress --format json >"$out/live-hunt.wine.json" 2>"$out/live-hunt.wine.err" || true
compare live-hunt "$out/live-hunt.linux.json" "$out/live-hunt.wine.json"
grep -h "Exchange install folder\|IIS logs in\|administrator" "$out/live-hunt.wine.err" | sed 's/^/      /' || true
evidence_sums >"$work/after.sums"
written=$(cd "$drive_c" && find . -newer "$work/marker" -type f | grep -v '^./users/' || true)
if cmp -s "$work/before.sums" "$work/after.sums" && [ -z "$written" ]; then
  echo "ok    --live wrote nothing on the server (every file hashed before and after)"
else
  echo "FAIL  --live changed the server: $(diff "$work/before.sums" "$work/after.sums" | head -5) $written"
  status=1
fi
# Reports go where --out says, never into a folder the hunt reads.
if "$WINE" "$exe" hunt --live --no-progress --out 'C:\ProgramData\vigie' >/dev/null 2>"$out/refused.err"; then
  echo "FAIL  hunt --live --out inside a hunted folder was not refused"; status=1
elif grep -q "inside the evidence" "$out/refused.err" && [ ! -e "$drive_c/ProgramData/vigie" ]; then
  echo "ok    hunt --live refuses --out inside a folder it hunts"
else
  echo "FAIL  hunt --live --out C:\ProgramData\vigie: $(head -3 "$out/refused.err")"; status=1
fi
"$WINE" "$exe" hunt --live --no-progress --out 'C:\vigie-out' >/dev/null 2>"$out/out.err" || true
if ls "$drive_c/vigie-out/"*.html >/dev/null 2>&1; then
  echo "ok    hunt --live --out C:\vigie-out wrote its reports there"
else
  echo "FAIL  hunt --live --out C:\vigie-out wrote no report: $(tail -3 "$out/out.err")"; status=1
fi

if [ $status -ne 0 ]; then
  keep=1
  echo "wine-tests: FAILED (outputs in $out)" >&2
  exit 1
fi
echo "wine-tests: all passed" >&2
