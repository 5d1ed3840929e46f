/* lt_format_g9 against its oracle, snprintf("%.9g"): the same text for every value. */
#include "base/base.h"
#include "test.h"

#include <float.h>
#include <stdint.h>

static int mismatches;

static void check(double v)
{
    char want[64], got[LT_FORMAT_G9_MAX];
    snprintf(want, sizeof want, "%.9g", v);
    size_t n = lt_format_g9(v, got);
    if (strcmp(want, got) != 0 || n != strlen(want)) {
        if (mismatches++ < 10) LT_FAIL_AT("%.17g: got \"%s\", expected \"%s\"", v, got, want);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void format_g9_matches_printf_on_chosen_values(void)
{
    static const double values[] = {
        0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.25, 1e-4, 9.99999999e-5, 1e-5, 123456789.0,
        999999999.0, 999999999.4, 999999999.6, 1e9, 1234567890.0, 0.999999999, 0.9999999996,
        0.99999999949, 1e-14, 1e-15, 1e29, 1e30, 3.4028234663852886e38, 1.17549435e-38,
        100.0, 1e8, 12.5, 0.000123456789, 1.5e-7, 2.0 / 3.0, 1.0 / 3.0, 5e-324, DBL_MAX, NAN,
        INFINITY, -INFINITY, 0.123456789, 0.1234567885, 0.1234567895, 42.0, 1e21, 1e22, 1e23};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        check(values[i]);
        check(-values[i]);
    }
}

static void format_g9_matches_printf_on_a_million_random_values(void)
{
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = next_u64();
        double unit = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
        switch (i % 4) {
        case 0: check(unit); break;                               /* probabilities */
        case 1: check((double)(float)unit); break;                 /* float32 values */
        case 2: check((unit - 0.5) * pow(10.0, (double)(int)(r % 40) - 20)); break;
        default: {
            double d;
            uint64_t bits = next_u64();
            memcpy(&d, &bits, sizeof d); /* any bit pattern */
            check(d);
        }
        }
    }
    LT_CHECK_INT(mismatches, ==, 0);
}

int main(void)
{
    LT_RUN(format_g9_matches_printf_on_chosen_values);
    LT_RUN(format_g9_matches_printf_on_a_million_random_values);
    return lt_test_summary();
}
