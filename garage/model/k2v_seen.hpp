#pragma once
/** @file
    The seen marker of K2V's PollRange (Garage's `RangeSeenMarker`): which items of a range a
    client has already seen, as a vector clock for the whole range plus one clock per item
    seen beyond it. Its text form is opaque to clients: base64 of its encoding.
*/

#include <garage/model/k2v_causality.hpp>
#include <garage/model/k2v_item.hpp>

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace garage::model {

/** A range of a partition polled by PollRange (Garage's `PollRange`). */
struct k2v_poll_range {
    k2v_item_partition partition;      ///< the partition
    std::optional<std::string> prefix; ///< sort keys start with this
    std::optional<std::string> start;  ///< first sort key (inclusive)
    std::optional<std::string> end;    ///< last sort key (exclusive)

    /** @param item An item of the partition. @return Whether its sort key is in the range. */
    bool matches(k2v_item const& item) const;
};

/** What a PollRange client has seen.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct k2v_seen_marker {
    vector_clock clock;                        ///< every item up to these times was seen
    std::map<std::string, vector_clock> items; ///< items seen beyond `clock`, by sort key

    /** Forgets the items outside a range. @param range The range polled. */
    void restrict(k2v_poll_range const& range);
    /** Records items returned by a node (raising the node's time in `clock`, and remembering
        the clocks of items that go beyond it).
        @param node The node that returned them. @param item One item. */
    void mark_seen(k2v_node_id node, k2v_item const& item);
    /// Drops the item clocks that `clock` covers.
    void canonicalize();
    /** @param item An item. @return Whether it holds something this marker has not seen. */
    bool is_new_item(k2v_item const& item) const;

    /// @return The text form (canonicalized first).
    std::string encode();
    /** @param text A text form. @return The marker, or nullopt if malformed. */
    static std::optional<k2v_seen_marker> decode(std::string_view text);

    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("clock", clock), cereal::make_nvp("items", items));
    }
};

} // namespace garage::model
