/* lt_format_g9: the text printf's "%.9g" gives, without printf's cost on hot paths (a
 * transform job formats a prediction per row). 9 significant digits read back as the same
 * float, which is what the built-in algorithms' answers promise.
 *
 * The fast path scales |v| by an exact power of ten to a 9-digit integer (one rounding,
 * relative error at most 2^-53, so under 1.2e-7 absolute) and rounds it to nearest. printf
 * rounds the exact decimal value; the two can only differ when the scaled value lies within
 * that error of a half, so such values (and zeros, NaN, infinities, and magnitudes outside
 * 1e-14..1e30) go to snprintf itself. */
#include "base/base.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static size_t slow(double v, char *out)
{
    int n = snprintf(out, LT_FORMAT_G9_MAX, "%.9g", v);
    return n > 0 ? (size_t)n : 0;
}

size_t lt_format_g9(double v, char *out)
{
    double a = fabs(v);
    if (!(a >= 1e-14 && a < 1e30)) return slow(v, out);
    int e = (int)floor(log10(a));
    uint64_t m = 0;
    for (int tries = 0;; tries++) {
        if (tries == 3) return slow(v, out);
        int k = 8 - e;
        if (k > 22 || k < -22) return slow(v, out);
        double x = k >= 0 ? a * pow10_exact[k] : a / pow10_exact[-k];
        double whole = floor(x), frac = x - whole;
        if (fabs(frac - 0.5) < 1e-6) return slow(v, out);
        m = (uint64_t)whole + (frac > 0.5);
        if (m < 100000000u) {
            e--; /* log10 rounded up across a power of ten */
        } else if (m >= 1000000000u) {
            if (m == 1000000000u && whole < 1e9) {
                m = 100000000u; /* 999999999.6 rounds to the next power of ten */
                e++;
                break;
            }
            e++;
        } else {
            break;
        }
    }
    char digits[9];
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = 9;
    while (nd > 1 && digits[nd - 1] == '0') nd--; /* %g drops trailing zeros */
    char *p = out;
    if (v < 0) *p++ = '-';
    if (e >= -4 && e < 9) {
        if (e >= 0) {
            for (int i = 0; i <= e; i++) *p++ = i < nd ? digits[i] : '0';
            if (nd > e + 1) {
                *p++ = '.';
                for (int i = e + 1; i < nd; i++) *p++ = digits[i];
            }
        } else {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -e - 1; i++) *p++ = '0';
            for (int i = 0; i < nd; i++) *p++ = digits[i];
        }
    } else {
        *p++ = digits[0];
        if (nd > 1) {
            *p++ = '.';
            for (int i = 1; i < nd; i++) *p++ = digits[i];
        }
        *p++ = 'e';
        *p++ = e < 0 ? '-' : '+';
        int x = e < 0 ? -e : e;
        if (x >= 100) *p++ = (char)('0' + x / 100);
        *p++ = (char)('0' + x / 10 % 10);
        *p++ = (char)('0' + x % 10);
    }
    *p = '\0';
    return (size_t)(p - out);
}
