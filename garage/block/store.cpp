#include <garage/block/store.hpp>

#include <garage/block/detail/file_io.hpp>
#include <garage/block/error.hpp>

#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace garage::block {
namespace {

namespace fs = std::filesystem;

/// The largest file a valid block can be: a zstd frame of `max_block_size` bytes.
std::size_t max_file_size(block_encoding enc) noexcept
{
    return enc == block_encoding::plain ? max_block_size : ZSTD_compressBound(max_block_size);
}

bool is_lower_hex(std::string_view s) noexcept
{
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The value of a folder name of two lower-case hex digits, or -1.
int folder_byte(std::string const& name) noexcept
{
    if (name.size() != 2 || !is_lower_hex(name)) {
        return -1;
    }
    auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    return digit(name[0]) * 16 + digit(name[1]);
}

/// The sorted byte values of the block folders directly under `dir`.
std::vector<int> list_folders(fs::path const& dir)
{
    std::vector<int> out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) {
            detail::log_warn("scrub: cannot list " + dir.string() + ": " + ec.message());
        }
        return out;
    }
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code tec;
        int const b = folder_byte(it->path().filename().string());
        if (b >= 0 && it->is_directory(tec)) {
            out.push_back(b);
        }
    }
    if (ec) {
        detail::log_warn("scrub: cannot list " + dir.string() + ": " + ec.message());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string byte_name(int b)
{
    static constexpr char digits[] = "0123456789abcdef";
    return {digits[(b >> 4) & 0xf], digits[b & 0xf]};
}

/// What a file in a block folder is.
enum class file_kind { plain, compressed, temporary, other };

struct classified {
    file_kind kind = file_kind::other;
    util::hash32 hash;
};

classified classify(std::string const& name)
{
    classified c;
    if (name.size() < 64 || !is_lower_hex(std::string_view(name).substr(0, 64))) {
        return c;
    }
    auto h = util::hash32::from_hex(std::string_view(name).substr(0, 64));
    if (!h) {
        return c;
    }
    c.hash = *h;
    std::string_view rest = std::string_view(name).substr(64);
    if (rest.empty()) {
        c.kind = file_kind::plain;
    } else if (rest == ".zst") {
        c.kind = file_kind::compressed;
    } else if (rest.starts_with(".tmp") || rest.starts_with(".zst.tmp")) {
        c.kind = file_kind::temporary;
    }
    return c;
}

} // namespace

block_store::block_store(data_layout layout, bool data_fsync, bool prefer_compressed)
    : layout_(std::make_shared<data_layout const>(std::move(layout))), data_fsync_(data_fsync),
      prefer_compressed_(prefer_compressed)
{
}

std::shared_ptr<data_layout const> block_store::drop_secondary_locations()
{
    auto next = std::make_shared<data_layout const>(layout_.load()->without_secondary_locations());
    layout_.store(next);
    return next;
}

std::optional<block_location> block_store::find(util::hash32 const& h) const
{
    auto const layout = layout_.load();
    auto const part = data_layout::partition_of(h);
    auto const prim = layout->primary(part);
    auto const order = prefer_compressed_
                           ? std::array<block_encoding, 2>{block_encoding::compressed, block_encoding::plain}
                           : std::array<block_encoding, 2>{block_encoding::plain, block_encoding::compressed};
    auto try_dir = [&](data_layout::dir_index d) -> std::optional<block_location> {
        auto const folder = data_layout::block_dir(layout->data_dirs().at(d).path, h);
        for (auto enc : order) {
            auto path = folder / data_layout::block_file_name(h, enc == block_encoding::compressed);
            std::error_code ec;
            if (fs::is_regular_file(path, ec)) {
                return block_location{std::move(path), enc, d, d == prim};
            }
        }
        return std::nullopt;
    };
    if (auto l = try_dir(prim)) {
        return l;
    }
    for (auto d : layout->secondaries(part)) {
        if (auto l = try_dir(d)) {
            return l;
        }
    }
    return std::nullopt;
}

std::vector<block_location> block_store::find_all(util::hash32 const& h) const
{
    std::vector<block_location> out;
    auto const layout = layout_.load();
    auto const part = data_layout::partition_of(h);
    auto const prim = layout->primary(part);
    std::vector<data_layout::dir_index> dirs{prim};
    for (auto d : layout->secondaries(part)) {
        if (d != prim) {
            dirs.push_back(d);
        }
    }
    for (auto d : dirs) {
        auto const folder = data_layout::block_dir(layout->data_dirs().at(d).path, h);
        for (auto enc : {block_encoding::compressed, block_encoding::plain}) {
            auto path = folder / data_layout::block_file_name(h, enc == block_encoding::compressed);
            std::error_code ec;
            if (fs::is_regular_file(path, ec)) {
                out.push_back({std::move(path), enc, d, d == prim});
            }
        }
    }
    return out;
}

util::result<void> block_store::write(util::hash32 const& h, data_block const& blk)
{
    std::lock_guard lock(mutex_of(h));
    return write_locked(h, blk);
}

util::result<void> block_store::write_locked(util::hash32 const& h, data_block const& blk)
{
    auto const existing = find(h);
    auto const folder = layout_.load()->primary_block_dir(h);
    auto const target = folder / data_layout::block_file_name(h, blk.is_compressed());

    std::optional<fs::path> to_delete;
    if (existing) {
        bool const existing_compressed = existing->encoding == block_encoding::compressed;
        bool keep = false;
        if (existing_compressed) {
            // A compressed copy is as good as any: keep it, unless it is outside the primary
            // directory and we have a compressed copy to put there.
            keep = !(blk.is_compressed() && existing->path != target);
        } else if (!blk.is_compressed()) {
            keep = existing->path == target;
        }
        if (keep) {
            detail::touch(existing->path);
            return {};
        }
        to_delete = existing->path;
    }

    if (auto p = put_file(folder, target, blk.bytes()); !p) {
        return p;
    }
    std::error_code ec;
    if (to_delete && *to_delete != target) {
        fs::remove(*to_delete, ec);
        if (ec) {
            // The new copy is in place; the old one is only wasted space (e.g. a read-only mount).
            detail::log_warn("cannot remove superseded block file " + to_delete->string() + ": " +
                             ec.message());
        } else if (data_fsync_) {
            if (auto s = detail::fsync_dir(to_delete->parent_path()); !s) {
                return s.error();
            }
        }
    }
    if (data_fsync_) {
        // The rename is durable once the folder is synced (the file itself was synced before).
        if (auto s = detail::fsync_dir(folder); !s) {
            return s.error();
        }
    }
    return {};
}

util::result<void> block_store::put_file(fs::path const& folder, fs::path const& target,
                                         std::string_view bytes) const
{
    std::error_code ec;
    auto tmp = target;
    tmp += ".tmp" + detail::random_hex8();
    // The folder exists for all but the first block written under it: try the write first and
    // create the folder only when that failed for want of it (a stat and a mkdir saved per block).
    if (auto w = detail::write_new_file(tmp, bytes, data_fsync_, true); !w) {
        if (fs::is_directory(folder, ec)) {
            return w.error();
        }
        fs::create_directories(folder, ec);
        if (ec) {
            return detail::io_failure(ec, "cannot create block folder", folder);
        }
        if (data_fsync_) {
            // the new folders' entries in their parents (aa/ in the data dir, bb/ in aa/)
            for (auto const& d : {folder.parent_path(), folder.parent_path().parent_path()}) {
                if (auto s = detail::fsync_dir(d); !s) {
                    return s.error();
                }
            }
        }
        if (auto again = detail::write_new_file(tmp, bytes, data_fsync_, true); !again) {
            return again.error();
        }
    }
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
        int const e = errno;
        std::remove(tmp.c_str());
        return detail::io_failure(e, "cannot rename block file into", target);
    }
    return {};
}

util::result<std::optional<data_block>> block_store::read(block_location const& loc) const
{
    return read_file(loc, nullptr);
}

util::result<std::optional<data_block>> block_store::read(block_location const& loc, bool& intact) const
{
    return read_file(loc, &intact);
}

util::result<std::optional<data_block>> block_store::read_file(block_location const& loc, bool* intact) const
{
    std::string bytes;
    std::optional<std::uint64_t> tag;
    auto r = detail::read_file_limited(loc.path, max_file_size(loc.encoding), bytes,
                                       intact != nullptr ? &tag : nullptr);
    if (intact != nullptr) {
        *intact = r && *r == detail::read_status::ok && tag && detail::content_crc64(bytes) == *tag;
    }
    if (!r) {
        return r.error();
    }
    switch (*r) {
    case detail::read_status::ok:
        return std::optional<data_block>(std::in_place, loc.encoding, std::move(bytes));
    case detail::read_status::not_found:
        return std::optional<data_block>();
    case detail::read_status::too_large:
        break;
    }
    return util::failure(error::corrupt_block,
                         "block file " + loc.path.string() + " is larger than any valid block");
}

util::result<bool> block_store::quarantine(util::hash32 const& h, block_location const& loc)
{
    std::lock_guard lock(mutex_of(h));
    auto target = loc.path;
    target += ".corrupted";
    if (std::rename(loc.path.c_str(), target.c_str()) != 0) {
        int const e = errno;
        if (e == ENOENT) {
            return false;
        }
        return detail::io_failure(e, "cannot rename corrupted block file", loc.path);
    }
    corruptions_.fetch_add(1, std::memory_order_relaxed);
    detail::log_warn("block " + h.to_hex() + " is corrupted: " + loc.path.string() + " renamed to " +
                     target.filename().string());
    return true;
}

util::result<std::size_t> block_store::delete_if(
    util::hash32 const& h,
    std::function<util::result<bool>(std::vector<block_location> const&)> const& still_unneeded)
{
    std::lock_guard lock(mutex_of(h));
    auto const copies = find_all(h);
    if (copies.empty()) {
        return std::size_t(0);
    }
    auto ok = still_unneeded(copies);
    if (!ok) {
        return ok.error();
    }
    if (!*ok) {
        return std::size_t(0);
    }
    std::size_t removed = 0;
    std::optional<util::failure> first_error;
    for (auto const& c : copies) {
        std::error_code ec;
        if (fs::remove(c.path, ec)) {
            ++removed;
            if (data_fsync_) {
                if (auto s = detail::fsync_dir(c.path.parent_path()); !s && !first_error) {
                    first_error = s.error();
                }
            }
        } else if (ec && !first_error) {
            first_error = detail::io_failure(ec, "cannot delete block file", c.path);
        }
    }
    if (first_error) {
        return *first_error;
    }
    return removed;
}

bool block_store::next_folder(scrub_cursor& c) const
{
    auto const layout = layout_.load();
    auto const& dirs = layout->data_dirs();
    while (c.dir_ < dirs.size()) {
        auto const& root = dirs[c.dir_].path;
        int const from0 = static_cast<int>(c.prefix_ >> 8);
        int const from1 = static_cast<int>(c.prefix_ & 0xff);
        if (c.prefix_ < 65536) {
            for (int b0 : list_folders(root)) {
                if (b0 < from0) {
                    continue;
                }
                auto const sub = root / byte_name(b0);
                for (int b1 : list_folders(sub)) {
                    if (b0 == from0 && b1 < from1) {
                        continue;
                    }
                    auto const leaf = sub / byte_name(b1);
                    std::vector<fs::path> files;
                    std::error_code ec;
                    fs::directory_iterator it(leaf, ec);
                    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
                        std::error_code tec;
                        if (it->is_regular_file(tec)) {
                            files.push_back(it->path());
                        }
                    }
                    if (ec && ec != std::errc::no_such_file_or_directory) {
                        detail::log_warn("scrub: cannot list " + leaf.string() + ": " + ec.message());
                    }
                    std::sort(files.begin(), files.end());
                    c.pending_.assign(files.begin(), files.end());
                    c.prefix_ = static_cast<std::uint32_t>((b0 << 8) | b1);
                    c.in_folder_ = true;
                    return true;
                }
            }
        }
        ++c.dir_;
        c.prefix_ = 0;
    }
    c.finished_ = true;
    return false;
}

util::result<scrub_step_result> block_store::scrub_step(scrub_cursor& c)
{
    scrub_step_result out;
    for (;;) {
        if (c.finished_) {
            out.finished = true;
            return out;
        }
        if (c.pending_.empty()) {
            if (c.in_folder_) {
                ++c.prefix_;
                c.in_folder_ = false;
            }
            next_folder(c);
            continue;
        }
        auto const path = c.pending_.front();
        auto const kind = classify(path.filename().string());
        if (kind.kind == file_kind::temporary) {
            // Writes hold the block's mutex from creating their temporary file to renaming
            // it: with the mutex held, a temporary file of this block is a leftover.
            std::lock_guard lock(mutex_of(kind.hash));
            std::error_code ec;
            if (fs::remove(path, ec)) {
                ++out.removed_temporaries;
            }
            c.pending_.pop_front();
            continue;
        }
        if (kind.kind == file_kind::other) {
            c.pending_.pop_front();
            continue;
        }
        auto const dir = static_cast<data_layout::dir_index>(c.dir_);
        block_location loc{
            path, kind.kind == file_kind::compressed ? block_encoding::compressed : block_encoding::plain,
            dir, layout_.load()->primary(data_layout::partition_of(kind.hash)) == dir};
        auto raw = read(loc);
        if (!raw && raw.error().code != make_error_code(error::corrupt_block)) {
            return raw.error(); // an I/O error: the same file is tried again at the next step
        }
        c.pending_.pop_front();
        if (raw && !*raw) {
            continue; // gone since the folder was listed
        }
        out.checked = kind.hash;
        bool const bad = !raw || !(*raw)->verify(kind.hash);
        if (bad) {
            auto q = quarantine(kind.hash, loc);
            if (!q) {
                return q.error();
            }
            out.corrupt = *q;
        }
        return out;
    }
}

} // namespace garage::block

namespace garage::block {

std::vector<util::hash32> block_store::list_step(scrub_cursor& c, std::size_t max) const
{
    std::vector<util::hash32> out;
    while (out.size() < max && !c.finished_) {
        if (c.pending_.empty()) {
            if (c.in_folder_) {
                ++c.prefix_;
                c.in_folder_ = false;
            }
            next_folder(c);
            continue;
        }
        auto const kind = classify(c.pending_.front().filename().string());
        c.pending_.pop_front();
        if (kind.kind == file_kind::plain || kind.kind == file_kind::compressed) {
            if (out.empty() || out.back() != kind.hash) { // `x` and `x.zst` side by side
                out.push_back(kind.hash);
            }
        }
    }
    return out;
}

util::result<std::optional<std::uint64_t>>
block_store::move_to_primary(util::hash32 const& h, block_location const& loc, bool& dropped)
{
    dropped = false;
    // Read and verify without the lock (reads take none); the copy is re-checked under it.
    auto raw = read(loc);
    if (!raw && raw.error().code != make_error_code(error::corrupt_block)) {
        return raw.error();
    }
    if (raw && !*raw) {
        return std::optional<std::uint64_t>(); // gone since the folder was listed
    }
    if (!raw || !(*raw)->verify(h)) {
        if (auto q = quarantine(h, loc); !q) {
            return q.error();
        }
        return util::failure(error::corrupt_block, "block " + h.to_hex() + ": copy " + loc.path.string() +
                                                       " is corrupted; set aside instead of moved");
    }
    std::lock_guard lock(mutex_of(h));
    std::error_code ec;
    if (!fs::is_regular_file(loc.path, ec)) {
        return std::optional<std::uint64_t>(); // deleted (GC) or moved meanwhile: nothing to do
    }
    auto const copies = find_all(h);
    bool const has_primary =
        std::any_of(copies.begin(), copies.end(), [](block_location const& c) { return c.primary; });
    std::optional<std::uint64_t> moved;
    if (!has_primary) {
        auto const folder = layout_.load()->primary_block_dir(h);
        auto const target =
            folder / data_layout::block_file_name(h, loc.encoding == block_encoding::compressed);
        if (auto p = put_file(folder, target, (*raw)->bytes()); !p) {
            return p.error();
        }
        if (data_fsync_) {
            if (auto d = detail::fsync_dir(folder); !d) {
                return d.error();
            }
        }
        moved = (*raw)->bytes().size();
    }
    fs::remove(loc.path, ec);
    if (ec) {
        return detail::io_failure(ec, "cannot remove block file after moving it", loc.path);
    }
    if (data_fsync_) {
        if (auto d = detail::fsync_dir(loc.path.parent_path()); !d) {
            return d.error();
        }
    }
    dropped = !moved.has_value();
    return moved;
}

util::result<rebalance_step_result> block_store::rebalance_step(scrub_cursor& c, std::size_t max)
{
    rebalance_step_result out;
    auto const layout = layout_.load();
    while (out.files < max && !c.finished_) {
        if (c.pending_.empty()) {
            if (c.in_folder_) {
                ++c.prefix_;
                c.in_folder_ = false;
            }
            next_folder(c);
            continue;
        }
        auto const path = c.pending_.front();
        auto const kind = classify(path.filename().string());
        if (kind.kind != file_kind::plain && kind.kind != file_kind::compressed) {
            c.pending_.pop_front();
            continue;
        }
        ++out.files;
        auto const dir = static_cast<data_layout::dir_index>(c.dir_);
        if (layout->primary(data_layout::partition_of(kind.hash)) == dir) {
            c.pending_.pop_front();
            continue;
        }
        block_location const loc{
            path, kind.kind == file_kind::compressed ? block_encoding::compressed : block_encoding::plain,
            dir, false};
        bool dropped = false;
        auto moved = move_to_primary(kind.hash, loc, dropped);
        if (!moved) {
            if (moved.error().code != make_error_code(error::corrupt_block)) {
                return moved.error(); // the same file is tried again at the next step
            }
            out.corrupt.push_back(kind.hash);
        } else if (*moved) {
            ++out.moved;
            out.moved_bytes += **moved;
        } else if (dropped) {
            ++out.dropped;
        }
        c.pending_.pop_front();
    }
    out.finished = c.finished_;
    return out;
}

} // namespace garage::block
