// Test that header file is self-contained.
#include <garage/api/common/request_view.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {
using namespace garage::api;

TEST_CASE("header lookup ignores case and finds the first field", "[api][request_view]")
{
    std::vector<header_field> const h{{"Host", "a"}, {"X-Amz-Date", "d"}, {"host", "b"}};
    CHECK(find_header(h, "host") == "a");
    CHECK(find_header(h, "x-amz-date") == "d");
    CHECK(find_header(h, "X-AMZ-DATE") == "d");
    CHECK(!find_header(h, "range"));
    CHECK(count_header(h, "HOST") == 2);
    CHECK(count_header(h, "range") == 0);
    CHECK(iequals("Content-MD5", "content-md5"));
    CHECK(!iequals("content-md5", "content-md"));
    CHECK(istarts_with("X-Amz-Meta-A", "x-amz-"));
    CHECK(!istarts_with("x-am", "x-amz-"));
}

TEST_CASE("percent_decode decodes escapes and keeps invalid ones", "[api][request_view]")
{
    CHECK(percent_decode("a%20b%2Fc%2f", false) == "a b/c/");
    CHECK(percent_decode("a+b", false) == "a+b");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("%E1%88%B4", false) == "\xe1\x88\xb4");
    CHECK(percent_decode("100%", false) == "100%");
    CHECK(percent_decode("%zz%4", false) == "%zz%4");
    CHECK(percent_decode("%00", false) == std::string(1, '\0'));
}

TEST_CASE("parse_query splits, decodes and keeps order and repeats", "[api][request_view]")
{
    auto const q = parse_query("uploads&prefix=a%2Fb+c&&max-keys=2&prefix=z&=v&k=");
    std::vector<query_param> const want{{"uploads", ""}, {"prefix", "a/b c"}, {"max-keys", "2"},
                                        {"prefix", "z"}, {"", "v"},           {"k", ""}};
    CHECK(q == want);
    CHECK(parse_query("").empty());
    CHECK(parse_query("&&").empty());
    CHECK(parse_query("a=b=c") == std::vector<query_param>{{"a", "b=c"}});
}

} // namespace
