#include <garage/util/config.hpp>

// Use the compiled toml++ that //third_party:tomlplusplus links (-ltomlplusplus) instead of
// instantiating the whole parser in this translation unit (4.6 s against 1.2 s to compile).
#ifndef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 0
#endif
#ifndef TOML_SHARED_LIB
#define TOML_SHARED_LIB 1
#endif
#include <toml++/toml.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

namespace garage::util {
namespace {

// ---------------------------------------------------------------------------------------------
// Small text helpers

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

/// A "word" character of Rust's regex `\w`, approximated: ASCII alphanumerics, `_`, and any
/// byte of a multi-byte UTF-8 sequence (letters such as `μ`).
bool is_word(char c) noexcept
{
    auto const u = static_cast<unsigned char>(c);
    return is_digit(c) || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u >= 0x80;
}

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

/// True when `prefix` is a prefix of `word` (Rust `word.starts_with(prefix)`).
bool is_prefix_of(std::string_view prefix, std::string_view word) noexcept
{
    return word.substr(0, prefix.size()) == prefix;
}

bool is_hex_secret(std::string_view s) noexcept
{
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

// ---------------------------------------------------------------------------------------------
// Duration parsing (the semantics of the parse_duration 2.1 crate)

using i128 = __int128;
constexpr i128 duration_bound = i128{1} << 120; // magnitudes beyond this are out of range

std::optional<i128> checked_mul(i128 a, i128 b) noexcept
{
    i128 r = 0;
    if (__builtin_mul_overflow(a, b, &r) || r > duration_bound || r < -duration_bound) {
        return std::nullopt;
    }
    return r;
}

std::optional<i128> checked_add(i128 a, i128 b) noexcept
{
    i128 r = a + b; // both are bounded by 2^120: no overflow
    if (r > duration_bound || r < -duration_bound) {
        return std::nullopt;
    }
    return r;
}

/// `v * 10^exp`, truncating toward zero when `exp` is negative.
std::optional<i128> scale_pow10(i128 v, long exp) noexcept
{
    for (long i = 0; i < exp && v != 0; ++i) {
        auto m = checked_mul(v, 10);
        if (!m) {
            return std::nullopt;
        }
        v = *m;
    }
    for (long i = 0; i < -exp && v != 0; ++i) {
        v /= 10;
    }
    return v;
}

/// Parses a run of decimal digits (optionally preceded by '-') into a bounded integer.
std::optional<i128> parse_digits(std::string_view s) noexcept
{
    bool const negative = !s.empty() && s.front() == '-';
    if (negative) {
        s.remove_prefix(1);
    }
    i128 v = 0;
    for (char c : s) {
        auto m = checked_mul(v, 10);
        if (!m) {
            return std::nullopt;
        }
        v = *m + (c - '0');
    }
    return negative ? -v : v;
}

/// Nanoseconds per unit, for the unit spellings the parse_duration crate recognises.
std::optional<i128> unit_nanoseconds(std::string_view unit)
{
    constexpr i128 ns = 1;
    constexpr i128 us = 1000 * ns;
    constexpr i128 ms = 1000 * us;
    constexpr i128 s = 1000 * ms;
    auto const u = ascii_lower(unit);
    auto const starts = [&](std::string_view p) { return is_prefix_of(p, u); };
    auto const prefix_of = [&](std::string_view word) { return is_prefix_of(u, word); };
    if (starts("n") && (prefix_of("nanoseconds") || prefix_of("nsecs"))) {
        return ns;
    }
    if ((starts("mic") && prefix_of("microseconds")) || (starts("u") && prefix_of("usecs")) ||
        (starts("\xce\xbc") && prefix_of("\xce\xbcsecs"))) {
        return us;
    }
    if ((starts("mil") && prefix_of("milliseconds")) || (starts("ms") && prefix_of("msecs"))) {
        return ms;
    }
    if (starts("s") && (prefix_of("seconds") || prefix_of("secs"))) {
        return s;
    }
    if ((starts("min") || unit.starts_with('m')) && (prefix_of("minutes") || prefix_of("mins"))) {
        return 60 * s;
    }
    if (starts("h") && (prefix_of("hours") || prefix_of("hrs"))) {
        return 3'600 * s;
    }
    if (starts("d") && prefix_of("days")) {
        return 86'400 * s;
    }
    if (starts("w") && prefix_of("weeks")) {
        return 604'800 * s;
    }
    if ((starts("mo") || unit.starts_with('M')) && prefix_of("months")) {
        return 2'629'746 * s;
    }
    if (starts("y") && (prefix_of("years") || prefix_of("yrs"))) {
        return 31'556'952 * s;
    }
    return std::nullopt;
}

failure duration_error(std::string msg)
{
    return failure(error::config_invalid_value, std::move(msg));
}

/// A bare integer surrounded only by non-word characters other than '-' is a number of seconds.
std::optional<std::string_view> bare_seconds(std::string_view text) noexcept
{
    auto const junk = [](char c) { return !is_word(c) && c != '-'; };
    std::size_t i = 0;
    while (i < text.size() && junk(text[i])) {
        ++i;
    }
    std::size_t const start = i;
    if (i < text.size() && text[i] == '-') {
        ++i;
    }
    std::size_t const digits = i;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    if (i == digits) {
        return std::nullopt;
    }
    std::size_t const end = i;
    while (i < text.size() && junk(text[i])) {
        ++i;
    }
    if (i != text.size()) {
        return std::nullopt;
    }
    return text.substr(start, end - start);
}

} // namespace

result<std::chrono::nanoseconds> parse_duration(std::string_view text)
{
    constexpr i128 ns_per_s = 1'000'000'000;
    i128 total = 0;
    if (auto bare = bare_seconds(text)) {
        auto v = parse_digits(*bare);
        auto ns = v ? checked_mul(*v, ns_per_s) : std::nullopt;
        if (!ns) {
            return duration_error(fmt::format("duration \"{}\" is out of range", text));
        }
        total = *ns;
    } else {
        bool found = false;
        std::size_t pos = 0;
        auto const n = text.size();
        for (;;) {
            std::size_t i = pos;
            while (i < n && !(is_digit(text[i]) || (text[i] == '-' && i + 1 < n && is_digit(text[i + 1])))) {
                ++i;
            }
            if (i == n) {
                break;
            }
            found = true;
            std::size_t j = i + (text[i] == '-' ? 1 : 0);
            while (j < n && is_digit(text[j])) {
                ++j;
            }
            auto const int_part = text.substr(i, j - i);
            std::string_view dec_part;
            if (j < n && text[j] == '.') {
                std::size_t const d = ++j;
                while (j < n && is_digit(text[j])) {
                    ++j;
                }
                dec_part = text.substr(d, j - d);
            }
            std::optional<long> exponent;
            if (j < n && (text[j] == 'e' || text[j] == 'E')) {
                std::size_t k = j + 1;
                bool const exp_negative = k < n && text[k] == '-';
                if (k < n && (text[k] == '-' || text[k] == '+')) {
                    ++k;
                }
                if (k < n && is_digit(text[k])) {
                    long e = 0;
                    while (k < n && is_digit(text[k])) {
                        e = std::min(e * 10 + (text[k] - '0'), 1'000'000L);
                        ++k;
                    }
                    exponent = exp_negative ? -e : e;
                    j = k;
                }
            }
            std::size_t k = j;
            while (k < n && !is_word(text[k])) {
                ++k;
            }
            std::size_t u = k;
            while (u < n && is_word(text[u]) && !is_digit(text[u])) {
                ++u;
            }
            if (u == k) {
                return duration_error(fmt::format("no unit found for the value \"{}\" in duration \"{}\"",
                                                  text.substr(i, j - i), text));
            }
            auto const unit = text.substr(k, u - k);
            pos = u;
            auto const unit_ns = unit_nanoseconds(unit);
            if (!unit_ns) {
                return duration_error(
                    fmt::format("\"{}\" is not a known unit in duration \"{}\"", unit, text));
            }
            // value = (int . dec) * 10^exp * unit, truncated toward zero to whole nanoseconds.
            auto mantissa = parse_digits(int_part);
            auto const scale = static_cast<long>(dec_part.size());
            if (mantissa && scale > 0) {
                mantissa = scale_pow10(*mantissa, scale);
                auto const dec = parse_digits(dec_part);
                mantissa = (mantissa && dec) ? checked_add(*mantissa, *dec) : std::nullopt;
            }
            auto term = mantissa ? checked_mul(*mantissa, *unit_ns) : std::nullopt;
            if (term) {
                term = scale_pow10(*term, exponent.value_or(0) - scale);
            }
            auto const sum = term ? checked_add(total, *term) : std::nullopt;
            if (!sum) {
                return duration_error(fmt::format("duration \"{}\" is out of range", text));
            }
            total = *sum;
        }
        if (!found) {
            return duration_error(fmt::format("no value found in duration \"{}\"", text));
        }
    }
    if (total < 0) {
        return duration_error(fmt::format("duration \"{}\" is negative", text));
    }
    if (total > std::numeric_limits<std::int64_t>::max()) {
        return duration_error(fmt::format("duration \"{}\" is out of range", text));
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

result<std::uint64_t> parse_capacity(std::string_view text)
{
    // A plain unsigned integer (Rust's u64 parser also takes a leading '+').
    {
        auto digits = text;
        if (!digits.empty() && digits.front() == '+') {
            digits.remove_prefix(1);
        }
        std::uint64_t v = 0;
        auto const [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (!digits.empty() && digits.front() != '-' && ec == std::errc{} &&
            end == digits.data() + digits.size()) {
            return v;
        }
    }
    std::size_t i = 0;
    while (i < text.size() && (is_digit(text[i]) || text[i] == '.')) {
        ++i;
    }
    auto const number = text.substr(0, i);
    double value = 0;
    auto const [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || ec != std::errc{} || end != number.data() + number.size()) {
        return failure(error::config_invalid_value, fmt::format("invalid capacity value \"{}\"", text));
    }
    auto suffix = text.substr(i);
    while (!suffix.empty() && is_space(suffix.front())) {
        suffix.remove_prefix(1);
    }
    struct unit {
        std::string_view a, b;
        std::uint64_t factor;
    };
    static constexpr unit units[] = {
        {"b", "b", 1},
        {"k", "kb", 1'000},
        {"m", "mb", 1'000'000},
        {"g", "gb", 1'000'000'000},
        {"t", "tb", 1'000'000'000'000},
        {"p", "pb", 1'000'000'000'000'000},
        {"ki", "kib", std::uint64_t{1} << 10},
        {"mi", "mib", std::uint64_t{1} << 20},
        {"gi", "gib", std::uint64_t{1} << 30},
        {"ti", "tib", std::uint64_t{1} << 40},
        {"pi", "pib", std::uint64_t{1} << 50},
    };
    auto const lower = ascii_lower(suffix);
    auto const* found = std::find_if(std::begin(units), std::end(units),
                                     [&](unit const& u) { return lower == u.a || lower == u.b; });
    if (found == std::end(units)) {
        return failure(error::config_invalid_value,
                       fmt::format("invalid capacity value \"{}\": unknown unit \"{}\"", text, suffix));
    }
    double const bytes = value * static_cast<double>(found->factor);
    if (!(bytes < 18446744073709551616.0)) {
        return failure(error::config_invalid_value, fmt::format("capacity value \"{}\" out of bound", text));
    }
    return static_cast<std::uint64_t>(bytes);
}

std::string_view to_string(consistency_mode m) noexcept
{
    switch (m) {
    case consistency_mode::consistent:
        return "consistent";
    case consistency_mode::degraded:
        return "degraded";
    case consistency_mode::dangerous:
        return "dangerous";
    }
    return "consistent";
}

std::string_view to_string(db_engine e) noexcept
{
    switch (e) {
    case db_engine::lmdb:
        return "lmdb";
    case db_engine::sqlite:
        return "sqlite";
    }
    return "lmdb";
}

std::optional<consistency_mode> parse_consistency_mode(std::string_view text) noexcept
{
    for (auto m : {consistency_mode::consistent, consistency_mode::degraded, consistency_mode::dangerous}) {
        if (text == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

result<db_engine> parse_db_engine(std::string_view text)
{
    if (text == "lmdb" || text == "heed") {
        return db_engine::lmdb;
    }
    if (text == "sqlite" || text == "sqlite3" || text == "rusqlite") {
        return db_engine::sqlite;
    }
    if (text == "sled") {
        return failure(
            error::config_invalid_value,
            "Sled is no longer supported as a database engine. Converting your old metadata db can be "
            "done using an older Garage binary (e.g. v0.9.4).");
    }
    return failure(error::config_invalid_value,
                   fmt::format("Invalid DB engine: {} (options are: lmdb, sqlite)", text));
}

std::string socket_address::to_string() const
{
    if (ip.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", ip, port);
    }
    return fmt::format("{}:{}", ip, port);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Addresses

std::optional<std::uint16_t> parse_port(std::string_view s) noexcept
{
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) {
        return std::nullopt;
    }
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(v);
}

bool is_ip(std::string const& ip, int family) noexcept
{
    unsigned char buf[16];
    return ::inet_pton(family, ip.c_str(), buf) == 1;
}

/// Rust's `SocketAddr` syntax: `a.b.c.d:port` or `[v6]:port`.
std::optional<socket_address> parse_socket_address(std::string_view s)
{
    if (s.starts_with('[')) {
        auto const close = s.find(']');
        if (close == std::string_view::npos || s.substr(close + 1, 1) != ":") {
            return std::nullopt;
        }
        std::string ip(s.substr(1, close - 1));
        auto port = parse_port(s.substr(close + 2));
        if (!port || !is_ip(ip, AF_INET6)) {
            return std::nullopt;
        }
        return socket_address{std::move(ip), *port};
    }
    auto const colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::string ip(s.substr(0, colon));
    auto port = parse_port(s.substr(colon + 1));
    if (!port || !is_ip(ip, AF_INET)) {
        return std::nullopt;
    }
    return socket_address{std::move(ip), *port};
}

/// `ip/prefix_length` (IPv4 up to 32, IPv6 up to 128).
bool is_cidr(std::string_view s)
{
    auto const slash = s.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    std::string ip(s.substr(0, slash));
    auto const len = s.substr(slash + 1);
    unsigned bits = 0;
    auto const [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (len.empty() || ec != std::errc{} || end != len.data() + len.size()) {
        return false;
    }
    return (is_ip(ip, AF_INET) && bits <= 32) || (is_ip(ip, AF_INET6) && bits <= 128);
}

// ---------------------------------------------------------------------------------------------
// Reading the TOML tree

/// Thrown inside this file only; turned into a failure by parse_config.
struct config_exception {
    failure f;
};

[[noreturn]] void fail(error e, std::string msg)
{
    throw config_exception{failure(e, std::move(msg))};
}

std::string_view type_name(toml::node const& n) noexcept
{
    switch (n.type()) {
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
        return "a date or time";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::table:
        return "a table";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

/// What is shared while reading one file.
struct read_context {
    std::string source;
    std::vector<std::string> unknown_keys;
};

/** One TOML table being read: typed getters that record which keys were consumed, so that
    the rest can be reported as unknown. Every error names the dotted key, the file and the line. */
class table_reader {
public:
    table_reader(read_context& ctx, toml::table const& table, std::string prefix)
        : ctx_(ctx), table_(table), prefix_(std::move(prefix))
    {
    }

    std::string path(std::string_view key) const
    {
        return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
    }

    /// The node at `key` (marked as known), or nullptr.
    toml::node const* take(std::string_view key)
    {
        used_.emplace(key);
        return table_.get(key);
    }

    [[noreturn]] void missing(std::string_view key) const
    {
        auto const line = table_.source().begin.line;
        if (!prefix_.empty() && line > 0) {
            fail(error::config_missing_key,
                 fmt::format("missing required key `{}` in {} (table `{}` at line {})", path(key),
                             ctx_.source, prefix_, line));
        }
        fail(error::config_missing_key,
             fmt::format("missing required key `{}` in {}", path(key), ctx_.source));
    }

    [[noreturn]] void invalid(toml::node const& n, std::string_view key, std::string_view why) const
    {
        fail(error::config_invalid_value, fmt::format("{}:{}: invalid value for `{}`: {}", ctx_.source,
                                                      n.source().begin.line, path(key), why));
    }

    [[noreturn]] void wrong_type(toml::node const& n, std::string_view key, std::string_view expected) const
    {
        invalid(n, key, fmt::format("expected {}, found {}", expected, type_name(n)));
    }

    std::optional<std::string> opt_string(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return std::nullopt;
        }
        if (auto const* s = n->as_string()) {
            return s->get();
        }
        wrong_type(*n, key, "a string");
    }

    std::string req_string(std::string_view key)
    {
        auto v = opt_string(key);
        if (!v) {
            missing(key);
        }
        return std::move(*v);
    }

    std::optional<std::filesystem::path> opt_path(std::string_view key)
    {
        auto v = opt_string(key);
        if (!v) {
            return std::nullopt;
        }
        return std::filesystem::path(std::move(*v));
    }

    std::filesystem::path req_path(std::string_view key) { return std::filesystem::path(req_string(key)); }

    bool boolean(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return false;
        }
        if (auto const* b = n->as_boolean()) {
            return b->get();
        }
        wrong_type(*n, key, "a boolean (true or false)");
    }

    std::optional<std::uint64_t> opt_unsigned(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return std::nullopt;
        }
        auto const* i = n->as_integer();
        if (!i) {
            wrong_type(*n, key, "a non-negative integer");
        }
        if (i->get() < 0) {
            invalid(*n, key, "must not be negative");
        }
        return static_cast<std::uint64_t>(i->get());
    }

    /// A capacity: a non-negative integer (bytes) or a string such as "10M" or "256MiB".
    std::optional<std::uint64_t> opt_capacity(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return std::nullopt;
        }
        if (auto const* i = n->as_integer()) {
            if (i->get() < 0) {
                invalid(*n, key, "capacity value out of bound");
            }
            return static_cast<std::uint64_t>(i->get());
        }
        if (auto const* s = n->as_string()) {
            auto v = parse_capacity(s->get());
            if (!v) {
                invalid(*n, key, v.error().message);
            }
            return *v;
        }
        wrong_type(*n, key, "an integer or a capacity string such as \"10M\"");
    }

    std::vector<std::string> string_list(std::string_view key)
    {
        std::vector<std::string> out;
        auto const* n = take(key);
        if (!n) {
            return out;
        }
        auto const* arr = n->as_array();
        if (!arr) {
            wrong_type(*n, key, "an array of strings");
        }
        for (auto const& item : *arr) {
            auto const* s = item.as_string();
            if (!s) {
                wrong_type(item, key, "an array of strings");
            }
            out.push_back(s->get());
        }
        return out;
    }

    std::optional<socket_address> opt_socket_address(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return std::nullopt;
        }
        auto const* s = n->as_string();
        if (!s) {
            wrong_type(*n, key, "a socket address string such as \"[::]:3901\"");
        }
        auto addr = parse_socket_address(s->get());
        if (!addr) {
            invalid(
                *n, key,
                fmt::format("\"{}\" is not a socket address (expected ip:port or [ipv6]:port)", s->get()));
        }
        return addr;
    }

    std::optional<listen_address> opt_listen_address(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return std::nullopt;
        }
        auto const* s = n->as_string();
        if (!s) {
            wrong_type(*n, key, "an address string such as \"[::]:3900\" or a Unix socket path");
        }
        if (s->get().starts_with('/')) {
            return listen_address(std::filesystem::path(s->get()));
        }
        auto addr = parse_socket_address(s->get());
        if (!addr) {
            invalid(
                *n, key,
                fmt::format("\"{}\" is neither a socket address (ip:port, [ipv6]:port) nor an absolute Unix "
                            "socket path",
                            s->get()));
        }
        return listen_address(std::move(*addr));
    }

    listen_address req_listen_address(std::string_view key)
    {
        auto v = opt_listen_address(key);
        if (!v) {
            missing(key);
        }
        return std::move(*v);
    }

    /// The sub-table at `key`, or nullptr when absent; any other type is an error.
    toml::table const* opt_table(std::string_view key)
    {
        auto const* n = take(key);
        if (!n) {
            return nullptr;
        }
        if (auto const* t = n->as_table()) {
            return t;
        }
        wrong_type(*n, key, "a table");
    }

    /// Warns about, and records, every key of this table that no getter asked for.
    void finish()
    {
        for (auto const& [k, v] : table_) {
            if (used_.contains(k.str())) {
                continue;
            }
            auto name = path(k.str());
            spdlog::warn("{}:{}: unknown configuration key `{}` (ignored)", ctx_.source,
                         k.source().begin.line, name);
            ctx_.unknown_keys.push_back(std::move(name));
        }
    }

    read_context& context() const noexcept { return ctx_; }
    toml::table const& table() const noexcept { return table_; }

private:
    read_context& ctx_;
    toml::table const& table_;
    std::string prefix_;
    std::set<std::string, std::less<>> used_;
};

std::vector<data_dir_config> read_data_dirs(table_reader& top)
{
    constexpr std::string_view key = "data_dir";
    auto const* n = top.take(key);
    if (!n) {
        top.missing(key);
    }
    if (auto const* s = n->as_string()) {
        return {data_dir_config{std::filesystem::path(s->get()), std::nullopt, false}};
    }
    auto const* arr = n->as_array();
    if (!arr) {
        top.wrong_type(*n, key, "a path string or an array of { path, capacity, read_only } tables");
    }
    std::vector<data_dir_config> dirs;
    bool writable = false;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        auto const& item = *arr->get(i);
        auto const* t = item.as_table();
        if (!t) {
            top.wrong_type(item, key, "an array of { path, capacity, read_only } tables");
        }
        table_reader r(top.context(), *t, fmt::format("data_dir[{}]", i));
        data_dir_config d;
        d.path = r.req_path("path");
        auto const* cap_node = t->get("capacity");
        d.capacity = r.opt_capacity("capacity");
        d.read_only = r.boolean("read_only");
        r.finish();
        if (d.capacity && !d.read_only) {
            if (*d.capacity == 0) {
                r.invalid(*cap_node, "capacity",
                          fmt::format("data directory {} should have non-zero capacity", d.path.string()));
            }
            writable = true;
        } else if (d.capacity || !d.read_only) {
            auto const& where = cap_node ? *cap_node : item;
            r.invalid(where, d.capacity ? "capacity" : "path",
                      fmt::format("data directories in data_dir should have a capacity value or be marked "
                                  "read_only, not the case for {}",
                                  d.path.string()));
        }
        dirs.push_back(std::move(d));
    }
    if (!writable) {
        top.invalid(*n, key, "incorrect data_dir configuration, no primary writable directory specified");
    }
    return dirs;
}

std::optional<int> read_compression_level(table_reader& top)
{
    constexpr std::string_view key = "compression_level";
    auto const* n = top.take(key);
    if (!n) {
        return config::default_compression_level;
    }
    if (auto const* i = n->as_integer()) {
        if (i->get() < std::numeric_limits<int>::min() || i->get() > std::numeric_limits<int>::max()) {
            top.invalid(*n, key, "Compression level out of bound");
        }
        return static_cast<int>(i->get());
    }
    if (auto const* s = n->as_string()) {
        if (ascii_lower(s->get()) == "none") {
            return std::nullopt;
        }
        top.invalid(*n, key,
                    fmt::format("Invalid compression level: '{}', should be a number, or 'none'", s->get()));
    }
    top.wrong_type(*n, key, "an integer or 'none'");
}

void read_replication(table_reader& top, config& cfg)
{
    auto const* mode_node = top.table().get("replication_mode");
    cfg.replication_mode = top.opt_string("replication_mode");
    auto const* factor_node = top.table().get("replication_factor");
    auto const factor = top.opt_unsigned("replication_factor");
    auto const* consistency_node = top.table().get("consistency_mode");
    auto const consistency = top.opt_string("consistency_mode").value_or("consistent");

    if (cfg.replication_mode && !factor && consistency == "consistent") {
        struct legacy {
            std::string_view name;
            std::size_t factor;
            consistency_mode mode;
        };
        static constexpr legacy table[] = {
            {"1", 1, consistency_mode::consistent},          {"none", 1, consistency_mode::consistent},
            {"2", 2, consistency_mode::consistent},          {"2-dangerous", 2, consistency_mode::dangerous},
            {"3", 3, consistency_mode::consistent},          {"3-degraded", 3, consistency_mode::degraded},
            {"3-dangerous", 3, consistency_mode::dangerous},
        };
        auto const* it = std::find_if(std::begin(table), std::end(table),
                                      [&](legacy const& l) { return l.name == *cfg.replication_mode; });
        if (it == std::end(table)) {
            top.invalid(
                *mode_node, "replication_mode",
                fmt::format("Invalid replication_mode in config file: \"{}\" (expected one of none, 1, 2, "
                            "2-dangerous, 3, 3-degraded, 3-dangerous)",
                            *cfg.replication_mode));
        }
        spdlog::warn(
            "{}: legacy config option replication_mode in use. Please migrate to replication_factor and "
            "consistency_mode",
            top.context().source);
        cfg.replication_factor = it->factor;
        cfg.consistency_mode = it->mode;
        return;
    }
    if (!cfg.replication_mode && factor) {
        if (*factor < 1) {
            top.invalid(*factor_node, "replication_factor",
                        "Invalid replication_factor in config file (must be >= 1)");
        }
        auto const mode = parse_consistency_mode(consistency);
        if (!mode) {
            top.invalid(
                *consistency_node, "consistency_mode",
                fmt::format("Invalid consistency_mode in config file: \"{}\" (expected consistent, degraded "
                            "or dangerous)",
                            consistency));
        }
        cfg.replication_factor = static_cast<std::size_t>(*factor);
        cfg.consistency_mode = *mode;
        return;
    }
    if (!cfg.replication_mode && !factor) {
        top.missing("replication_factor");
    }
    top.invalid(*mode_node, "replication_mode",
                "Either the legacy replication_mode or replication_factor and consistency_mode can be set, "
                "not both.");
}

void read_consul(table_reader& top, config& cfg)
{
    auto const* t = top.opt_table("consul_discovery");
    if (!t) {
        return;
    }
    table_reader r(top.context(), *t, "consul_discovery");
    consul_discovery_config c;
    if (auto const* api_node = t->get("api")) {
        auto api = r.opt_string("api");
        if (*api == "catalog") {
            c.api = consul_api::catalog;
        } else if (*api == "agent") {
            c.api = consul_api::agent;
        } else {
            r.invalid(*api_node, "api",
                      fmt::format("\"{}\" is not a Consul API (expected catalog or agent)", *api));
        }
    }
    c.consul_http_addr = r.req_string("consul_http_addr");
    c.service_name = r.req_string("service_name");
    c.ca_cert = r.opt_path("ca_cert");
    c.client_cert = r.opt_path("client_cert");
    c.client_key = r.opt_path("client_key");
    c.token = r.opt_string("token");
    c.tls_skip_verify = r.boolean("tls_skip_verify");
    c.tags = r.string_list("tags");
    if (auto const* meta_node = r.take("meta")) {
        auto const* meta = meta_node->as_table();
        if (!meta) {
            r.wrong_type(*meta_node, "meta", "a table of strings");
        }
        for (auto const& [k, v] : *meta) {
            auto const* s = v.as_string();
            if (!s) {
                r.wrong_type(v, fmt::format("meta.{}", k.str()), "a string");
            }
            c.meta.emplace(std::string(k.str()), s->get());
        }
    }
    r.finish();
    if (c.api == consul_api::catalog && c.client_cert.has_value() != c.client_key.has_value()) {
        auto const* n = t->get(c.client_cert ? "client_cert" : "client_key");
        r.invalid(*n, c.client_cert ? "client_cert" : "client_key",
                  "Invalid Consul discovery configuration: client_cert and client_key must be set together");
    }
    cfg.consul_discovery = std::move(c);
}

void read_kubernetes(table_reader& top, config& cfg)
{
    auto const* t = top.opt_table("kubernetes_discovery");
    if (!t) {
        return;
    }
    table_reader r(top.context(), *t, "kubernetes_discovery");
    kubernetes_discovery_config k;
    k.namespace_name = r.req_string("namespace");
    k.service_name = r.req_string("service_name");
    k.skip_crd = r.boolean("skip_crd");
    r.finish();
    cfg.kubernetes_discovery = std::move(k);
}

void read_apis(table_reader& top, config& cfg)
{
    auto const* s3 = top.opt_table("s3_api");
    if (!s3) {
        top.missing("s3_api");
    }
    {
        table_reader r(top.context(), *s3, "s3_api");
        cfg.s3_api.api_bind_addr = r.opt_listen_address("api_bind_addr");
        cfg.s3_api.s3_region = r.req_string("s3_region");
        cfg.s3_api.root_domain = r.opt_string("root_domain");
        r.finish();
    }
    if (auto const* k2v = top.opt_table("k2v_api")) {
        table_reader r(top.context(), *k2v, "k2v_api");
        cfg.k2v_api = k2v_api_config{r.req_listen_address("api_bind_addr")};
        r.finish();
    }
    if (auto const* web = top.opt_table("s3_web")) {
        table_reader r(top.context(), *web, "s3_web");
        s3_web_config w;
        w.bind_addr = r.req_listen_address("bind_addr");
        w.root_domain = r.req_string("root_domain");
        w.add_host_to_metrics = r.boolean("add_host_to_metrics");
        r.finish();
        cfg.s3_web = std::move(w);
    }
    if (auto const* admin = top.opt_table("admin")) {
        table_reader r(top.context(), *admin, "admin");
        cfg.admin.api_bind_addr = r.opt_listen_address("api_bind_addr");
        cfg.admin.metrics_token = r.opt_string("metrics_token");
        cfg.admin.metrics_token_file = r.opt_path("metrics_token_file");
        cfg.admin.admin_token = r.opt_string("admin_token");
        cfg.admin.admin_token_file = r.opt_path("admin_token_file");
        cfg.admin.trace_sink = r.opt_string("trace_sink");
        r.finish();
    }
}

void read_top_level(table_reader& top, config& cfg)
{
    cfg.metadata_dir = top.req_path("metadata_dir");
    cfg.data_dir = read_data_dirs(top);
    cfg.metadata_snapshots_dir =
        top.opt_path("metadata_snapshots_dir").value_or(cfg.metadata_dir / "snapshots");
    cfg.metadata_fsync = top.boolean("metadata_fsync");
    cfg.data_fsync = top.boolean("data_fsync");
    cfg.disable_scrub = top.boolean("disable_scrub");
    cfg.use_local_tz = top.boolean("use_local_tz");

    if (auto const* n = top.table().get("metadata_auto_snapshot_interval")) {
        auto text = top.opt_string("metadata_auto_snapshot_interval");
        auto d = parse_duration(*text);
        if (!d) {
            top.invalid(*n, "metadata_auto_snapshot_interval", d.error().message);
        }
        auto const secs = std::chrono::duration_cast<std::chrono::seconds>(*d);
        if (secs < config::min_auto_snapshot_interval) {
            top.invalid(*n, "metadata_auto_snapshot_interval",
                        "metadata_auto_snapshot_interval too small or negative (the minimum is 10 minutes)");
        }
        cfg.metadata_auto_snapshot_interval = secs;
    }

    if (auto const* n = top.table().get("db_engine")) {
        auto text = top.opt_string("db_engine");
        auto e = parse_db_engine(*text);
        if (!e) {
            top.invalid(*n, "db_engine", e.error().message);
        }
        cfg.db_engine = *e;
    }
    if (auto v = top.opt_capacity("lmdb_map_size"); v && *v != 0) {
        cfg.lmdb_map_size = *v - *v % 4096;
        if (cfg.lmdb_map_size == 0) {
            top.invalid(*top.table().get("lmdb_map_size"), "lmdb_map_size",
                        "must be 0 (the default) or at least 4096 bytes");
        }
    }
    cfg.block_size = top.opt_capacity("block_size").value_or(config::default_block_size);
    if (cfg.block_size == 0) {
        top.invalid(*top.table().get("block_size"), "block_size", "must be positive");
    }
    cfg.block_ram_buffer_max =
        top.opt_capacity("block_ram_buffer_max").value_or(config::default_block_ram_buffer_max);
    cfg.compression_level = read_compression_level(top);
    if (auto v = top.opt_capacity("small_block_max_size")) {
        cfg.small_block_max_size = *v;
        if (*v > cfg.block_size) {
            top.invalid(*top.table().get("small_block_max_size"), "small_block_max_size",
                        "must not exceed block_size");
        }
    } else {
        cfg.small_block_max_size = std::min(config::default_small_block_max_size, cfg.block_size);
    }

    read_replication(top, cfg);

    cfg.allow_world_readable_secrets = top.boolean("allow_world_readable_secrets");
    // Kept as written for now; resolve_secrets() applies the overrides and validates it.
    cfg.rpc_secret = top.opt_string("rpc_secret").value_or("");
    cfg.rpc_secret_file = top.opt_path("rpc_secret_file");
    auto bind = top.opt_socket_address("rpc_bind_addr");
    if (!bind) {
        top.missing("rpc_bind_addr");
    }
    cfg.rpc_bind_addr = std::move(*bind);
    cfg.rpc_bind_outgoing = top.boolean("rpc_bind_outgoing");
    cfg.rpc_public_addr = top.opt_string("rpc_public_addr");
    cfg.rpc_public_addr_subnet = top.opt_string("rpc_public_addr_subnet");
    if (cfg.rpc_public_addr_subnet && !is_cidr(*cfg.rpc_public_addr_subnet)) {
        top.invalid(*top.table().get("rpc_public_addr_subnet"), "rpc_public_addr_subnet",
                    fmt::format("\"{}\" is not a subnet in CIDR notation (e.g. 10.0.0.0/8 or fc00::/7)",
                                *cfg.rpc_public_addr_subnet));
    }
    if (auto v = top.opt_unsigned("rpc_ping_timeout_msec")) {
        cfg.rpc_ping_timeout_msec =
            std::chrono::milliseconds(static_cast<std::int64_t>(std::min<std::uint64_t>(
                *v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))));
    }
    if (auto v = top.opt_unsigned("rpc_timeout_msec")) {
        cfg.rpc_timeout_msec = std::chrono::milliseconds(static_cast<std::int64_t>(std::min<std::uint64_t>(
            *v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))));
    }
    cfg.bootstrap_peers = top.string_list("bootstrap_peers");

    read_consul(top, cfg);
    read_kubernetes(top, cfg);
    read_apis(top, cfg);
    cfg.allow_punycode = top.boolean("allow_punycode");
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Reads a secret file, refusing it when group or others may read it (unless allowed).
std::string read_secret_file(std::filesystem::path const& path, bool allow_world_readable,
                             std::string_view what)
{
    if (!allow_world_readable) {
        struct ::stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            fail(error::io_error,
                 fmt::format("cannot read {} file {}: {}", what, path.string(), std::strerror(errno)));
        }
        if ((st.st_mode & 0077) != 0) {
            fail(error::insecure_secret_file,
                 fmt::format(
                     "File {} is world-readable! (mode: 0{:o}, expected 0600)\nRefusing to start until this "
                     "is fixed, or environment variable GARAGE_ALLOW_WORLD_READABLE_SECRETS is set to true.",
                     path.string(), st.st_mode & 07777));
        }
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail(error::io_error,
             fmt::format("cannot read {} file {}: {}", what, path.string(), std::strerror(errno)));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        fail(error::io_error, fmt::format("cannot read {} file {}", what, path.string()));
    }
    while (!text.empty() && is_space(text.back())) {
        text.pop_back();
    }
    return text;
}

/// One secret as the file and the overrides give it (Garage's `fill_secret` inputs).
struct secret_sources {
    std::string_view name;                              ///< dotted key, e.g. `admin.admin_token`
    std::string_view key;                               ///< key within its table, e.g. `admin_token`
    toml::table const* table;                           ///< the table holding it, if any
    std::optional<std::string> file_value;              ///< `x` in the file
    std::optional<std::filesystem::path> file_path;     ///< `x_file` in the file
    std::optional<std::string> override_value;          ///< e.g. GARAGE_ADMIN_TOKEN
    std::optional<std::filesystem::path> override_file; ///< e.g. GARAGE_ADMIN_TOKEN_FILE
    std::string_view env_name;                          ///< e.g. `GARAGE_ADMIN_TOKEN`
};

/// A resolved secret and where it came from, for messages (never the value itself).
struct resolved_secret {
    std::optional<std::string> value;
    std::string origin;
};

unsigned line_of(toml::table const* table, std::string_view key)
{
    auto const* n = table ? table->get(key) : nullptr;
    return n ? n->source().begin.line : 0;
}

/** Garage's `fill_secret`: an override (value or file) replaces the file's pair; otherwise the
    file's `x_file` is read, and setting both `x` and `x_file` is an error. */
resolved_secret resolve_secret(read_context const& ctx, secret_sources s, bool allow_world_readable)
{
    bool const in_file = s.file_value || s.file_path;
    if (s.override_value && s.override_file) {
        fail(error::config_invalid_value,
             fmt::format("only one of {} and {}_FILE can be set (for `{}`)", s.env_name, s.env_name, s.name));
    }
    if (s.override_value) {
        if (in_file) {
            spdlog::debug(
                "Overriding secret `{}` using value specified using CLI argument or environment variable.",
                s.name);
        }
        return {std::move(s.override_value), std::string(s.env_name)};
    }
    if (s.override_file) {
        if (in_file) {
            spdlog::debug(
                "Overriding secret `{}` using file specified using CLI argument or environment variable.",
                s.name);
        }
        return {read_secret_file(*s.override_file, allow_world_readable, s.name),
                fmt::format("{}_FILE ({})", s.env_name, s.override_file->string())};
    }
    if (s.file_path) {
        if (s.file_value) {
            fail(error::config_invalid_value,
                 fmt::format("{}:{}: only one of `{}` and `{}_file` can be set", ctx.source,
                             line_of(s.table, fmt::format("{}_file", s.key)), s.name, s.name));
        }
        return {read_secret_file(*s.file_path, allow_world_readable, s.name),
                fmt::format("{}_file {}", s.name, s.file_path->string())};
    }
    return {std::move(s.file_value), fmt::format("{}:{}", ctx.source, line_of(s.table, s.key))};
}

void resolve_secrets(read_context const& ctx, toml::table const& root, config& cfg, secret_overrides const& o)
{
    bool const allow = o.allow_world_readable_secrets.value_or(cfg.allow_world_readable_secrets);
    cfg.allow_world_readable_secrets = allow;

    std::optional<std::string> file_secret;
    if (root.get("rpc_secret") != nullptr) {
        file_secret = cfg.rpc_secret;
    }
    auto secret = resolve_secret(ctx,
                                 {"rpc_secret", "rpc_secret", &root, std::move(file_secret),
                                  cfg.rpc_secret_file, o.rpc_secret, o.rpc_secret_file, "GARAGE_RPC_SECRET"},
                                 allow);
    if (!secret.value) {
        fail(error::config_missing_key,
             fmt::format("missing required key `rpc_secret` in {} (set rpc_secret or rpc_secret_file, or the "
                         "environment variable GARAGE_RPC_SECRET or GARAGE_RPC_SECRET_FILE)",
                         ctx.source));
    }
    if (!is_hex_secret(*secret.value)) {
        fail(
            error::config_invalid_value,
            fmt::format("{}: invalid value for `rpc_secret`: expected 32 bytes of random hex (64 hexadecimal "
                        "digits, e.g. from `openssl rand -hex 32`)",
                        secret.origin));
    }
    cfg.rpc_secret = std::move(*secret.value);

    auto const* admin = root.get("admin") ? root.get("admin")->as_table() : nullptr;
    cfg.admin.admin_token =
        resolve_secret(ctx,
                       {"admin.admin_token", "admin_token", admin, cfg.admin.admin_token,
                        cfg.admin.admin_token_file, o.admin_token, o.admin_token_file, "GARAGE_ADMIN_TOKEN"},
                       allow)
            .value;
    cfg.admin.metrics_token = resolve_secret(ctx,
                                             {"admin.metrics_token", "metrics_token", admin,
                                              cfg.admin.metrics_token, cfg.admin.metrics_token_file,
                                              o.metrics_token, o.metrics_token_file, "GARAGE_METRICS_TOKEN"},
                                             allow)
                                  .value;
}

std::optional<std::string> env(char const* name)
{
    char const* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        return std::nullopt;
    }
    return std::string(v);
}

std::optional<std::filesystem::path> env_path(char const* name)
{
    auto v = env(name);
    if (!v) {
        return std::nullopt;
    }
    return std::filesystem::path(std::move(*v));
}

} // namespace

result<secret_overrides> secret_overrides::from_environment()
{
    secret_overrides o;
    if (auto v = env("GARAGE_ALLOW_WORLD_READABLE_SECRETS")) {
        auto const lower = ascii_lower(*v);
        if (lower == "true" || lower == "1") {
            o.allow_world_readable_secrets = true;
        } else if (lower == "false" || lower == "0") {
            o.allow_world_readable_secrets = false;
        } else {
            return failure(
                error::config_invalid_value,
                fmt::format("invalid value for GARAGE_ALLOW_WORLD_READABLE_SECRETS: \"{}\" (expected true "
                            "or false)",
                            *v));
        }
    }
    o.rpc_secret = env("GARAGE_RPC_SECRET");
    o.rpc_secret_file = env_path("GARAGE_RPC_SECRET_FILE");
    o.admin_token = env("GARAGE_ADMIN_TOKEN");
    o.admin_token_file = env_path("GARAGE_ADMIN_TOKEN_FILE");
    o.metrics_token = env("GARAGE_METRICS_TOKEN");
    o.metrics_token_file = env_path("GARAGE_METRICS_TOKEN_FILE");
    return o;
}

result<config> parse_config(std::string_view toml_text, std::string_view source_name,
                            secret_overrides const& overrides)
{
    read_context ctx{std::string(source_name), {}};
    try {
        toml::table root;
        try {
            root = toml::parse(toml_text, std::string_view(source_name));
        } catch (toml::parse_error const& e) {
            auto const& pos = e.source().begin;
            return failure(error::config_parse_error,
                           fmt::format("{}:{}:{}: {}", ctx.source, pos.line, pos.column, e.description()));
        }
        config cfg;
        table_reader top(ctx, root, "");
        read_top_level(top, cfg);
        top.finish();
        resolve_secrets(ctx, root, cfg, overrides);
        cfg.unknown_keys = std::move(ctx.unknown_keys);
        return cfg;
    } catch (config_exception& e) {
        return std::move(e.f);
    }
}

result<config> parse_config(std::string_view toml_text, std::string_view source_name)
{
    auto overrides = secret_overrides::from_environment();
    if (!overrides) {
        return overrides.error();
    }
    return parse_config(toml_text, source_name, *overrides);
}

result<config> read_config(std::filesystem::path const& path, secret_overrides const& overrides)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return failure(error::io_error, fmt::format("cannot read configuration file {}: {}", path.string(),
                                                    std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return failure(error::io_error, fmt::format("cannot read configuration file {}", path.string()));
    }
    return parse_config(text.str(), path.string(), overrides);
}

result<config> read_config(std::filesystem::path const& path)
{
    auto overrides = secret_overrides::from_environment();
    if (!overrides) {
        return overrides.error();
    }
    return read_config(path, *overrides);
}

} // namespace garage::util
