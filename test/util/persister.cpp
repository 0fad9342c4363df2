// Test that header file is self-contained.
#include <garage/util/persister.hpp>

#include <test/support/temp_dir.hpp>

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {
using namespace garage::util;
namespace fs = std::filesystem;

struct peer_list_state {
    std::uint64_t version = 0;
    std::vector<std::string> peers;
    std::map<std::string, std::uint32_t> ports;

    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(version, peers, ports);
    }
    friend bool operator==(peer_list_state const&, peer_list_state const&) = default;
};

std::string read_file(fs::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(fs::path const& p, std::string const& bytes)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

TEST_CASE("persister loads nothing when the file is absent", "[util][persister]")
{
    garage::test::temp_dir dir;
    persister<peer_list_state> p(dir.path() / "peer_list");
    auto r = p.load();
    REQUIRE(r);
    CHECK_FALSE(r->has_value());
}

TEST_CASE("persister round-trips a value and replaces it on the next save", "[util][persister]")
{
    garage::test::temp_dir dir;
    auto const path = dir.path() / "peer_list";
    persister<peer_list_state> p(path);
    CHECK(p.path() == path);

    peer_list_state v1{7, {"node-a", "node-b"}, {{"node-a", 3901}}};
    REQUIRE(p.save(v1));
    CHECK(fs::exists(path));
    CHECK_FALSE(fs::exists(dir.path() / "peer_list.tmp"));

    auto r = p.load();
    REQUIRE(r);
    REQUIRE(r->has_value());
    CHECK(**r == v1);

    peer_list_state v2{8, {"node-c"}, {}};
    REQUIRE(p.save(v2));
    CHECK_FALSE(fs::exists(dir.path() / "peer_list.tmp"));
    auto r2 = persister<peer_list_state>(path).load(); // a second reader sees the new value
    REQUIRE(r2);
    REQUIRE(r2->has_value());
    CHECK(**r2 == v2);
}

TEST_CASE("persister writes the portable binary encoding", "[util][persister]")
{
    garage::test::temp_dir dir;
    persister<std::uint32_t> p(dir.path() / "n");
    REQUIRE(p.save(0x01020304));
    // cereal's portable archive: one byte of endianness (1 = little) then the value, little-endian.
    CHECK(read_file(dir.path() / "n") == std::string("\x01\x04\x03\x02\x01", 5));
}

TEST_CASE("persister reports a corrupt file as a decode error naming it", "[util][persister]")
{
    garage::test::temp_dir dir;
    auto const path = dir.path() / "layout";
    persister<peer_list_state> p(path);
    REQUIRE(p.save(peer_list_state{1, {"a", "b", "c"}, {{"x", 1}}}));
    std::string const good = read_file(path);

    SECTION("truncated")
    {
        write_file(path, good.substr(0, good.size() - 3));
    }
    SECTION("trailing bytes")
    {
        write_file(path, good + "extra");
    }
    SECTION("garbage with an absurd length prefix")
    {
        write_file(path, std::string("\x01\x01\x00\x00\x00\x00\x00\x00\x00", 9) + std::string(8, '\xff'));
    }
    SECTION("empty")
    {
        write_file(path, "");
    }

    auto r = p.load();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == error::decode_error);
    CHECK(r.error().is(condition::corrupt_data));
    CHECK(r.error().message.find(path.string()) != std::string::npos);
}

TEST_CASE("persister reports an unwritable location as an I/O error", "[util][persister]")
{
    garage::test::temp_dir dir;
    auto const path = dir.path() / "no-such-dir" / "state";
    persister<std::uint32_t> p(path);
    auto r = p.save(1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == error::io_error);
    CHECK(r.error().message.find("no-such-dir") != std::string::npos);
}

TEST_CASE("a failed save leaves the previous value and no temporary file", "[util][persister]")
{
    garage::test::temp_dir dir;
    auto const path = dir.path() / "state";
    persister<std::uint32_t> p(path);
    REQUIRE(p.save(42));
    // A directory where the temporary file would go makes the write fail.
    fs::create_directory(dir.path() / "state.tmp");
    auto r = p.save(43);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == error::io_error);
    fs::remove(dir.path() / "state.tmp");
    auto back = p.load();
    REQUIRE(back);
    REQUIRE(back->has_value());
    CHECK(**back == 42u);
}
} // namespace
