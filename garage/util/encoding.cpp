#include <garage/util/encoding.hpp>

#include <array>
#include <cstdint>

namespace garage::util {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Value of a hexadecimal digit, or -1.
constexpr int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// Value of each base64 character, 0xff for characters outside the alphabet.
constexpr std::array<std::uint8_t, 256> base64_values = [] {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) {
        v = 0xff;
    }
    for (std::uint8_t i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(base64_alphabet[i])] = i;
    }
    return t;
}();

} // namespace

std::string to_hex(std::string_view bytes)
{
    std::string out(bytes.size() * 2, '\0');
    char* p = out.data();
    for (unsigned char b : bytes) {
        *p++ = hex_digits[b >> 4];
        *p++ = hex_digits[b & 0x0f];
    }
    return out;
}

result<std::string> from_hex(std::string_view hex)
{
    if (hex.size() % 2 != 0) {
        return failure(error::invalid_hex,
                       "hexadecimal string has an odd length (" + std::to_string(hex.size()) + ")");
    }
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        int const hi = hex_value(hex[2 * i]);
        int const lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return failure(error::invalid_hex, "invalid hexadecimal digit at position " +
                                                   std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
        }
        out[i] = static_cast<char>((hi << 4) | lo);
    }
    return out;
}

std::string to_base64(std::string_view bytes)
{
    std::string out;
    out.resize((bytes.size() + 2) / 3 * 4);
    auto const* in = reinterpret_cast<unsigned char const*>(bytes.data());
    std::size_t const full = bytes.size() / 3 * 3;
    char* p = out.data();
    std::size_t i = 0;
    for (; i < full; i += 3) {
        std::uint32_t const v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
        *p++ = base64_alphabet[(v >> 18) & 0x3f];
        *p++ = base64_alphabet[(v >> 12) & 0x3f];
        *p++ = base64_alphabet[(v >> 6) & 0x3f];
        *p++ = base64_alphabet[v & 0x3f];
    }
    std::size_t const rest = bytes.size() - full;
    if (rest == 1) {
        std::uint32_t const v = std::uint32_t{in[i]} << 16;
        *p++ = base64_alphabet[(v >> 18) & 0x3f];
        *p++ = base64_alphabet[(v >> 12) & 0x3f];
        *p++ = '=';
        *p++ = '=';
    } else if (rest == 2) {
        std::uint32_t const v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
        *p++ = base64_alphabet[(v >> 18) & 0x3f];
        *p++ = base64_alphabet[(v >> 12) & 0x3f];
        *p++ = base64_alphabet[(v >> 6) & 0x3f];
        *p++ = '=';
    }
    return out;
}

result<std::string> from_base64(std::string_view text)
{
    if (text.size() % 4 != 0) {
        return failure(error::invalid_base64,
                       "base64 length " + std::to_string(text.size()) + " is not a multiple of 4");
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = (text[text.size() - 2] == '=') ? 2 : 1;
    }
    std::string out;
    out.resize(text.size() / 4 * 3 - padding);
    char* p = out.data();
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool const last = i + 4 == text.size();
        std::size_t const data_chars = last ? 4 - padding : 4;
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            unsigned char const c = static_cast<unsigned char>(text[i + j]);
            std::uint8_t d = 0;
            if (j < data_chars) {
                d = base64_values[c];
                if (d == 0xff) {
                    return failure(error::invalid_base64,
                                   "invalid base64 character at position " + std::to_string(i + j));
                }
            }
            v = (v << 6) | d;
        }
        if ((data_chars == 2 && (v & 0xffff) != 0) || (data_chars == 3 && (v & 0xff) != 0)) {
            return failure(error::invalid_base64, "base64 string has non-zero bits after its last byte");
        }
        *p++ = static_cast<char>((v >> 16) & 0xff);
        if (data_chars > 2) {
            *p++ = static_cast<char>((v >> 8) & 0xff);
        }
        if (data_chars > 3) {
            *p++ = static_cast<char>(v & 0xff);
        }
    }
    return out;
}

} // namespace garage::util
