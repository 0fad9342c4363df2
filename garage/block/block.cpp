#include <garage/block/block.hpp>

#include <garage/block/error.hpp>
#include <garage/util/hasher.hpp>

#include <zstd.h>

#include <memory>

namespace garage::block {
namespace {

struct cctx_deleter {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct dctx_deleter {
    void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

/// Each thread keeps one compression and one decompression context (they are costly to set up).
ZSTD_CCtx* thread_cctx()
{
    thread_local std::unique_ptr<ZSTD_CCtx, cctx_deleter> ctx(ZSTD_createCCtx());
    return ctx.get();
}

ZSTD_DCtx* thread_dctx()
{
    thread_local std::unique_ptr<ZSTD_DCtx, dctx_deleter> ctx(ZSTD_createDCtx());
    return ctx.get();
}

/// Decompression window limit: enough for a frame of `max_block_size` bytes at any level.
constexpr int window_log_max = 28;

util::failure corrupt(std::string_view what)
{
    return util::failure(error::corrupt_block, std::string(what));
}

/** Streams the decompression of `frames` to `sink(char const*, size_t)`.
    @return `corrupt_block` on an invalid or truncated input, or more than `max_size` bytes. */
template <class Sink>
util::result<void> zstd_stream(std::string_view frames, std::size_t max_size, Sink&& sink)
{
    if (frames.empty()) {
        return corrupt("empty zstd data");
    }
    ZSTD_DCtx* d = thread_dctx();
    if (d == nullptr) {
        return util::failure(error::io_error, "cannot allocate a zstd decompression context");
    }
    ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, window_log_max);
    thread_local std::unique_ptr<char[]> buffer(new char[ZSTD_DStreamOutSize()]);
    std::size_t const cap = ZSTD_DStreamOutSize();
    ZSTD_inBuffer in{frames.data(), frames.size(), 0};
    std::size_t total = 0;
    for (;;) {
        ZSTD_outBuffer out{buffer.get(), cap, 0};
        std::size_t const in_before = in.pos;
        std::size_t const last = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(last)) {
            auto msg = std::string("invalid zstd data: ") + ZSTD_getErrorName(last);
            ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
            return corrupt(msg);
        }
        total += out.pos;
        if (total > max_size) {
            ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
            return corrupt("zstd data decompresses to more than " + std::to_string(max_size) + " bytes");
        }
        sink(buffer.get(), out.pos);
        if (last == 0 && in.pos == in.size) {
            break; // the last frame is complete and flushed
        }
        if (out.pos == 0 && in.pos == in_before) {
            // No progress: the input ended inside a frame.
            ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
            return corrupt("truncated zstd data");
        }
    }
    return {};
}

/** BLAKE2b of a block's bytes. OpenSSL's EVP BLAKE2b runs at about twice the speed of
    libb2's (used by `util::blake2sum`, best for short inputs) on megabyte buffers here. */
util::hash32 block_hash(std::string_view data)
{
    if (data.size() < 4096) {
        return util::blake2sum(data);
    }
    thread_local util::blake2b_hasher hasher;
    hasher.update(data);
    return hasher.finalize();
}

util::failure hash_mismatch(util::hash32 const& hash)
{
    return corrupt("data block " + hash.to_hex() + " does not match its hash");
}

} // namespace

util::result<std::string> zstd_compress(std::string_view data, int level)
{
    if (data.size() > max_block_size) {
        return util::failure(error::block_too_large, "cannot compress " + std::to_string(data.size()) +
                                                         " bytes (more than the block size limit)");
    }
    ZSTD_CCtx* c = thread_cctx();
    if (c == nullptr) {
        return util::failure(error::io_error, "cannot allocate a zstd compression context");
    }
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    std::string out;
    out.resize(ZSTD_compressBound(data.size()));
    std::size_t const n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) {
        return util::failure(error::io_error,
                             std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    }
    out.resize(n);
    return out;
}

util::result<std::string> zstd_decompress(std::string_view frames, std::size_t max_size)
{
    std::string out;
    auto const declared = ZSTD_getFrameContentSize(frames.data(), frames.size());
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR && declared <= max_size) {
        out.reserve(static_cast<std::size_t>(declared));
    }
    auto r = zstd_stream(frames, max_size, [&](char const* p, std::size_t n) { out.append(p, n); });
    if (!r) {
        return r.error();
    }
    return out;
}

namespace {

/// Whether compressing `data` is worth trying: large blocks are judged on two 32 KiB samples
/// (start and middle), so that already-compressed media (most large objects) costs no zstd pass.
bool worth_compressing(std::string_view data, int level)
{
    constexpr std::size_t sample = 32 * 1024;
    if (data.size() < 8 * sample) {
        return true;
    }
    for (std::size_t at : {std::size_t{0}, data.size() / 2}) {
        auto c = zstd_compress(data.substr(at, sample), level);
        if (!c || c->size() < sample - sample / 32) {
            return true; // (a failure is judged by the real attempt)
        }
    }
    return false;
}

} // namespace

data_block data_block::encode(std::string_view data, std::optional<int> compression_level)
{
    // Garage stores every block compressed when a level is set; a block that does not shrink
    // is kept plain here (smaller, and read without a decompression pass).
    if (compression_level && worth_compressing(data, *compression_level)) {
        if (auto c = zstd_compress(data, *compression_level); c && c->size() < data.size()) {
            return compressed(std::move(*c));
        }
    }
    return plain(std::string(data));
}

util::result<void> data_block::verify(util::hash32 const& hash, std::size_t max_plain) const
{
    if (!is_compressed()) {
        if (bytes_.size() > max_plain) {
            return corrupt("data block " + hash.to_hex() + " is larger than the block size limit");
        }
        if (block_hash(bytes_) != hash) {
            return hash_mismatch(hash);
        }
        return {};
    }
    util::blake2b_hasher hasher;
    auto r = zstd_stream(bytes_, max_plain,
                         [&](char const* p, std::size_t n) { hasher.update(std::string_view(p, n)); });
    if (!r) {
        return util::failure(error::corrupt_block, "data block " + hash.to_hex() + ": " + r.error().message);
    }
    if (hasher.finalize() != hash) {
        return hash_mismatch(hash);
    }
    return {};
}

util::result<std::string> data_block::decode(util::hash32 const& hash, std::size_t max_plain) const&
{
    if (!is_compressed()) {
        if (auto v = verify(hash, max_plain); !v) {
            return v.error();
        }
        return bytes_;
    }
    auto plain = zstd_decompress(bytes_, max_plain);
    if (!plain) {
        return util::failure(error::corrupt_block,
                             "data block " + hash.to_hex() + ": " + plain.error().message);
    }
    if (block_hash(*plain) != hash) {
        return hash_mismatch(hash);
    }
    return plain;
}

util::result<std::string> data_block::decode(util::hash32 const& hash, std::size_t max_plain) &&
{
    if (!is_compressed()) {
        if (auto v = verify(hash, max_plain); !v) {
            return v.error();
        }
        return std::move(bytes_);
    }
    return static_cast<data_block const&>(*this).decode(hash, max_plain);
}

} // namespace garage::block
