// Test that header file is self-contained.
#include <garage/api/k2v/error.hpp>

#include <garage/api/common/error.hpp>

#include <boost/json.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using api::k2v::k2v_error;

TEST_CASE("k2v errors have Garage's codes and statuses", "[api][k2v][error]")
{
    CHECK(k2v_error::invalid_causality_token().code == "CausalityToken");
    CHECK(k2v_error::invalid_causality_token().status == 400);
    CHECK(k2v_error::no_such_key().status == 404);
    CHECK(k2v_error::not_acceptable("x").status == 406);
    CHECK(k2v_error::bad_request("x").code == "InvalidRequest");
    CHECK(k2v_error::forbidden("x").status == 403);
}

TEST_CASE("failures of other layers map to k2v errors", "[api][k2v][error]")
{
    auto e = api::k2v::to_k2v_error(util::failure(api::error::signature_does_not_match, "bad sig"));
    CHECK(e.code == "SignatureDoesNotMatch");
    CHECK(e.status == 403);
    CHECK(e.message == "bad sig");
}

TEST_CASE("the error body is Garage's json object", "[api][k2v][error]")
{
    auto const body = api::k2v::error_json(k2v_error::no_such_key(), "/b/p", "garage");
    auto const v = boost::json::parse(body).as_object();
    CHECK(v.at("code").as_string() == "NoSuchKey");
    CHECK(v.at("message").as_string() == "Key not found");
    CHECK(v.at("path").as_string() == "/b/p");
    CHECK(v.at("region").as_string() == "garage");
}

} // namespace
