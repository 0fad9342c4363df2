#include <garage/api/s3/cors.hpp>

#include <algorithm>
#include <cctype>

namespace garage::api::s3 {

namespace {

bool same_char(char a, char b, bool case_insensitive) noexcept
{
    if (case_insensitive) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    }
    return a == b;
}

std::string join(std::span<std::string const> items)
{
    std::string out;
    for (auto const& s : items) {
        if (!out.empty()) {
            out += ", ";
        }
        out += s;
    }
    return out;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

bool cors_wildcard_match(std::string_view pattern, std::string_view value, bool case_insensitive)
{
    // Greedy matching with backtracking to the last star: linear in practice, no recursion.
    std::size_t p = 0;
    std::size_t v = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_v = 0;
    while (v < value.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_v = v;
        } else if (p < pattern.size() && same_char(pattern[p], value[v], case_insensitive)) {
            ++p;
            ++v;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            v = ++star_v;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

std::vector<std::string_view> split_header_list(std::string_view value)
{
    std::vector<std::string_view> out;
    while (!value.empty()) {
        auto const comma = value.find(',');
        auto item = trim(value.substr(0, comma));
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return out;
}

bool cors_rule_matches(model::cors_rule const& rule, cors_request const& req)
{
    bool const origin_ok = std::any_of(rule.allow_origins.begin(), rule.allow_origins.end(),
                                       [&](auto const& o) { return cors_wildcard_match(o, req.origin); });
    if (!origin_ok) {
        return false;
    }
    bool const method_ok = std::any_of(rule.allow_methods.begin(), rule.allow_methods.end(),
                                       [&](auto const& m) { return m == "*" || m == req.method; });
    if (!method_ok) {
        return false;
    }
    return std::all_of(req.headers.begin(), req.headers.end(), [&](std::string_view h) {
        return std::any_of(rule.allow_headers.begin(), rule.allow_headers.end(),
                           [&](auto const& a) { return cors_wildcard_match(a, h, true); });
    });
}

model::cors_rule const* find_cors_rule(std::span<model::cors_rule const> rules, cors_request const& req)
{
    for (auto const& r : rules) {
        if (cors_rule_matches(r, req)) {
            return &r;
        }
    }
    return nullptr;
}

cors_header_list cors_response_headers(model::cors_rule const& rule, cors_request const& req, bool preflight)
{
    cors_header_list out;
    bool const any_origin =
        std::find(rule.allow_origins.begin(), rule.allow_origins.end(), "*") != rule.allow_origins.end();
    out.emplace_back("Access-Control-Allow-Origin", any_origin ? std::string("*") : std::string(req.origin));
    if (!rule.allow_methods.empty()) {
        out.emplace_back("Access-Control-Allow-Methods", join(rule.allow_methods));
    }
    if (preflight && !req.headers.empty()) {
        std::string hs;
        for (auto h : req.headers) {
            if (!hs.empty()) {
                hs += ", ";
            }
            hs += h;
        }
        out.emplace_back("Access-Control-Allow-Headers", std::move(hs));
    } else if (!rule.allow_headers.empty()) {
        out.emplace_back("Access-Control-Allow-Headers", join(rule.allow_headers));
    }
    if (!rule.expose_headers.empty()) {
        out.emplace_back("Access-Control-Expose-Headers", join(rule.expose_headers));
    }
    if (preflight && rule.max_age_seconds) {
        out.emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
    }
    out.emplace_back("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
    return out;
}

} // namespace garage::api::s3
