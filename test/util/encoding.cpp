// Test that header file is self-contained.
#include <garage/util/encoding.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {
using namespace garage::util;

TEST_CASE("hex encodes lower-case and decodes either case", "[util][encoding]")
{
    CHECK(to_hex("") == "");
    CHECK(to_hex(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
    auto r = from_hex("0001ABff");
    REQUIRE(r);
    CHECK(*r == std::string("\x00\x01\xab\xff", 4));
    auto empty = from_hex("");
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("hex round-trips every byte value", "[util][encoding]")
{
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
    }
    auto hex = to_hex(all);
    CHECK(hex.size() == 512);
    auto back = from_hex(hex);
    REQUIRE(back);
    CHECK(*back == all);
}

TEST_CASE("hex decoding rejects odd lengths and bad digits", "[util][encoding]")
{
    auto odd = from_hex("abc");
    REQUIRE_FALSE(odd);
    CHECK(odd.error().code == error::invalid_hex);
    CHECK(odd.error().is(condition::bad_request));
    CHECK_FALSE(from_hex("0g"));
    CHECK_FALSE(from_hex("g0"));
    CHECK_FALSE(from_hex("  "));
    auto bad = from_hex("00zz");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("position 2") != std::string::npos);
}

TEST_CASE("base64 matches the RFC 4648 test vectors", "[util][encoding]")
{
    std::pair<char const*, char const*> const vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, encoded] : vectors) {
        INFO(plain);
        CHECK(to_base64(plain) == encoded);
        auto back = from_base64(encoded);
        REQUIRE(back);
        CHECK(*back == plain);
    }
}

TEST_CASE("base64 round-trips binary data of every length up to 64", "[util][encoding]")
{
    std::string data;
    for (int n = 0; n <= 64; ++n) {
        auto enc = to_base64(data);
        CHECK(enc.size() == (data.size() + 2) / 3 * 4);
        auto back = from_base64(enc);
        REQUIRE(back);
        CHECK(*back == data);
        data.push_back(static_cast<char>(n * 37 + 200));
    }
    // 16 bytes, as in a Content-MD5 header: 24 characters with two '='.
    CHECK(to_base64(std::string(16, '\xff')) == "/////////////////////w==");
    CHECK(to_base64("\xfb\xef\xbe") == "++++");
}

TEST_CASE("base64 decoding rejects malformed input", "[util][encoding]")
{
    char const* const bad[] = {
        "Zg=",      // length not a multiple of 4
        "Zg",       // missing padding
        "Z===",     // too much padding
        "====",     // padding only
        "Zg==Zg==", // padding in the middle
        "Zm9v!A==", // character outside the alphabet
        "Zm 9",     // whitespace
        "Zh==",     // non-zero bits after the last byte
        "Zm9=",     // likewise with one '='
        "Zm=v",     // '=' before a data character
    };
    for (auto text : bad) {
        INFO(text);
        auto r = from_base64(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == error::invalid_base64);
    }
}
} // namespace
