#include <garage/model/bucket_alias.hpp>

#include <algorithm>

namespace garage::model {
namespace {

/// Four decimal numbers of at most 255, without leading zeros, separated by dots.
bool is_ipv4_address(std::string_view s) noexcept
{
    int parts = 0;
    while (true) {
        auto const dot = s.find('.');
        auto const part = s.substr(0, dot);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0') ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        int value = 0;
        for (char c : part) {
            value = value * 10 + (c - '0');
        }
        if (value > 255) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        s.remove_prefix(dot + 1);
    }
    return parts == 4;
}

} // namespace

bool is_valid_bucket_name(std::string_view n, bool allow_punycode) noexcept
{
    if (n.size() < 3 || n.size() > 63) {
        return false;
    }
    auto const allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    };
    if (!std::all_of(n.begin(), n.end(), allowed)) {
        return false;
    }
    auto const edge = [](char c) { return c == '-' || c == '.'; };
    if (edge(n.front()) || edge(n.back())) {
        return false;
    }
    if (is_ipv4_address(n)) {
        return false;
    }
    if (!allow_punycode && (n.starts_with("xn--") || n.find(".xn--") != std::string_view::npos)) {
        return false;
    }
    return !n.ends_with("-s3alias");
}

} // namespace garage::model
