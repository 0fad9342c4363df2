#include <garage/block/layout.hpp>

#include <garage/block/detail/file_io.hpp>
#include <garage/block/error.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/persister.hpp>

#include <algorithm>
#include <cctype>
#include <system_error>

namespace garage::block {
namespace {

namespace fs = std::filesystem;
using dir_index = data_layout::dir_index;

/// The capacity given to the single directory of a plain `data_dir = "/path"`: any non-zero
/// value does, as it owns every slice.
constexpr std::uint64_t single_dir_capacity = 1'000'000'000;

bool is_hex_byte_name(std::string const& name)
{
    return name.size() == 2 && std::isxdigit(static_cast<unsigned char>(name[0])) &&
           std::isxdigit(static_cast<unsigned char>(name[1]));
}

/// The directories of a configuration, checked.
util::result<std::vector<data_dir>> make_data_dirs(std::span<util::data_dir_config const> config)
{
    if (config.empty()) {
        return util::failure(error::invalid_data_dirs, "no data directory is configured (data_dir)");
    }
    if (config.size() > 0xffff) {
        return util::failure(error::invalid_data_dirs, "too many data directories");
    }
    std::vector<data_dir> dirs;
    if (config.size() == 1 && !config[0].capacity && !config[0].read_only) {
        dirs.push_back({config[0].path.lexically_normal(), single_dir_capacity});
        return dirs;
    }
    bool any_writable = false;
    for (auto const& c : config) {
        auto const path = c.path.lexically_normal();
        if (path.empty()) {
            return util::failure(error::invalid_data_dirs, "a data directory has an empty path");
        }
        if (std::any_of(dirs.begin(), dirs.end(), [&](data_dir const& d) { return d.path == path; })) {
            return util::failure(error::invalid_data_dirs,
                                 "data directory " + path.string() + " is listed more than once");
        }
        if (c.capacity && !c.read_only) {
            if (*c.capacity == 0) {
                return util::failure(error::invalid_data_dirs,
                                     "data directory " + path.string() + " should have a non-zero capacity");
            }
            dirs.push_back({path, *c.capacity});
            any_writable = true;
        } else if (!c.capacity && c.read_only) {
            dirs.push_back({path, std::nullopt});
        } else {
            return util::failure(error::invalid_data_dirs,
                                 "data directory " + path.string() +
                                     " should have a capacity value or be marked read_only (not both)");
        }
    }
    if (!any_writable) {
        return util::failure(error::invalid_data_dirs,
                             "no writable data directory is configured (every one is read_only)");
    }
    return dirs;
}

/// True when `dir` holds a marker or block folders: it may contain blocks of any slice.
util::result<bool> dir_not_empty(fs::path const& dir)
{
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        return false;
    }
    fs::directory_iterator it(dir, ec);
    if (ec) {
        return detail::io_failure(ec, "cannot list data directory", dir);
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) {
            return detail::io_failure(ec, "cannot list data directory", dir);
        }
        auto const name = it->path().filename().string();
        std::error_code tec;
        if (name == marker_file_name && it->is_regular_file(tec)) {
            return true;
        }
        if (is_hex_byte_name(name) && it->is_directory(tec)) {
            return true;
        }
    }
    if (ec) {
        return detail::io_failure(ec, "cannot list data directory", dir);
    }
    return false;
}

/// The number of slices each directory should be primary for: proportional to capacity,
/// by cumulative rounding so that the counts add up to exactly `drive_npart`.
std::vector<std::size_t> target_counts(std::vector<data_dir> const& dirs)
{
    unsigned __int128 total = 0;
    for (auto const& d : dirs) {
        total += d.capacity.value_or(0);
    }
    std::vector<std::size_t> counts(dirs.size(), 0);
    unsigned __int128 cum = 0;
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (!dirs[i].capacity) {
            continue;
        }
        auto const begin = static_cast<std::size_t>(cum * drive_npart / total);
        cum += *dirs[i].capacity;
        auto const end = static_cast<std::size_t>(cum * drive_npart / total);
        counts[i] = end - begin;
    }
    return counts;
}

void add_unique(std::vector<dir_index>& v, dir_index d)
{
    if (std::find(v.begin(), v.end(), d) == v.end()) {
        v.push_back(d);
    }
}

util::result<std::optional<std::string>> read_marker(fs::path const& path)
{
    std::string content;
    auto r = detail::read_file_limited(path, 4096, content);
    if (!r) {
        return r.error();
    }
    switch (*r) {
    case detail::read_status::ok:
        return std::optional<std::string>(std::move(content));
    case detail::read_status::not_found:
        return std::optional<std::string>();
    case detail::read_status::too_large:
        break;
    }
    return util::failure(error::layout_mismatch,
                         "marker file " + path.string() + " is not a garage-marker (too large)");
}

} // namespace

util::result<data_layout> data_layout::initialize(std::span<util::data_dir_config const> config)
{
    auto dirs = make_data_dirs(config);
    if (!dirs) {
        return dirs.error();
    }
    data_layout l;
    l.dirs_ = std::move(*dirs);
    auto const counts = target_counts(l.dirs_);
    l.part_prim_.reserve(drive_npart);
    for (std::size_t i = 0; i < l.dirs_.size(); ++i) {
        l.part_prim_.insert(l.part_prim_.end(), counts[i], static_cast<dir_index>(i));
    }
    l.part_sec_.assign(drive_npart, {});
    // A directory with files may hold blocks of any slice (it was used before this layout).
    for (std::size_t i = 0; i < l.dirs_.size(); ++i) {
        auto ne = dir_not_empty(l.dirs_[i].path);
        if (!ne) {
            return ne.error();
        }
        if (!*ne) {
            continue;
        }
        for (std::size_t p = 0; p < drive_npart; ++p) {
            if (l.part_prim_[p] != i) {
                l.part_sec_[p].push_back(static_cast<dir_index>(i));
            }
        }
    }
    return l;
}

util::result<data_layout> data_layout::update(std::span<util::data_dir_config const> config) const
{
    auto dirs = make_data_dirs(config);
    if (!dirs) {
        return dirs.error();
    }
    if (*dirs == dirs_) {
        return *this;
    }
    std::size_t const n = dirs->size();

    // Old index → new index, for directories that stay.
    std::vector<std::optional<dir_index>> old2new(dirs_.size());
    for (std::size_t o = 0; o < dirs_.size(); ++o) {
        for (std::size_t i = 0; i < n; ++i) {
            if ((*dirs)[i].path == dirs_[o].path) {
                old2new[o] = static_cast<dir_index>(i);
            }
        }
    }

    data_layout l;
    l.dirs_ = std::move(*dirs);
    l.part_sec_.assign(drive_npart, {});
    for (std::size_t p = 0; p < drive_npart && p < part_sec_.size(); ++p) {
        for (auto o : part_sec_[p]) {
            if (o < old2new.size() && old2new[o]) {
                add_unique(l.part_sec_[p], *old2new[o]);
            }
        }
    }

    // The slices each remaining directory is primary for now.
    std::vector<std::vector<std::size_t>> dir_prim(n);
    for (std::size_t p = 0; p < drive_npart && p < part_prim_.size(); ++p) {
        auto o = part_prim_[p];
        if (o < old2new.size() && old2new[o]) {
            dir_prim[*old2new[o]].push_back(p);
        }
    }

    // Directories over their share give slices back; they stay secondary for them.
    auto const counts = target_counts(l.dirs_);
    for (std::size_t i = 0; i < n; ++i) {
        while (dir_prim[i].size() > counts[i]) {
            auto const p = dir_prim[i].back();
            dir_prim[i].pop_back();
            add_unique(l.part_sec_[p], static_cast<dir_index>(i));
        }
    }
    std::vector<std::optional<dir_index>> prim(drive_npart);
    for (std::size_t i = 0; i < n; ++i) {
        for (auto p : dir_prim[i]) {
            prim[p] = static_cast<dir_index>(i);
        }
    }
    std::vector<std::size_t> unassigned;
    for (std::size_t p = drive_npart; p-- > 0;) {
        if (!prim[p]) {
            unassigned.push_back(p);
        }
    }
    // Directories under their share take unassigned slices (lowest slices first).
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = dir_prim[i].size(); k < counts[i]; ++k) {
            if (unassigned.empty()) {
                return util::failure(error::invalid_data_dirs,
                                     "internal error: slice assignment does not add up");
            }
            auto const p = unassigned.back();
            unassigned.pop_back();
            prim[p] = static_cast<dir_index>(i);
            auto& sec = l.part_sec_[p];
            sec.erase(std::remove(sec.begin(), sec.end(), static_cast<dir_index>(i)), sec.end());
        }
    }
    l.part_prim_.resize(drive_npart);
    for (std::size_t p = 0; p < drive_npart; ++p) {
        if (!prim[p]) {
            return util::failure(error::invalid_data_dirs,
                                 "internal error: a slice has no primary directory");
        }
        l.part_prim_[p] = *prim[p];
    }

    // A directory new to the layout that holds files may hold blocks of any slice.
    for (std::size_t i = 0; i < n; ++i) {
        bool const known = std::any_of(dirs_.begin(), dirs_.end(),
                                       [&](data_dir const& d) { return d.path == l.dirs_[i].path; });
        if (known) {
            continue;
        }
        auto ne = dir_not_empty(l.dirs_[i].path);
        if (!ne) {
            return ne.error();
        }
        if (!*ne) {
            continue;
        }
        for (std::size_t p = 0; p < drive_npart; ++p) {
            if (l.part_prim_[p] != i) {
                add_unique(l.part_sec_[p], static_cast<dir_index>(i));
            }
        }
    }
    l.markers_ = markers_;
    return l;
}

util::result<void> data_layout::check_markers()
{
    std::erase_if(markers_, [&](auto const& kv) {
        return std::none_of(dirs_.begin(), dirs_.end(),
                            [&](data_dir const& d) { return d.path.string() == kv.first; });
    });
    for (auto const& d : dirs_) {
        auto const marker_path = d.path / marker_file_name;
        auto found = read_marker(marker_path);
        if (!found) {
            return found.error();
        }
        auto remembered = markers_.find(d.path.string());
        if (*found && remembered != markers_.end()) {
            if (**found != remembered->second) {
                return util::failure(
                    error::layout_mismatch,
                    "mismatched content for marker file `" + std::string(marker_file_name) +
                        "` in data directory `" + d.path.string() +
                        "`. If you moved data directories or changed their mount points, remove the `" +
                        std::string(layout_file_name) + "` file in the metadata directory and restart.");
            }
        } else if (remembered != markers_.end()) {
            return util::failure(error::layout_mismatch,
                                 "could not find the expected marker file `" + std::string(marker_file_name) +
                                     "` in data directory `" + d.path.string() +
                                     "`: make sure this data directory is mounted correctly.");
        } else if (*found) {
            markers_.emplace(d.path.string(), std::move(**found));
        } else {
            auto const marker = util::gen_uuid().to_hex();
            if (auto w = detail::write_new_file(marker_path, marker, true); !w) {
                return w.error();
            }
            if (auto s = detail::fsync_dir(d.path); !s) {
                return s.error();
            }
            markers_.emplace(d.path.string(), marker);
        }
    }
    return {};
}

util::result<data_layout> data_layout::load_or_initialize(std::span<util::data_dir_config const> config,
                                                          std::filesystem::path const& metadata_dir)
{
    std::error_code ec;
    fs::create_directories(metadata_dir, ec);
    if (ec) {
        return detail::io_failure(ec, "cannot create metadata directory", metadata_dir);
    }
    // Writable directories are created when absent; a missing read-only one is an error.
    for (auto const& c : config) {
        if (c.read_only) {
            if (!fs::is_directory(c.path, ec)) {
                return util::failure(error::invalid_data_dirs,
                                     "read-only data directory " + c.path.string() + " does not exist");
            }
            continue;
        }
        fs::create_directories(c.path, ec);
        if (ec) {
            return detail::io_failure(ec, "cannot create data directory", c.path);
        }
    }
    util::persister<data_layout> persister(metadata_dir / layout_file_name);
    auto loaded = persister.load();
    if (!loaded) {
        return loaded.error();
    }
    if (*loaded) {
        // A file that decodes but does not describe a usable layout is as bad as garbage.
        auto const& l = **loaded;
        bool ok = l.part_prim_.size() == drive_npart && l.part_sec_.size() == drive_npart;
        for (std::size_t p = 0; ok && p < drive_npart; ++p) {
            ok = l.part_prim_[p] < l.dirs_.size() &&
                 std::all_of(l.part_sec_[p].begin(), l.part_sec_[p].end(),
                             [&](dir_index d) { return d < l.dirs_.size(); });
        }
        if (!ok) {
            return util::failure(util::error::decode_error,
                                 "cannot decode " + persister.path().string() + ": inconsistent data layout");
        }
    }
    auto layout = *loaded ? (*loaded)->update(config) : initialize(config);
    if (!layout) {
        return layout.error();
    }
    if (auto m = layout->check_markers(); !m) {
        return m.error();
    }
    if (auto s = persister.save(*layout); !s) {
        return s.error();
    }
    return layout;
}

std::filesystem::path data_layout::block_dir(std::filesystem::path const& dir, util::hash32 const& h)
{
    auto const hex = h.to_hex();
    return dir / hex.substr(0, 2) / hex.substr(2, 2);
}

std::string data_layout::block_file_name(util::hash32 const& h, bool compressed)
{
    auto name = h.to_hex();
    if (compressed) {
        name += ".zst";
    }
    return name;
}

std::filesystem::path data_layout::primary_block_dir(util::hash32 const& h) const
{
    return block_dir(dirs_.at(primary(partition_of(h))).path, h);
}

std::vector<std::filesystem::path> data_layout::secondary_block_dirs(util::hash32 const& h) const
{
    std::vector<std::filesystem::path> out;
    for (auto i : secondaries(partition_of(h))) {
        out.push_back(block_dir(dirs_.at(i).path, h));
    }
    return out;
}

data_layout data_layout::without_secondary_locations() const
{
    data_layout l = *this;
    for (auto& s : l.part_sec_) {
        s.clear();
    }
    return l;
}

} // namespace garage::block
