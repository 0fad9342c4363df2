#include <garage/api/common/request_view.hpp>

namespace garage::api {
namespace {

constexpr char lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

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

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept
{
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::optional<std::string_view> find_header(std::span<header_field const> headers,
                                            std::string_view name) noexcept
{
    for (auto const& h : headers) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

std::size_t count_header(std::span<header_field const> headers, std::string_view name) noexcept
{
    std::size_t n = 0;
    for (auto const& h : headers) {
        if (iequals(h.name, name)) {
            ++n;
        }
    }
    return n;
}

std::string percent_decode(std::string_view text, bool plus_as_space)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            int const hi = hex_value(text[i + 1]);
            int const lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_as_space && c == '+' ? ' ' : c);
    }
    return out;
}

std::vector<query_param> parse_query(std::string_view raw_query)
{
    std::vector<query_param> out;
    while (!raw_query.empty()) {
        auto const amp = raw_query.find('&');
        std::string_view const segment = raw_query.substr(0, amp);
        raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
        if (segment.empty()) {
            continue;
        }
        auto const eq = segment.find('=');
        if (eq == std::string_view::npos) {
            out.push_back({percent_decode(segment, true), std::string{}});
        } else {
            out.push_back(
                {percent_decode(segment.substr(0, eq), true), percent_decode(segment.substr(eq + 1), true)});
        }
    }
    return out;
}

} // namespace garage::api
