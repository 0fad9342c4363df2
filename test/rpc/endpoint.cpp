// Test that header file is self-contained.
#include <garage/rpc/endpoint.hpp>

#include <test/rpc/fixture.hpp>

#include <cereal/types/string.hpp>

#include <catch2/catch.hpp>

namespace {

namespace rpc = garage::rpc;
namespace util = garage::util;
namespace net = boost::asio;
using garage::test::rpc_cluster;

struct echo_request {
    std::string text;
    std::uint64_t n = 0;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(text, n);
    }
};

struct echo_response {
    std::string text;
    std::uint64_t twice = 0;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(text, twice);
    }
};

struct echo_endpoint {
    static constexpr std::string_view path = "test/typed/echo";
    using request_type = echo_request;
    using response_type = echo_response;
};

// Two generations of one message: v2 adds a field (class version 1).
struct greeting_v1 {
    std::string name;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(name);
    }
};
struct greeting_v2 {
    std::string name;
    std::string language;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const version)
    {
        ar(name);
        if (version >= 1) {
            ar(language);
        }
    }
};
struct greeting_reply {
    std::string text;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(text);
    }
};

} // namespace

CEREAL_CLASS_VERSION(greeting_v2, 1)

namespace {

struct greet_v1_endpoint {
    static constexpr std::string_view path = "test/typed/greet";
    using request_type = greeting_v1;
    using response_type = greeting_reply;
};
struct greet_v2_endpoint {
    static constexpr std::string_view path = "test/typed/greet";
    using request_type = greeting_v2;
    using response_type = greeting_reply;
};

struct block_request {
    std::uint64_t offset = 0;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(offset);
    }
};
struct block_endpoint {
    static constexpr std::string_view path = "test/typed/block";
    using request_type = block_request;
    using response_type = block_request;
};

struct not_serializable {
    int x = 0;
};
struct no_path {
    using request_type = echo_request;
    using response_type = echo_response;
};
struct bad_message_endpoint {
    static constexpr std::string_view path = "x";
    using request_type = not_serializable;
    using response_type = echo_response;
};

static_assert(rpc::rpc_message<echo_request>);
static_assert(rpc::rpc_message<greeting_v2>);
static_assert(!rpc::rpc_message<not_serializable>);
static_assert(rpc::endpoint<echo_endpoint>);
static_assert(!rpc::endpoint<no_path>);
static_assert(!rpc::endpoint<bad_message_endpoint>);

using echo_result = net::awaitable<util::result<echo_response>>;
using greet_result = net::awaitable<util::result<greeting_reply>>;

static_assert(rpc::plain_handler_for<echo_result (*)(util::node_id, echo_request), echo_endpoint>);
static_assert(!rpc::plain_handler_for<echo_result (*)(util::node_id, greeting_v1), echo_endpoint>);

TEST_CASE("a typed call encodes, reaches the handler with the caller's id, and decodes the response",
          "[rpc][endpoint]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    util::node_id seen_from;
    rpc::serve<echo_endpoint>(b, [&seen_from](util::node_id from, echo_request req) -> echo_result {
        seen_from = from;
        co_return echo_response{req.text + "!", req.n * 2};
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const up = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(up);
        echo_request const hi{"hi", 21};
        auto const r = co_await rpc::call<echo_endpoint>(a, b.id(), hi, {rpc::priority::high, {}});
        REQUIRE(r);
        CHECK(r->text == "hi!");
        CHECK(r->twice == 42);
        CHECK(seen_from == a.id());

        // b's handler is reachable from b itself, without a link.
        echo_request const me{"me", 1};
        auto const self = co_await rpc::call<echo_endpoint>(b, b.id(), me);
        REQUIRE(self);
        CHECK(self->twice == 2);
    };
    c.run(body);
}

TEST_CASE("a message of an unknown newer version gets an error response and the link stays up",
          "[rpc][endpoint]")
{
    rpc_cluster c;
    auto& old_node = c.add();
    auto& new_node = c.add();
    int old_calls = 0;
    rpc::serve<greet_v1_endpoint>(old_node, [&old_calls](util::node_id, greeting_v1 g) -> greet_result {
        ++old_calls;
        co_return greeting_reply{"hello " + g.name};
    });
    rpc::serve<greet_v2_endpoint>(new_node, [](util::node_id, greeting_v2 g) -> greet_result {
        co_return greeting_reply{"hello " + g.name + " in " + (g.language.empty() ? "default" : g.language)};
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const up = co_await new_node.connect(c.endpoint_of(old_node), old_node.id());
        REQUIRE(up);
        CHECK(rpc::message_version<greeting_v2>() == 1);
        CHECK(rpc::message_version<greeting_v1>() == 0);

        greeting_v2 const ann{"ann", "fr"};
        auto const too_new = co_await rpc::call<greet_v2_endpoint>(new_node, old_node.id(), ann);
        REQUIRE_FALSE(too_new);
        CHECK(too_new.error().code == rpc::error::unknown_version);
        CHECK(too_new.error().message.find("version 1") != std::string::npos);
        CHECK(old_calls == 0);
        CHECK(new_node.is_connected(old_node.id()));

        // The older message still works both ways: v1 to the old node, and v1 read by the newer node.
        greeting_v1 const bob{"bob"};
        auto const same = co_await rpc::call<greet_v1_endpoint>(new_node, old_node.id(), bob);
        REQUIRE(same);
        CHECK(same->text == "hello bob");
        greeting_v1 const cy{"cy"};
        auto const older = co_await rpc::call<greet_v1_endpoint>(old_node, new_node.id(), cy);
        REQUIRE(older);
        CHECK(older->text == "hello cy in default");
    };
    c.run(body);
}

TEST_CASE("an undecodable message gets a decode error and the link stays up", "[rpc][endpoint]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    int calls = 0;
    rpc::serve<echo_endpoint>(b, [&calls](util::node_id, echo_request req) -> echo_result {
        ++calls;
        co_return echo_response{req.text, 0};
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const up = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(up);
        rpc::raw_message junk;
        junk.message = "\x01garbage that is not an echo_request";
        auto const r = co_await a.call(b.id(), std::string(echo_endpoint::path), junk);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::decode_error);
        CHECK(calls == 0);
        echo_request const fine{"fine", 0};
        auto const ok = co_await rpc::call<echo_endpoint>(a, b.id(), fine);
        REQUIRE(ok);
        CHECK(calls == 1);
    };
    c.run(body);
}

TEST_CASE("a typed call carries a body with the request and the response", "[rpc][endpoint]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    rpc::serve<block_endpoint>(b,
                               [](util::node_id, rpc::with_body<block_request> req)
                                   -> net::awaitable<util::result<rpc::with_body<block_request>>> {
                                   co_return rpc::with_body<block_request>{
                                       block_request{req.message.offset + req.body.size()},
                                       req.body.substr(static_cast<std::size_t>(req.message.offset))};
                               });

    auto body = [&]() -> net::awaitable<void> {
        auto const up = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(up);
        std::string data(3 << 20, '\0');
        for (std::size_t i = 0; i < data.size(); ++i) {
            data[i] = static_cast<char>(i * 7 + (i >> 13));
        }
        rpc::with_body<block_request> req{block_request{1000}, data};
        auto const r = co_await rpc::call_with_body<block_endpoint>(a, b.id(), std::move(req),
                                                                    {rpc::priority::background, {}});
        REQUIRE(r);
        CHECK(r->message.offset == 1000 + data.size());
        CHECK(r->body == data.substr(1000));
    };
    c.run(body);
}

} // namespace
