// Test that header file is self-contained.
#include <garage/rpc/node_key.hpp>

#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

namespace {

using garage::rpc::node_address;
using garage::rpc::node_key;
namespace util = garage::util;

std::string slurp(std::filesystem::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("a node key is created on first start with mode 0600 and reloaded unchanged", "[rpc][node_key]")
{
    garage::test::temp_dir dir;
    auto const meta = dir.path() / "meta";
    auto first = node_key::load_or_create(meta);
    REQUIRE(first);
    auto const secret_path = meta / "node_key";
    auto const public_path = meta / "node_key.pub";
    struct stat st {};
    REQUIRE(::stat(secret_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(slurp(secret_path).size() == 64);
    CHECK(slurp(public_path) == first->id().view());
    CHECK(slurp(secret_path).substr(32) == first->id().view());

    auto second = node_key::load_or_create(meta);
    REQUIRE(second);
    CHECK(second->id() == first->id());
    CHECK(second->secret_bytes() == first->secret_bytes());
}

TEST_CASE("two generated keys differ and a seed gives a deterministic key", "[rpc][node_key]")
{
    auto a = node_key::generate();
    auto b = node_key::generate();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->id() != b->id());
    auto c = node_key::from_seed(std::string(32, '\x07'));
    auto d = node_key::from_seed(std::string(32, '\x07'));
    REQUIRE(c);
    REQUIRE(d);
    CHECK(c->id() == d->id());
    CHECK(c->secret_bytes().substr(0, 32) == std::string(32, '\x07'));
    CHECK_FALSE(node_key::from_seed("short"));
}

TEST_CASE("a node key readable by others, truncated, or mismatching its public file is refused",
          "[rpc][node_key]")
{
    garage::test::temp_dir dir;
    REQUIRE(node_key::load_or_create(dir.path()));
    auto const secret_path = dir.path() / "node_key";

    SECTION("world-readable")
    {
        ::chmod(secret_path.c_str(), 0644);
        auto r = node_key::load_or_create(dir.path());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == util::error::insecure_secret_file);
    }
    SECTION("truncated")
    {
        std::ofstream(secret_path, std::ios::binary | std::ios::trunc) << "abc";
        auto r = node_key::load_or_create(dir.path());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == util::error::decode_error);
    }
    SECTION("another public key")
    {
        std::ofstream(dir.path() / "node_key.pub", std::ios::binary | std::ios::trunc)
            << std::string(32, 'x');
        auto r = node_key::load_or_create(dir.path());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == util::error::decode_error);
    }
    SECTION("a missing public key is recreated")
    {
        std::filesystem::remove(dir.path() / "node_key.pub");
        auto r = node_key::load_or_create(dir.path());
        REQUIRE(r);
        CHECK(slurp(dir.path() / "node_key.pub") == r->id().view());
    }
}

TEST_CASE("node addresses format and parse as <hex id>@<host>:<port>", "[rpc][node_key]")
{
    auto key = node_key::from_seed(std::string(32, '\x01'));
    REQUIRE(key);
    auto const hex = key->id().to_hex();
    CHECK(garage::rpc::format_node_id(key->id(), "10.0.0.1:3901") == hex + "@10.0.0.1:3901");

    auto v4 = node_address::parse(hex + "@10.0.0.1:3901");
    REQUIRE(v4);
    CHECK(v4->id == key->id());
    CHECK(v4->host == "10.0.0.1");
    CHECK(v4->port == 3901);
    CHECK(v4->to_string() == hex + "@10.0.0.1:3901");

    auto v6 = node_address::parse(hex + "@[fd00::1]:3901");
    REQUIRE(v6);
    CHECK(v6->host == "fd00::1");
    CHECK(v6->to_string() == hex + "@[fd00::1]:3901");

    auto dns = node_address::parse(hex + "@garage-1.example.com:3901");
    REQUIRE(dns);
    CHECK(dns->host == "garage-1.example.com");

    CHECK_FALSE(node_address::parse("10.0.0.1:3901"));
    CHECK_FALSE(node_address::parse(hex.substr(1) + "@10.0.0.1:3901"));
    CHECK_FALSE(node_address::parse(hex + "@10.0.0.1"));
    CHECK_FALSE(node_address::parse(hex + "@10.0.0.1:0"));
    CHECK_FALSE(node_address::parse(hex + "@10.0.0.1:70000"));
    CHECK_FALSE(node_address::parse(hex + "@fd00::1:3901"));
    CHECK_FALSE(node_address::parse(hex + "@:3901"));
}

TEST_CASE("rpc_secret must be 64 hexadecimal digits and the error never echoes it", "[rpc][node_key]")
{
    auto ok = garage::rpc::parse_rpc_secret(std::string(64, 'a'));
    REQUIRE(ok);
    CHECK(ok->size() == 32);
    auto bad = garage::rpc::parse_rpc_secret(std::string(63, 'a') + "z");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("aaaa") == std::string::npos);
    CHECK_FALSE(garage::rpc::parse_rpc_secret("abcd"));
}

} // namespace
