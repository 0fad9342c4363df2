// Test that header file is self-contained.
#include <garage/model/error.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

TEST_CASE("model errors have their category and map to generic conditions", "[model][error]")
{
    util::error_code const id = model::error::invalid_key_id;
    CHECK(std::string(id.category().name()) == "garage.model");
    CHECK(id == util::condition::bad_request);
    CHECK(util::error_code(model::error::invalid_secret_key) == util::condition::bad_request);
    CHECK(util::error_code(model::error::corrupt_counter) == util::condition::corrupt_data);
    CHECK_FALSE(util::error_code(model::error::corrupt_counter) == util::condition::bad_request);
    CHECK(id.message() == "invalid access key id");
    util::failure const f(model::error::invalid_secret_key, "bad secret");
    CHECK(f.is(util::condition::bad_request));
    CHECK(f.message == "bad secret");
}
} // namespace
