#include <garage/model/lifecycle_worker.hpp>

#include <garage/util/bytes32.hpp>

#include <algorithm>
#include <cstdio>
#include <variant>

namespace garage::model {

namespace {

// Howard Hinnant's civil-date algorithms (days since 1970-01-01 <-> y/m/d, proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept
{
    y -= m <= 2 ? 1 : 0;
    std::int64_t const era = (y >= 0 ? y : y - 399) / 400;
    auto const yoe = static_cast<unsigned>(y - era * 400);
    unsigned const doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept
{
    z += 719468;
    std::int64_t const era = (z >= 0 ? z : z - 146096) / 146097;
    auto const doe = static_cast<unsigned>(z - era * 146097);
    unsigned const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned const mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

bool rule_expires(lifecycle_rule const& r, object_version const& v, std::string_view key, std::int64_t today)
{
    if (!r.enabled || !r.expiration) {
        return false;
    }
    auto const* meta = v.meta();
    if (meta == nullptr || !lifecycle_filter_matches(r.filter, key, meta->size)) {
        return false;
    }
    if (auto const* d = std::get_if<expire_after_days>(&*r.expiration)) {
        return today - utc_day(v.timestamp) >= static_cast<std::int64_t>(d->days);
    }
    auto const date = parse_day(std::get<expire_at_date>(*r.expiration).date);
    return date && today >= *date;
}

bool rule_aborts(lifecycle_rule const& r, object_version const& v, std::string_view key, std::int64_t today)
{
    if (!r.enabled || !r.abort_incomplete_mpu_days || !v.is_uploading(true)) {
        return false;
    }
    if (!lifecycle_filter_matches(r.filter, key, std::nullopt)) {
        return false;
    }
    return today - utc_day(v.timestamp) >= static_cast<std::int64_t>(*r.abort_incomplete_mpu_days);
}

} // namespace

std::int64_t utc_day(std::uint64_t msec) noexcept
{
    return static_cast<std::int64_t>(msec / 86'400'000);
}

std::string format_day(std::int64_t day)
{
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(day, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    return buf;
}

std::optional<std::int64_t> parse_day(std::string_view date)
{
    if (date.size() != 10 || date[4] != '-' || date[7] != '-') {
        return std::nullopt;
    }
    auto num = [&](std::size_t pos, std::size_t len) -> std::optional<unsigned> {
        unsigned v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (date[i] < '0' || date[i] > '9') {
                return std::nullopt;
            }
            v = v * 10 + static_cast<unsigned>(date[i] - '0');
        }
        return v;
    };
    auto const y = num(0, 4);
    auto const m = num(5, 2);
    auto const d = num(8, 2);
    if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1 || *d > 31) {
        return std::nullopt;
    }
    auto const day = days_from_civil(*y, *m, *d);
    if (format_day(day) != date) { // rejects 2023-02-30 and the like
        return std::nullopt;
    }
    return day;
}

bool lifecycle_filter_matches(lifecycle_filter const& f, std::string_view key,
                              std::optional<std::uint64_t> size)
{
    if (f.prefix && !key.starts_with(*f.prefix)) {
        return false;
    }
    if (size) {
        if (f.size_gt && !(*size > *f.size_gt)) {
            return false;
        }
        if (f.size_lt && !(*size < *f.size_lt)) {
            return false;
        }
    }
    return true;
}

std::optional<lifecycle_changes> lifecycle_update(object const& o, std::span<lifecycle_rule const> rules,
                                                  std::int64_t today, std::uint64_t now)
{
    std::size_t aborted = 0;
    std::size_t expired = 0;
    std::vector<object_version> changes;
    for (auto const& v : o.versions()) {
        if (v.is_uploading(true) && std::any_of(rules.begin(), rules.end(), [&](auto const& r) {
                return rule_aborts(r, v, o.key(), today);
            })) {
            changes.push_back(object_version{v.uuid, v.timestamp, version_aborted{}});
            ++aborted;
        }
    }
    if (auto const* cur = o.last_complete(); cur != nullptr && cur->is_data()) {
        if (std::any_of(rules.begin(), rules.end(),
                        [&](auto const& r) { return rule_expires(r, *cur, o.key(), today); })) {
            auto const ts = std::max(o.next_timestamp(), now);
            changes.push_back(object_version{util::gen_uuid(), ts, version_complete{delete_marker{}}});
            ++expired;
        }
    }
    if (changes.empty()) {
        return std::nullopt;
    }
    return lifecycle_changes{object(o.bucket_id(), o.key(), std::move(changes)), expired, aborted};
}

} // namespace garage::model
