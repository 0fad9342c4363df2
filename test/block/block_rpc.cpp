// Test that header file is self-contained.
#include <garage/block/block_rpc.hpp>

#include <garage/rpc/endpoint.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/hasher.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

static_assert(rpc::endpoint<block::block_endpoint>);
static_assert(rpc::rpc_message<block::block_rpc_request>);
static_assert(rpc::rpc_message<block::block_rpc_response>);

TEST_CASE("Block RPC messages survive encoding and decoding", "[block][block_rpc]")
{
    block::block_rpc_request req{block::block_rpc_op::put_block, util::blake2sum("x"),
                                 block::block_encoding::compressed};
    auto back = util::decode<block::block_rpc_request>(util::encode(req));
    REQUIRE(back);
    CHECK(back->op == block::block_rpc_op::put_block);
    CHECK(back->hash == req.hash);
    CHECK(back->encoding == block::block_encoding::compressed);

    block::block_rpc_response resp{block::block_encoding::plain, true, false};
    auto rb = util::decode<block::block_rpc_response>(util::encode(resp));
    REQUIRE(rb);
    CHECK(rb->present);
    CHECK_FALSE(rb->needed);
}

TEST_CASE("A truncated block request does not decode", "[block][block_rpc]")
{
    auto bytes = util::encode(block::block_rpc_request{});
    bytes.resize(bytes.size() / 2);
    CHECK_FALSE(util::decode<block::block_rpc_request>(bytes));
}

TEST_CASE("Only the two known encodings are valid on the wire", "[block][block_rpc]")
{
    CHECK(block::is_valid_encoding(block::block_encoding::plain));
    CHECK(block::is_valid_encoding(block::block_encoding::compressed));
    CHECK_FALSE(block::is_valid_encoding(block::block_encoding{2}));
    CHECK_FALSE(block::is_valid_encoding(block::block_encoding{255}));
}

} // namespace
