#pragma once
/** @file
    The messages that nodes exchange about data blocks (Garage's `BlockRpc`, endpoint
    `garage_block/manager.rs/Rpc`): GetBlock, PutBlock and NeedBlockQuery.
*/

#include <garage/block/block.hpp>
#include <garage/util/bytes32.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace garage::block {

/// What a @ref garage::block::block_rpc_request asks.
enum class block_rpc_op : std::uint8_t {
    /// GetBlock: answer the block as stored (the response's `encoding`, the bytes as its body).
    get_block = 1,
    /// PutBlock: store the block in the request's body (encoded as `encoding`) after checking
    /// it against `hash`.
    put_block = 2,
    /// NeedBlockQuery: does the receiver hold the block, and does it need it (referenced there
    /// but missing)?
    need_block_query = 3,
};

/** A block request. The body of a PutBlock carries the encoded block; the others have none.

    @par Wire format
    cereal portable binary: `u8 op ‖ hash ‖ u8 encoding`. */
struct block_rpc_request {
    block_rpc_op op = block_rpc_op::get_block;       ///< what is asked
    util::hash32 hash;                               ///< the block (BLAKE2b of its plain bytes)
    block_encoding encoding = block_encoding::plain; ///< PutBlock: how the body is encoded

    /** cereal: the fields, with the enums as bytes (a receiver checks their values).
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t)
    {
        ar(op, hash, encoding);
    }
};

/** The answer to a @ref garage::block::block_rpc_request. A GetBlock answer carries the
    encoded block as its body.

    @par Wire format
    cereal portable binary: `u8 encoding ‖ bool present ‖ bool needed`. */
struct block_rpc_response {
    block_encoding encoding = block_encoding::plain; ///< GetBlock: how the body is encoded
    bool present = false; ///< NeedBlockQuery: a copy of the block is stored on the receiver
    bool needed = false;  ///< NeedBlockQuery: the receiver references the block and lacks it

    /** cereal: the fields.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t)
    {
        ar(encoding, present, needed);
    }
};

/** The block endpoint (a model of `rpc::endpoint`): every node serves it through its
    @ref garage::block::block_exchange. */
struct block_endpoint {
    /// Garage's path of the block RPC.
    static constexpr std::string_view path = "garage_block/manager.rs/Rpc";
    /// The request type.
    using request_type = block_rpc_request;
    /// The response type.
    using response_type = block_rpc_response;
};

/** Checks an encoding received from a peer.
    @param e The value as decoded.
    @return True for `plain` and `compressed`. */
constexpr bool is_valid_encoding(block_encoding e) noexcept
{
    return e == block_encoding::plain || e == block_encoding::compressed;
}

} // namespace garage::block
