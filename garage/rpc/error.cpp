#include <garage/rpc/error.hpp>

namespace garage::rpc {
namespace {

class rpc_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.rpc"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::handshake_failed:
            return "RPC handshake failed";
        case error::handshake_timeout:
            return "RPC handshake timed out";
        case error::auth_failed:
            return "peer does not know the rpc_secret";
        case error::version_mismatch:
            return "peer speaks another RPC protocol version";
        case error::wrong_peer:
            return "peer has an unexpected node id";
        case error::frame_too_large:
            return "RPC frame too large";
        case error::message_too_large:
            return "RPC message too large";
        case error::protocol_error:
            return "RPC protocol error";
        case error::connection_closed:
            return "RPC connection closed";
        case error::not_connected:
            return "not connected to that node";
        case error::timeout:
            return "RPC call timed out";
        case error::cancelled:
            return "RPC call cancelled";
        case error::no_such_endpoint:
            return "no such RPC endpoint";
        case error::unknown_version:
            return "unknown RPC message version";
        case error::decode_error:
            return "RPC message could not be decoded";
        case error::remote_error:
            return "remote RPC handler failed";
        case error::handler_failed:
            return "RPC handler threw an exception";
        case error::quorum_not_reached:
            return "quorum not reached";
        case error::shutting_down:
            return "shutting down";
        }
        return "unknown rpc error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        using util::condition;
        switch (static_cast<error>(ev)) {
        case error::auth_failed:
        case error::wrong_peer:
            return condition::forbidden;
        case error::handshake_failed:
        case error::version_mismatch:
        case error::frame_too_large:
        case error::message_too_large:
        case error::protocol_error:
        case error::unknown_version:
        case error::decode_error:
        case error::no_such_endpoint:
            return condition::bad_request;
        case error::handshake_timeout:
        case error::connection_closed:
        case error::not_connected:
        case error::timeout:
        case error::cancelled:
        case error::shutting_down:
            return condition::unavailable;
        case error::quorum_not_reached:
            return condition::quorum_not_reached;
        case error::remote_error:
        case error::handler_failed:
            return condition::internal;
        }
        return condition::internal;
    }
};

} // namespace

boost::system::error_category const& rpc_category() noexcept
{
    static rpc_category_impl const instance;
    return instance;
}

} // namespace garage::rpc
