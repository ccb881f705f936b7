/*
 * Test-harness stand-in for Windows' bcryptprimitives.dll, which Wine 8
 * (Debian 12) lacks. Rust's standard library calls its ProcessPrng on
 * Windows 10 and later for random numbers (hash map seeds); without it a
 * Rust program stops at start-up under that Wine. This forwards to
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 *
 * Used only inside the Wine prefix scripts/wine-tests.sh creates; real
 * Windows has the real DLL, and no release ever carries this one.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
