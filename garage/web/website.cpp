#include <garage/web/website.hpp>

#include <garage/api/common/sigv4.hpp>

#include <boost/beast/http/status.hpp>

#include <cctype>

namespace garage::web {

namespace {

api::s3::s3_error bad_request(std::string msg)
{
    return api::s3::s3_error::invalid_request("Bad request: " + std::move(msg));
}

char lower(char c)
{
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int hex_value(char c)
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

/// The path of a URL, encoded for a `Location` header (`/` kept).
std::string encode_key(std::string_view key)
{
    return "/" + api::sigv4::uri_encode(key, false);
}

std::string html_escape(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

} // namespace

web_result<std::string> host_to_bucket(std::string_view host, std::string_view root_domain)
{
    while (!host.empty() && (host.front() == ' ' || host.front() == '\t')) {
        host.remove_prefix(1);
    }
    while (!host.empty() && (host.back() == ' ' || host.back() == '\t')) {
        host.remove_suffix(1);
    }
    if (host.empty()) {
        return bad_request("Host header required");
    }
    std::string_view name = host;
    if (name.front() == '[') { // an IPv6 literal, maybe with a port
        auto const close = name.find(']');
        if (close == std::string_view::npos) {
            return bad_request("Invalid Host header");
        }
        auto const rest = name.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return bad_request("Invalid Host header");
        }
        name = name.substr(0, close + 1);
    } else if (auto const colon = name.find(':'); colon != std::string_view::npos) {
        auto const port = name.substr(colon + 1);
        if (port.find(':') != std::string_view::npos) {
            return bad_request("Invalid Host header");
        }
        for (char c : port) {
            if (c < '0' || c > '9') {
                return bad_request("Invalid Host header");
            }
        }
        name = name.substr(0, colon);
    }
    if (name.empty()) {
        return bad_request("Invalid Host header");
    }
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        auto const u = static_cast<unsigned char>(c);
        bool const ok =
            std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
        if (!ok) {
            return bad_request("Invalid Host header");
        }
        out += lower(c);
    }
    std::string root;
    for (char c : root_domain) {
        root += lower(c);
    }
    while (!root.empty() && root.front() == '.') {
        root.erase(0, 1);
    }
    if (!root.empty() && out.size() > root.size() + 1 && out.ends_with(root) &&
        out[out.size() - root.size() - 1] == '.') {
        out.resize(out.size() - root.size() - 1);
    }
    return web_result<std::string>(boost::system::in_place_value, std::move(out));
}

web_result<path_key> path_to_key(std::string_view raw_path, std::string_view index)
{
    if (raw_path.empty() || raw_path.front() != '/') {
        return bad_request("Path must start with a / (slash)");
    }
    std::string decoded;
    decoded.reserve(raw_path.size());
    for (std::size_t i = 1; i < raw_path.size(); ++i) {
        char const c = raw_path[i];
        if (c != '%') {
            if (c == '\\') {
                return bad_request("Invalid path: backslash");
            }
            decoded += c;
            continue;
        }
        if (i + 2 >= raw_path.size()) {
            return bad_request("Invalid path: incomplete percent-encoding");
        }
        int const hi = hex_value(raw_path[i + 1]);
        int const lo = hex_value(raw_path[i + 2]);
        if (hi < 0 || lo < 0) {
            return bad_request("Invalid path: invalid percent-encoding");
        }
        char const d = static_cast<char>(hi * 16 + lo);
        if (d == '/' || d == '\\') {
            return bad_request("Invalid path: encoded slash");
        }
        if (d == '\0') {
            return bad_request("Invalid path: NUL byte");
        }
        decoded += d;
        i += 2;
    }
    // No `.` or `..` segment: keys are flat names, a path cannot climb out of its directory.
    std::string_view rest = decoded;
    while (true) {
        auto const slash = rest.find('/');
        auto const seg = rest.substr(0, slash);
        if (seg == "." || seg == "..") {
            return bad_request("Invalid path: '.' and '..' segments are not allowed");
        }
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    path_key out;
    out.request_key = decoded;
    out.key = std::move(decoded);
    if (out.key.empty() || out.key.back() == '/') {
        out.key += index;
    }
    return out;
}

std::optional<redirect> redirect_all(model::website_config const& cfg, std::string_view raw_target,
                                     request_origin const& from)
{
    if (!cfg.redirect_all_requests_to) {
        return std::nullopt;
    }
    auto const& r = *cfg.redirect_all_requests_to;
    std::string const scheme = r.protocol ? *r.protocol : std::string(from.scheme);
    std::string target(raw_target.empty() ? std::string_view("/") : raw_target);
    if (target.front() != '/') {
        target.insert(0, "/");
    }
    return redirect{301, scheme + "://" + r.host_name + target};
}

std::optional<redirect> match_routing_rules(model::website_config const& cfg, std::string_view request_key,
                                            std::optional<unsigned> error_status, request_origin const& from)
{
    for (auto const& rule : cfg.routing_rules) {
        auto const& cond = rule.condition;
        if (cond.http_error_code_returned_equals.has_value() != error_status.has_value()) {
            continue;
        }
        if (error_status && *cond.http_error_code_returned_equals != *error_status) {
            continue;
        }
        std::string_view const prefix =
            cond.key_prefix_equals ? std::string_view(*cond.key_prefix_equals) : "";
        if (!request_key.starts_with(prefix)) {
            continue;
        }
        auto const& to = rule.redirect;
        std::string key;
        if (to.replace_key_with) {
            key = *to.replace_key_with;
        } else if (to.replace_key_prefix_with) {
            key = *to.replace_key_prefix_with + std::string(request_key.substr(prefix.size()));
        } else {
            key = std::string(request_key);
        }
        while (!key.empty() && key.front() == '/') {
            key.erase(0, 1);
        }
        redirect out;
        out.status = to.http_redirect_code.value_or(301);
        if (!to.host_name && !to.protocol) {
            out.location = encode_key(key);
        } else {
            std::string const scheme = to.protocol ? *to.protocol : std::string(from.scheme);
            std::string const host = to.host_name ? *to.host_name : std::string(from.host);
            out.location = scheme + "://" + host + encode_key(key);
        }
        return out;
    }
    return std::nullopt;
}

std::string error_page(api::s3::s3_error const& err)
{
    auto const reason =
        boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(err.status));
    std::string const title = std::to_string(err.status) + " " + std::string(reason);
    std::string out = "<title>" + title + "</title>\n<h1>" + title + "</h1>";
    out += "<ul><li>Code: " + html_escape(err.code) + "</li><li>Message: " + html_escape(err.message) +
           "</li></ul>\n";
    return out;
}

} // namespace garage::web
