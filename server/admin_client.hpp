#pragma once
// The `garage` command's client of a node's admin API (Garage's CLI speaks its RPC instead; this
// one speaks the documented HTTP API, so it also works against a node behind a proxy).

#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace garage::server {

/// A JSON answer of the admin API, or its error.
struct admin_reply {
    unsigned status = 0;
    boost::json::value body;
};

/** Calls the admin API of the node described by a configuration: `[admin] api_bind_addr`
    (a wildcard address is reached on loopback) with `[admin] admin_token`. */
class admin_client {
public:
    explicit admin_client(util::config const& cfg);

    /** Sends one request. @return the reply, or a failure if the node cannot be reached or
        answers with an error (the failure's message is the API's message). */
    util::result<boost::json::value> call(std::string_view method, std::string const& target,
                                          boost::json::value const* body = nullptr) const;

private:
    util::config cfg_;
};

} // namespace garage::server
