/*
 * Debian's LLVM libunwind (libunwind-14-dev), linked into the static musl
 * build in place of the libunwind rustup would ship, was compiled against
 * glibc with _FORTIFY_SOURCE: its error messages call glibc's
 * __fprintf_chk, which musl does not have. This is that one function,
 * without the checking (the format strings are libunwind's own).
 */
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
    va_list ap;
    int n;
    (void)flag;
    va_start(ap, format);
    n = vfprintf(stream, format, ap);
    va_end(ap);
    return n;
}
