#include <garage/model/mpu.hpp>

#include <garage/util/time.hpp>

#include <algorithm>

namespace garage::model {
namespace {

/// Keeps the larger of two optionals, an absent value being the smallest.
template <class T>
void keep_max(std::optional<T>& self, std::optional<T> const& other)
{
    if (self < other) {
        self = other;
    }
}

} // namespace

void mpu_part::merge(mpu_part const& other)
{
    crdt::merge(version, other.version);
    keep_max(etag, other.etag);
    keep_max(checksum, other.checksum);
    keep_max(size, other.size);
}

std::uint64_t multipart_upload::next_timestamp(std::uint64_t part_number) const
{
    std::uint64_t latest = 0;
    for (auto const& p : parts.items()) {
        if (p.key.part_number == part_number) {
            latest = std::max(latest, p.key.timestamp);
        }
    }
    return std::max(util::now_msec(), latest + 1);
}

void multipart_upload::merge(multipart_upload const& other)
{
    crdt::merge(upload_id, other.upload_id);
    timestamp = std::max(timestamp, other.timestamp);
    crdt::merge(bucket_id, other.bucket_id);
    crdt::merge(key, other.key);
    deleted.merge(other.deleted);
    if (deleted.get()) {
        parts.clear();
    } else {
        crdt::merge(parts, other.parts);
    }
}

std::array<counter_sample, 3> bucket_mpu_counter::counts(multipart_upload const& u)
{
    std::int64_t distinct_parts = 0;
    std::int64_t total = 0;
    std::optional<std::uint64_t> previous;
    for (auto const& p : u.parts.items()) { // sorted by part number, then timestamp
        if (p.key.part_number != previous) {
            ++distinct_parts;
            previous = p.key.part_number;
        }
        total += static_cast<std::int64_t>(p.value.size.value_or(0));
    }
    return {counter_sample{uploads, u.deleted.get() ? 0 : 1}, counter_sample{parts, distinct_parts},
            counter_sample{bytes, total}};
}

} // namespace garage::model
