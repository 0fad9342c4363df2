#include <garage/model/k2v_causality.hpp>

#include <algorithm>
#include <array>

namespace garage::model {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) noexcept
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

void put_u64(std::string& out, std::uint64_t v)
{
    for (int i = 7; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
}

std::uint64_t get_u64(std::string_view in) noexcept
{
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
    }
    return v;
}

} // namespace

k2v_node_id make_k2v_node_id(util::node_id const& node) noexcept
{
    return get_u64(node.view().substr(0, 8));
}

bool vclock_gt(vector_clock const& a, vector_clock const& b)
{
    return std::ranges::any_of(a, [&](auto const& kv) {
        auto it = b.find(kv.first);
        return kv.second > (it == b.end() ? 0 : it->second);
    });
}

vector_clock vclock_max(vector_clock const& a, vector_clock const& b)
{
    vector_clock out = a;
    for (auto const& [n, t] : b) {
        auto& e = out[n];
        e = std::max(e, t);
    }
    return out;
}

std::string to_base64url_nopad(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t const v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (bytes.size() - i == 1) {
        std::uint32_t const v = byte(i) << 16;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
    } else if (bytes.size() - i == 2) {
        std::uint32_t const v = (byte(i) << 16) | (byte(i + 1) << 8);
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
    }
    return out;
}

std::optional<std::string> from_base64url_nopad(std::string_view text)
{
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int const d = decode_char(c);
        if (d < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // The bits left over must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

std::string causal_context::serialize() const
{
    std::uint64_t checksum = 0;
    for (auto const& [n, t] : clock) {
        checksum ^= n ^ t;
    }
    std::string bytes;
    bytes.reserve(8 + 16 * clock.size());
    put_u64(bytes, checksum);
    for (auto const& [n, t] : clock) {
        put_u64(bytes, n);
        put_u64(bytes, t);
    }
    return to_base64url_nopad(bytes);
}

std::optional<causal_context> causal_context::parse(std::string_view token)
{
    auto bytes = from_base64url_nopad(token);
    if (!bytes || bytes->size() < 8 || bytes->size() % 16 != 8) {
        return std::nullopt;
    }
    std::string_view const b = *bytes;
    std::uint64_t const checksum = get_u64(b);
    causal_context out;
    std::uint64_t check = 0;
    for (std::size_t off = 8; off < b.size(); off += 16) {
        std::uint64_t const n = get_u64(b.substr(off));
        std::uint64_t const t = get_u64(b.substr(off + 8));
        out.clock[n] = t;
    }
    for (auto const& [n, t] : out.clock) {
        check ^= n ^ t;
    }
    if (check != checksum) {
        return std::nullopt;
    }
    return out;
}

} // namespace garage::model
