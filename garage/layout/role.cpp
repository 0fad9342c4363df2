#include <garage/layout/role.hpp>

#include <garage/layout/error.hpp>

#include <charconv>
#include <cstdio>

namespace garage::layout {

std::string node_role::capacity_string() const
{
    return capacity ? format_bytes(*capacity) : std::string("gateway");
}

std::string node_role::tags_string() const
{
    std::string out;
    for (auto const& t : tags) {
        if (!out.empty()) {
            out += ',';
        }
        out += t;
    }
    return out;
}

util::result<zone_redundancy> parse_zone_redundancy(std::string_view text)
{
    if (text == "none" || text == "max" || text == "maximum") {
        return zone_redundancy::maximum();
    }
    std::size_t n = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return util::failure(error::invalid_parameter,
                             "zone redundancy must be 'none'/'max' or an integer, not '" + std::string(text) +
                                 "'");
    }
    if (n == 0) {
        return util::failure(error::invalid_parameter, "The zone redundancy must be at least 1.");
    }
    return zone_redundancy::at_least(n);
}

std::string to_string(zone_redundancy z)
{
    return z.is_maximum() ? std::string("maximum") : std::to_string(z.value());
}

std::string format_bytes(std::uint64_t bytes)
{
    static constexpr char const* units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
    if (bytes < 1000) {
        return std::to_string(bytes) + " B";
    }
    double v = static_cast<double>(bytes);
    std::size_t u = 0;
    v /= 1000.0;
    while (v >= 1000.0 && u + 1 < std::size(units)) {
        v /= 1000.0;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

} // namespace garage::layout
