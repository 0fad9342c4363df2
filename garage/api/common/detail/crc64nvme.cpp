#include <garage/api/common/detail/crc64nvme.hpp>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace garage::api::detail {
namespace {

using table_set = std::array<std::array<std::uint64_t, 256>, 8>;

/// tables[0][b]: the register change of one byte `b`; tables[k][b]: of `b` followed by k zero bytes.
constexpr table_set make_tables() noexcept
{
    table_set t{};
    for (std::uint64_t i = 0; i < 256; ++i) {
        std::uint64_t c = i;
        for (int bit = 0; bit < 8; ++bit) {
            c = (c & 1) ? (c >> 1) ^ crc64nvme_poly : c >> 1;
        }
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k) {
        for (std::size_t i = 0; i < 256; ++i) {
            std::uint64_t const prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][prev & 0xff];
        }
    }
    return t;
}

constexpr table_set tables = make_tables();

#if defined(__x86_64__)

/// The normal (non-reflected) polynomial, without its x^64 term.
constexpr std::uint64_t poly_normal = 0xAD93D23594C93659ull;

constexpr std::uint64_t reflect64(std::uint64_t v) noexcept
{
    std::uint64_t r = 0;
    for (int i = 0; i < 64; ++i) {
        r |= ((v >> i) & 1) << (63 - i);
    }
    return r;
}

/// x^n mod P, reflected (the coefficient of x^i at bit 63 - i), as PCLMULQDQ wants it.
constexpr std::uint64_t xpow_mod_reflected(unsigned n) noexcept
{
    std::uint64_t r = 1; // x^0
    for (unsigned i = 0; i < n; ++i) {
        bool const carry = (r >> 63) != 0;
        r <<= 1;
        if (carry) {
            r ^= poly_normal;
        }
    }
    return reflect64(r);
}

/** Folding constants for a distance of `bits`: a 128-bit block A (reflected: its low quadword
    holds the high-degree half) moved `bits` further is A_hi·x^(bits+64) + A_lo·x^bits mod P.
    A carry-less product of reflected operands comes out one bit short of the reflected
    128-bit layout, hence the exponents minus one. */
struct fold_constants {
    std::uint64_t for_low_qword;  // x^(bits+63) mod P
    std::uint64_t for_high_qword; // x^(bits-1) mod P
};

constexpr fold_constants fold_by(unsigned bits) noexcept
{
    return {xpow_mod_reflected(bits + 63), xpow_mod_reflected(bits - 1)};
}

constexpr fold_constants fold_128 = fold_by(128);
constexpr fold_constants fold_256 = fold_by(256);
constexpr fold_constants fold_384 = fold_by(384);
constexpr fold_constants fold_512 = fold_by(512);

__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i x, fold_constants k) noexcept
{
    __m128i const kv =
        _mm_set_epi64x(static_cast<long long>(k.for_high_qword), static_cast<long long>(k.for_low_qword));
    return _mm_xor_si128(_mm_clmulepi64_si128(x, kv, 0x00), _mm_clmulepi64_si128(x, kv, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i load(unsigned char const* p) noexcept
{
    return _mm_loadu_si128(reinterpret_cast<__m128i const*>(p));
}

/** Folds whole 64-byte groups with four independent accumulators, reduces them to one 128-bit
    value congruent to the message (the state XORed into its first 8 bytes), and lets the table
    code turn those 16 bytes into the register; the tail goes to the table code too. */
__attribute__((target("pclmul,sse4.1"))) std::uint64_t
update_pclmul(std::uint64_t state, unsigned char const* data, std::size_t size) noexcept
{
    if (size < 128) {
        return crc64nvme_update_slice8(state, data, size);
    }
    std::size_t const bulk = size & ~std::size_t{63};
    __m128i x0 = _mm_xor_si128(load(data), _mm_cvtsi64_si128(static_cast<long long>(state)));
    __m128i x1 = load(data + 16);
    __m128i x2 = load(data + 32);
    __m128i x3 = load(data + 48);
    for (std::size_t i = 64; i < bulk; i += 64) {
        x0 = _mm_xor_si128(fold(x0, fold_512), load(data + i));
        x1 = _mm_xor_si128(fold(x1, fold_512), load(data + i + 16));
        x2 = _mm_xor_si128(fold(x2, fold_512), load(data + i + 32));
        x3 = _mm_xor_si128(fold(x3, fold_512), load(data + i + 48));
    }
    __m128i const x = _mm_xor_si128(_mm_xor_si128(fold(x0, fold_384), fold(x1, fold_256)),
                                    _mm_xor_si128(fold(x2, fold_128), x3));
    unsigned char folded[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), x);
    std::uint64_t const after_bulk = crc64nvme_update_slice8(0, folded, sizeof folded);
    return crc64nvme_update_slice8(after_bulk, data + bulk, size - bulk);
}

bool have_pclmul() noexcept
{
    static bool const yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    return yes;
}

#endif

} // namespace

std::uint64_t crc64nvme_update_bitwise(std::uint64_t state, unsigned char const* data,
                                       std::size_t size) noexcept
{
    for (std::size_t i = 0; i < size; ++i) {
        state ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            state = (state & 1) ? (state >> 1) ^ crc64nvme_poly : state >> 1;
        }
    }
    return state;
}

std::uint64_t crc64nvme_update_slice8(std::uint64_t state, unsigned char const* data,
                                      std::size_t size) noexcept
{
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slice-by-8 assumes a little-endian load");
    while (size >= 8) {
        std::uint64_t w;
        std::memcpy(&w, data, 8);
        w ^= state;
        state = tables[7][w & 0xff] ^ tables[6][(w >> 8) & 0xff] ^ tables[5][(w >> 16) & 0xff] ^
                tables[4][(w >> 24) & 0xff] ^ tables[3][(w >> 32) & 0xff] ^ tables[2][(w >> 40) & 0xff] ^
                tables[1][(w >> 48) & 0xff] ^ tables[0][w >> 56];
        data += 8;
        size -= 8;
    }
    while (size > 0) {
        state = tables[0][(state ^ *data) & 0xff] ^ (state >> 8);
        ++data;
        --size;
    }
    return state;
}

std::uint64_t crc64nvme_update_pclmul(std::uint64_t state, unsigned char const* data,
                                      std::size_t size) noexcept
{
#if defined(__x86_64__)
    if (have_pclmul()) {
        return update_pclmul(state, data, size);
    }
#endif
    return crc64nvme_update_slice8(state, data, size);
}

std::uint64_t crc64nvme_update(std::uint64_t state, unsigned char const* data, std::size_t size) noexcept
{
    return crc64nvme_update_pclmul(state, data, size);
}

} // namespace garage::api::detail
