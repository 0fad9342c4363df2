#pragma once
/** @file
    Binary encoding of values with cereal's portable binary archive, into and out of byte
    strings without the copies of `std::stringstream`.

    Every persisted or transmitted structure (table entries, RPC messages) goes through
    @ref garage::util::encode and @ref garage::util::decode. A leading format byte lets a later
    version change the encoding while still reading what an older one wrote; within a format,
    types evolve through cereal class versions.
*/

#include <garage/util/error.hpp>

#include <cereal/archives/portable_binary.hpp>

#include <istream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace garage::util {

/// The format byte that prefixes every value written by @ref encode.
inline constexpr char codec_format_v1 = '\x01';

namespace detail {

/// A write-only streambuf that appends to a `std::string`.
class string_sink final : public std::streambuf {
public:
    void reset(std::string* out) noexcept { out_ = out; }

protected:
    std::streamsize xsputn(char const* s, std::streamsize n) override
    {
        out_->append(s, static_cast<std::size_t>(n));
        return n;
    }
    int_type overflow(int_type ch) override
    {
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            out_->push_back(traits_type::to_char_type(ch));
        }
        return traits_type::not_eof(ch);
    }

private:
    std::string* out_ = nullptr;
};

/// A read-only streambuf over borrowed bytes.
class view_source final : public std::streambuf {
public:
    void reset(std::string_view in) noexcept
    {
        char* p = const_cast<char*>(in.data()); // never written: this buffer has no put area
        setg(p, p, p + in.size());
    }
    /// Bytes not consumed yet.
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }
};

/// Streams are costly to construct (locale set-up); each thread keeps one of each.
/// A nested call (a `serialize` that itself encodes) gets fresh streams.
struct codec_streams {
    string_sink sink;
    view_source source;
    std::ostream os{&sink};
    std::istream is{&source};
    bool busy = false;
};

/// Lends the thread's streams, or fresh ones to a nested call, for the lifetime of the lease.
class stream_lease {
public:
    stream_lease() : streams_(shared())
    {
        if (streams_->busy) {
            own_ = std::make_unique<codec_streams>();
            streams_ = own_.get();
        }
        streams_->busy = true;
        streams_->os.clear();
        streams_->is.clear();
    }
    stream_lease(stream_lease const&) = delete;
    stream_lease& operator=(stream_lease const&) = delete;
    ~stream_lease()
    {
        streams_->sink.reset(nullptr);
        streams_->source.reset({});
        streams_->busy = false;
    }
    codec_streams* operator->() const noexcept { return streams_; }

private:
    static codec_streams* shared()
    {
        thread_local codec_streams s;
        return &s;
    }
    codec_streams* streams_;
    std::unique_ptr<codec_streams> own_;
};

} // namespace detail

/** Appends the encoding of `value` to `out`.

    @tparam T A type cereal can save (a `serialize` or `save` member or free function).
    @param value The value.
    @param out   The string to append to.
*/
template <class T>
void encode_to(T const& value, std::string& out)
{
    out.push_back(codec_format_v1);
    detail::stream_lease st;
    st->sink.reset(&out);
    cereal::PortableBinaryOutputArchive ar(st->os);
    ar(value);
}

/** Encodes a value.
    @tparam T A type cereal can save.
    @param value The value.
    @return The encoding of `value` as a new byte string, format byte first. */
template <class T>
std::string encode(T const& value)
{
    std::string out;
    encode_to(value, out);
    return out;
}

/** Decodes a value written by @ref encode.

    @tparam T A default-constructible type cereal can load.
    @param bytes The encoding, format byte first.
    @return The value; `error::decode_error` when the bytes are truncated, have trailing
            garbage, or carry an unknown format byte; the message says which.
*/
template <class T>
result<T> decode(std::string_view bytes)
{
    if (bytes.empty()) {
        return failure(error::decode_error, "empty value");
    }
    if (bytes.front() != codec_format_v1) {
        return failure(error::decode_error,
                       "unknown format byte " + std::to_string(static_cast<unsigned char>(bytes.front())));
    }
    detail::stream_lease st;
    st->source.reset(bytes.substr(1));
    T value{};
    try {
        cereal::PortableBinaryInputArchive ar(st->is);
        ar(value);
    } catch (std::exception const& e) {
        return failure(error::decode_error, e.what());
    }
    auto const left = st->source.remaining();
    if (left != 0) {
        return failure(error::decode_error, std::to_string(left) + " trailing bytes");
    }
    return value;
}

} // namespace garage::util
