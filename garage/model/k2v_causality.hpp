#pragma once
/** @file
    K2V causality: vector clocks over 64-bit node ids, and causality tokens, their text form
    (Garage's `CausalContext`, reference §4).

    A causality token is `base64url_nopad(checksum ‖ (node, time)*)`, every integer a
    big-endian `u64`, the checksum the XOR of every node id and time. Tokens minted by Garage
    parse here and the other way round.
*/

#include <garage/util/bytes32.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace garage::model {

/// A K2V node id: the first 8 bytes, big-endian, of a node's 32-byte id.
using k2v_node_id = std::uint64_t;

/// A vector clock: for each node, a time (milliseconds-based Lamport time).
using vector_clock = std::map<k2v_node_id, std::uint64_t>;

/** The K2V id of a node.
    @param node The node's 32-byte id.
    @return Its first 8 bytes read as a big-endian integer. */
k2v_node_id make_k2v_node_id(util::node_id const& node) noexcept;

/** Whether `a` has seen something `b` has not.
    @param a A clock. @param b Another clock.
    @return True when some node's time in `a` exceeds its time in `b` (0 if absent). */
bool vclock_gt(vector_clock const& a, vector_clock const& b);

/** The pointwise maximum of two clocks.
    @param a A clock. @param b Another clock.
    @return For every node of either, the larger time. */
vector_clock vclock_max(vector_clock const& a, vector_clock const& b);

/** A causal context: what a client has seen of an item (for each node, the latest time).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct causal_context {
    vector_clock clock; ///< for each node, the latest time seen

    /** The causality token of this context (base64url without padding).
        @return The token text. */
    std::string serialize() const;

    /** Parses a causality token.
        @param token The token text.
        @return The context; nullopt when the text is not base64url without padding, its
                length is not 8 + 16·n bytes, or its checksum does not match. */
    static std::optional<causal_context> parse(std::string_view token);

    /** @param other Another context.
        @return Whether this context has seen something `other` has not. */
    bool is_newer_than(causal_context const& other) const { return vclock_gt(clock, other.clock); }

    /// Equal when the clocks are equal.
    friend bool operator==(causal_context const&, causal_context const&) = default;
};

/** Encodes bytes in base64url without padding (RFC 4648 §5).
    @param bytes The bytes. @return The text. */
std::string to_base64url_nopad(std::string_view bytes);

/** Decodes base64url without padding.
    @param text The text.
    @return The bytes; nullopt for characters outside the alphabet, padding, or a length of
            4n+1. */
std::optional<std::string> from_base64url_nopad(std::string_view text);

} // namespace garage::model
