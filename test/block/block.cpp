// Test that header file is self-contained.
#include <garage/block/block.hpp>

#include <test/block/fixtures.hpp>

#include <garage/block/error.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using block::data_block;
using test::make_block;

TEST_CASE("a plain block verifies against its BLAKE2b hash", "[block][block]")
{
    auto b = make_block(test::random_data(10000, 1));
    auto blk = data_block::encode(b.data, std::nullopt);
    CHECK_FALSE(blk.is_compressed());
    CHECK(blk.bytes() == b.data);
    CHECK(blk.verify(b.hash));
    CHECK(blk.decode(b.hash).value() == b.data);

    auto other = make_block("something else").hash;
    auto r = blk.verify(other);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::corrupt_block);
    CHECK_FALSE(blk.decode(other));
}

TEST_CASE("a compressed block is a checksummed zstd frame of the plain bytes", "[block][block]")
{
    auto b = make_block(test::text_data(200000, 2));
    auto blk = data_block::encode(b.data, 1);
    REQUIRE(blk.is_compressed());
    CHECK(blk.size() < b.data.size() / 2);
    // The frame carries a checksum (Frame_Header_Descriptor bit 2).
    REQUIRE(blk.size() > 5);
    CHECK((static_cast<unsigned char>(blk.bytes()[4]) & 0x04) != 0);
    CHECK(blk.verify(b.hash));
    CHECK(blk.decode(b.hash).value() == b.data);
    CHECK(block::zstd_decompress(blk.bytes()).value() == b.data);

    // Incompressible data is stored plain (Garage would keep the slightly larger frame).
    auto r = make_block(test::random_data(5000, 3));
    auto rblk = data_block::encode(r.data, 3);
    CHECK_FALSE(rblk.is_compressed());
    CHECK(rblk.bytes() == r.data);
    CHECK(rblk.decode(r.hash).value() == r.data);
}

TEST_CASE("large blocks are judged compressible on samples of their start and middle", "[block][block]")
{
    // Random bytes throughout: plain, without a full compression pass.
    auto noise = make_block(test::random_data(1 << 20, 11));
    CHECK_FALSE(data_block::encode(noise.data, 1).is_compressed());
    // Text in the middle only (e.g. an archive with a compressed head): still compressed.
    auto mixed_data = test::random_data(1 << 19, 12) + test::text_data(1 << 19, 13);
    auto mixed = make_block(mixed_data);
    auto blk = data_block::encode(mixed.data, 1);
    CHECK(blk.is_compressed());
    CHECK(blk.size() < mixed.data.size());
    CHECK(blk.decode(mixed.hash).value() == mixed.data);
}

TEST_CASE("a compressed block with a flipped byte, a truncation or another content fails", "[block][block]")
{
    auto b = make_block(test::text_data(100000, 4));
    auto blk = data_block::encode(b.data, 1);
    REQUIRE(blk.is_compressed());

    for (std::size_t pos : {std::size_t(6), blk.size() / 2, blk.size() - 2}) {
        auto bytes = blk.bytes();
        bytes[pos] = static_cast<char>(~bytes[pos]);
        auto bad = data_block::compressed(bytes);
        auto v = bad.verify(b.hash);
        REQUIRE_FALSE(v);
        CHECK(v.error().code == block::error::corrupt_block);
        CHECK_FALSE(bad.decode(b.hash));
    }
    for (std::size_t len : {std::size_t(0), std::size_t(3), blk.size() / 2, blk.size() - 1}) {
        auto bad = data_block::compressed(blk.bytes().substr(0, len));
        CHECK_FALSE(bad.verify(b.hash));
        CHECK_FALSE(bad.decode(b.hash));
    }
    // Trailing garbage after a valid frame.
    CHECK_FALSE(data_block::compressed(blk.bytes() + "junk").verify(b.hash));
    // A valid frame of other bytes: the checksum passes, the hash does not.
    auto other = data_block::encode(test::text_data(100000, 5), 1);
    CHECK_FALSE(other.verify(b.hash));
    CHECK_FALSE(other.decode(b.hash));
}

TEST_CASE("decompression stops at the size limit", "[block][block]")
{
    std::string zeros(4 << 20, '\0');
    auto h = util::blake2sum(zeros);
    auto blk = data_block::encode(zeros, 1);
    REQUIRE(blk.size() < 4096);
    CHECK(blk.verify(h, 4 << 20));
    auto small = blk.verify(h, 1 << 20);
    REQUIRE_FALSE(small);
    CHECK(small.error().code == block::error::corrupt_block);
    CHECK_FALSE(blk.decode(h, 1 << 20));
    CHECK_FALSE(block::zstd_decompress(blk.bytes(), (4 << 20) - 1));
    // A plain block above the limit is refused too.
    CHECK_FALSE(data_block::plain(zeros).verify(h, 1 << 20));
    CHECK(data_block::plain(zeros).verify(h, 4 << 20));
}

TEST_CASE("several concatenated zstd frames decode as one block", "[block][block]")
{
    auto a = test::text_data(3000, 6);
    auto b = test::text_data(5000, 7);
    auto frames = block::zstd_compress(a, 1).value() + block::zstd_compress(b, 1).value();
    auto h = util::blake2sum(a + b);
    CHECK(data_block::compressed(frames).decode(h).value() == a + b);
}

TEST_CASE("the empty block and compression levels at the edges work", "[block][block]")
{
    auto e = make_block("");
    for (std::optional<int> level :
         {std::optional<int>(), std::optional<int>(0), std::optional<int>(1), std::optional<int>(-5),
          std::optional<int>(19), std::optional<int>(99)}) {
        auto blk = data_block::encode(e.data, level);
        CHECK_FALSE(blk.is_compressed()); // a frame would be larger than nothing
        CHECK(blk.decode(e.hash).value().empty());
    }
    auto t = make_block(test::text_data(50000, 8));
    CHECK(data_block::encode(t.data, 22).decode(t.hash).value() == t.data);
}

TEST_CASE("decoding a plain block by move gives its bytes without a copy", "[block][block]")
{
    auto b = make_block(test::random_data(1 << 16, 9));
    auto blk = data_block::plain(b.data);
    char const* p = blk.bytes().data();
    auto out = std::move(blk).decode(b.hash).value();
    CHECK(out == b.data);
    CHECK(out.data() == p);
}
} // namespace
