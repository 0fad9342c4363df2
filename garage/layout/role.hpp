#pragma once
/** @file
    The vocabulary of the cluster layout: partitions, node roles, the zone-redundancy
    parameter and the quorums of a replication factor (reference §5.5, §5.6).
*/

#include <garage/crdt/crdt.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::layout {

/// How many bits of a hash select its partition (Garage `PARTITION_BITS`).
inline constexpr unsigned partition_bits = 8;
/// The number of partitions of every layout: 256.
inline constexpr std::size_t partition_count = std::size_t{1} << partition_bits;
/// The largest number of storage nodes a layout may hold (a node index is one byte).
inline constexpr std::size_t max_storage_nodes = 256;
/// How many versions no longer live are kept for finding blocks (Garage `OLD_VERSION_COUNT`).
inline constexpr std::size_t old_version_count = 5;

/// A partition number, below @ref partition_count.
using partition_id = std::uint16_t;

/** The partition a hash falls in: its first byte (the top @ref partition_bits bits).
    @param h A partition-key hash.
    @return A number below 256. */
constexpr partition_id partition_of(util::hash32 const& h) noexcept
{
    return static_cast<partition_id>(h[0]);
}

/** The smallest hash of a partition.
    @param p A partition below 256.
    @return The hash whose first byte is `p` and all others zero. */
constexpr util::hash32 first_hash_of(partition_id p) noexcept
{
    util::hash32 h;
    h[0] = static_cast<std::uint8_t>(p);
    return h;
}

/** The role of a node: where it is and how much it stores.

    A node without capacity is a *gateway*: it serves requests but stores no partition.
    Roles are totally ordered (zone, capacity, tags) only so that two replicas that wrote
    different roles in the same millisecond merge to the same one.
*/
struct node_role {
    std::string zone;                      ///< the zone (datacenter) of the node; never empty
    std::optional<std::uint64_t> capacity; ///< bytes; absent for a gateway
    std::vector<std::string> tags;         ///< free labels

    /// @return True when the node stores no data.
    bool is_gateway() const noexcept { return !capacity.has_value(); }

    /// @return The capacity as Garage prints it (`"1.0 TB"`) or `"gateway"`.
    std::string capacity_string() const;

    /// @return The tags joined by commas.
    std::string tags_string() const;

    /// Ordered by zone, then capacity, then tags.
    friend auto operator<=>(node_role const&, node_role const&) = default;
    /// Equal when all fields are equal.
    friend bool operator==(node_role const&, node_role const&) = default;

    /** cereal: zone, capacity, tags.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("zone", zone), cereal::make_nvp("capacity", capacity),
           cereal::make_nvp("tags", tags));
    }
};

/** The value of a node in the role map: a role, or none (the node was removed).

    A CRDT whose merge keeps the larger value (Garage's `NodeRoleV` is an `AutoCrdt`); it
    only matters when two writes carry the same timestamp.
*/
struct role_value {
    std::optional<node_role> role; ///< the role; absent: the node has no role

    /** Keeps the larger of the two values.
        @param other The value to merge in. */
    void merge(role_value const& other)
    {
        if (*this < other) {
            *this = other;
        }
    }

    /// Ordered by role, no role first.
    friend auto operator<=>(role_value const&, role_value const&) = default;
    /// Equal when the roles are equal.
    friend bool operator==(role_value const&, role_value const&) = default;

    /** cereal: the optional role.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("role", role));
    }
};

/** How many distinct zones must hold the copies of each partition.

    Either a fixed number (`at_least(n)`, 1 ≤ n ≤ replication factor) or `maximum()`:
    as many zones as possible, i.e. min(number of zones, replication factor).
*/
class zone_redundancy {
public:
    /// `maximum()`.
    constexpr zone_redundancy() noexcept = default;

    /// @return The parameter "as many zones as possible".
    static constexpr zone_redundancy maximum() noexcept { return zone_redundancy(); }

    /** @param n The number of zones; valid from 1 to the replication factor.
        @return The parameter "at least `n` zones". */
    static constexpr zone_redundancy at_least(std::size_t n) noexcept
    {
        zone_redundancy z;
        z.maximum_ = false;
        z.at_least_ = n;
        return z;
    }

    /// @return True for `maximum()`.
    constexpr bool is_maximum() const noexcept { return maximum_; }

    /// @return n for `at_least(n)`, 0 for `maximum()`.
    constexpr std::size_t value() const noexcept
    {
        return maximum_ ? 0 : static_cast<std::size_t>(at_least_);
    }

    /** The number of zones this parameter asks for in a cluster.
        @param zones              The number of zones that hold storage nodes.
        @param replication_factor The replication factor.
        @return n for `at_least(n)`, min(zones, replication factor) for `maximum()`. */
    constexpr std::size_t effective(std::size_t zones, std::size_t replication_factor) const noexcept
    {
        if (!maximum_) {
            return value();
        }
        return zones < replication_factor ? zones : replication_factor;
    }

    /** Garage's order (`AtLeast(n) < Maximum`), for the merge of parameters.
        @return The ordering of the two parameters. */
    friend constexpr std::strong_ordering operator<=>(zone_redundancy a, zone_redundancy b) noexcept
    {
        if (a.maximum_ || b.maximum_) {
            return static_cast<int>(a.maximum_) <=> static_cast<int>(b.maximum_);
        }
        return a.at_least_ <=> b.at_least_;
    }
    /// Equal when both are `maximum()` or both ask for the same number.
    friend constexpr bool operator==(zone_redundancy a, zone_redundancy b) noexcept
    {
        return a.maximum_ == b.maximum_ && (a.maximum_ || a.at_least_ == b.at_least_);
    }

    /** cereal: the maximum flag, then the number.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("maximum", maximum_), cereal::make_nvp("at_least", at_least_));
        if (maximum_) {
            at_least_ = 0;
        }
    }

private:
    bool maximum_ = true;
    std::uint64_t at_least_ = 0;
};

/** Parses a zone redundancy as `garage layout config -r` does.
    @param text `"none"`, `"max"` or `"maximum"` (maximum), or a positive integer.
    @return The parameter, or `error::invalid_parameter`. */
util::result<zone_redundancy> parse_zone_redundancy(std::string_view text);

/** @param z A zone redundancy.
    @return `"maximum"` or the number. */
std::string to_string(zone_redundancy z);

/// The parameters of the assignment computation (Garage `LayoutParameters`).
struct layout_parameters {
    zone_redundancy redundancy; ///< the zone-redundancy constraint

    /** Keeps the larger parameters (Garage: an `AutoCrdt`).
        @param other The parameters to merge in. */
    void merge(layout_parameters const& other)
    {
        if (redundancy < other.redundancy) {
            redundancy = other.redundancy;
        }
    }

    /// Ordered by zone redundancy.
    friend auto operator<=>(layout_parameters const&, layout_parameters const&) = default;
    /// Equal when the zone redundancies are equal.
    friend bool operator==(layout_parameters const&, layout_parameters const&) = default;

    /** cereal: the zone redundancy.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("zone_redundancy", redundancy));
    }
};

/** The read quorum of a replication factor (reference §5.5).
    @param replication_factor The number of copies, at least 1.
    @param mode               The consistency mode.
    @return ceil(rf / 2) when `consistent`, 1 otherwise. */
constexpr std::size_t read_quorum(std::size_t replication_factor, util::consistency_mode mode) noexcept
{
    return mode == util::consistency_mode::consistent ? (replication_factor + 1) / 2 : 1;
}

/** The write quorum of a replication factor (reference §5.5).
    @param replication_factor The number of copies, at least 1.
    @param mode               The consistency mode.
    @return rf + 1 − ceil(rf / 2) when `consistent` or `degraded`, 1 when `dangerous`. */
constexpr std::size_t write_quorum(std::size_t replication_factor, util::consistency_mode mode) noexcept
{
    return mode == util::consistency_mode::dangerous ? 1
                                                     : replication_factor + 1 - (replication_factor + 1) / 2;
}

/** Writes a byte count as Garage does (the `bytesize` crate, decimal units): `"999 B"`,
    `"1.5 KB"`, `"2.0 TB"`.
    @param bytes A number of bytes.
    @return The human form. */
std::string format_bytes(std::uint64_t bytes);

} // namespace garage::layout
