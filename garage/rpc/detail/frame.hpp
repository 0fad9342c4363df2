#pragma once
// The wire format of a link after the handshake (private; documented here for reviewers).
//
// Every frame is a 12-byte header and a payload:
//   u32 BE request id | u8 kind | u8 flags | u8 priority | u8 reserved (0) | u32 BE payload length
// A logical message (request or response) is cut into frames of at most max_frame_size payload
// bytes; the last has flag `final`. Frames of different messages interleave by priority.
//   request  = u8 path length | path | u32 version | u32 message length | message | body
//   response = u8 0 | u32 version | u32 message length | message | body
//            | u8 1 | u32 code | u8 category length | category name | u32 text length | text
//   cancel   : empty payload, names one of the receiver's incoming requests
//   goaway   : u32 code (garage.rpc) | text; the sender closes the connection after it

#include <garage/rpc/message.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace garage::rpc::detail {

inline constexpr std::size_t frame_header_size = 12;

enum class frame_kind : std::uint8_t {
    request = 1,
    response = 2,
    cancel = 3,
    goaway = 4,
};

inline constexpr std::uint8_t frame_final = 0x01;

struct frame_header {
    std::uint32_t id = 0;
    frame_kind kind = frame_kind::request;
    std::uint8_t flags = 0;
    std::uint8_t prio = 0;
    std::uint32_t length = 0;
};

inline void put_u32(std::string& out, std::uint32_t v)
{
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

inline std::uint32_t get_u32(unsigned char const* p) noexcept
{
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

inline void encode_frame_header(frame_header const& h, unsigned char* out) noexcept
{
    out[0] = static_cast<unsigned char>(h.id >> 24);
    out[1] = static_cast<unsigned char>(h.id >> 16);
    out[2] = static_cast<unsigned char>(h.id >> 8);
    out[3] = static_cast<unsigned char>(h.id);
    out[4] = static_cast<unsigned char>(h.kind);
    out[5] = h.flags;
    out[6] = h.prio;
    out[7] = 0;
    out[8] = static_cast<unsigned char>(h.length >> 24);
    out[9] = static_cast<unsigned char>(h.length >> 16);
    out[10] = static_cast<unsigned char>(h.length >> 8);
    out[11] = static_cast<unsigned char>(h.length);
}

/// Decodes a header; `std::nullopt` for an unknown kind or a nonzero reserved byte.
inline std::optional<frame_header> decode_frame_header(unsigned char const* in) noexcept
{
    frame_header h;
    h.id = get_u32(in);
    if (in[4] < 1 || in[4] > 4 || in[7] != 0 || (in[5] & ~frame_final) != 0) {
        return std::nullopt;
    }
    h.kind = static_cast<frame_kind>(in[4]);
    h.flags = in[5];
    h.prio = in[6];
    h.length = get_u32(in + 8);
    return h;
}

/// A cursor over a received message, for decoding it field by field.
class reader {
public:
    explicit reader(std::string_view in) noexcept : in_(in) {}
    bool u8(std::uint8_t& v) noexcept
    {
        if (in_.size() < 1) {
            return false;
        }
        v = static_cast<std::uint8_t>(in_[0]);
        in_.remove_prefix(1);
        return true;
    }
    bool u32(std::uint32_t& v) noexcept
    {
        if (in_.size() < 4) {
            return false;
        }
        v = get_u32(reinterpret_cast<unsigned char const*>(in_.data()));
        in_.remove_prefix(4);
        return true;
    }
    bool bytes(std::size_t n, std::string_view& v) noexcept
    {
        if (in_.size() < n) {
            return false;
        }
        v = in_.substr(0, n);
        in_.remove_prefix(n);
        return true;
    }
    std::string_view rest() const noexcept { return in_; }

private:
    std::string_view in_;
};

} // namespace garage::rpc::detail
