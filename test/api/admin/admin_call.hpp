#pragma once
// One admin API request over a fresh TCP connection, as the `garage` command sends it; shared by
// the admin API tests.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <string>

namespace garage::test {

/** Sends `method target` with `body` to 127.0.0.1:`port`, with `Authorization: Bearer token`
    unless `token` is empty, and reads the whole response. */
inline boost::beast::http::response<boost::beast::http::string_body>
admin_call(boost::asio::io_context& client, std::uint16_t port, boost::beast::http::verb method,
           std::string target, std::string body, std::string const& token)
{
    namespace http = boost::beast::http;
    boost::asio::ip::tcp::socket s(client);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty()) {
        req.set(http::field::authorization, "Bearer " + token);
    }
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    return res;
}

} // namespace garage::test
