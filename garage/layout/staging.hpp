#pragma once
/** @file
    The changes staged for the next layout version (Garage `LayoutStaging`).
*/

#include <garage/crdt/lww.hpp>
#include <garage/crdt/lww_map.hpp>
#include <garage/layout/role.hpp>
#include <garage/util/bytes32.hpp>

#include <cstdint>
#include <string>

namespace garage::layout {

/** Role changes and parameters staged for the next version; a CRDT, gossiped with the layout.

    A role change is an entry of `roles`: a role to give to a node, or `role_value{}` to take
    its role away. The entries' timestamps are larger than those of the current roles, so
    that merging them into the current roles applies them.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct layout_staging {
    crdt::lww<layout_parameters> parameters;        ///< the parameters of the next version
    crdt::lww_map<util::node_id, role_value> roles; ///< the staged role changes

    /** Merges another staging, field by field.
        @param other The staging to merge in. */
    void merge(layout_staging const& other)
    {
        parameters.merge(other.parameters);
        roles.merge(other.roles);
    }

    /// Equal when parameters and role changes are equal.
    friend bool operator==(layout_staging const&, layout_staging const&) = default;

    /** cereal: a format version (1), then parameters and roles.
        @param ar A cereal archive.
        @throws cereal::Exception when loading an unknown format version. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t format = 1;
        ar(cereal::make_nvp("format", format));
        if (format != 1) {
            throw cereal::Exception("unknown layout_staging format " + std::to_string(format));
        }
        ar(cereal::make_nvp("parameters", parameters), cereal::make_nvp("roles", roles));
    }
};

} // namespace garage::layout
