// The host-only peer of the guest file scan (docs/benchmarks.md,
// "Filters"): every regular file under a directory read as hvfilterd's file
// source reads it (the first --max-content-bytes, from offset 0) and run
// through the same module chain, here instead of in the guest.
//
//   bench_scan_peer --modules DIR --chain CHAIN.json --dir D
//                   [--max-content-bytes M]
//   bench_scan_peer --open-only --dir D [--max-content-bytes M]
//
// --open-only runs no chain: it opens and reads each file the same way,
// and counts an open refused with EPERM as dropped. Under hvfilterd's file
// source that is the guest path's side of the comparison: each open waits
// for the guest's verdict.
//
// M defaults to 1 MiB, as file.max_content_bytes does. Subdirectories are
// walked; symbolic links are not followed. A CHANGED verdict counts as
// dropped (a file source denies it: the reader would get the file
// unchanged); a module error counts in errors. Prints one JSON line: files,
// bytes (inspected), passed, dropped, errors, seconds (walk, reads and
// scans, after the chain is loaded) and files_per_second.
// Exit 0, 1 on a runtime failure, 2 on a usage error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "filter_bench_common.h"
#include "hvkit/fs.h"

namespace hvkit::bench {
namespace {

constexpr const char* kTool = "bench_scan_peer";
constexpr const char* kUsage =
    "usage: bench_scan_peer --modules DIR --chain CHAIN.json --dir D [--max-content-bytes M]\n"
    "       bench_scan_peer --open-only --dir D [--max-content-bytes M]";
constexpr int64_t kMaxContentLimit = 64 << 20;  // as file.max_content_bytes

struct ScanCounts {
    uint64_t files = 0, bytes = 0, passed = 0, dropped = 0, errors = 0;
};

// Reads up to (max) bytes of (path) from offset 0 into (out), as the file
// source does: the size is taken once, bytes appended later are not read.
Status ReadPrefix(const std::string& path, size_t max, std::vector<uint8_t>& out) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (!fd.valid() || fstat(fd.get(), &st) != 0) {
        return Error(ErrorCode::kIo, "opening " + path + ": " + strerror(errno));
    }
    out.resize(std::min(static_cast<size_t>(st.st_size), max));
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error(ErrorCode::kIo, "reading " + path + ": " + strerror(errno));
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return Status::Ok();
}

// Scans every regular file under (dir) into (counts); without (chain),
// only opens and reads them (a denied open is a drop).
Status ScanTree(const std::string& dir, size_t max_bytes, filters::Chain* chain,
                ScanCounts& counts) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec), end;
    if (ec) return Error(ErrorCode::kIo, "--dir " + dir + ": " + ec.message());
    std::vector<uint8_t> content;
    for (; it != end; it.increment(ec)) {
        if (ec) return Error(ErrorCode::kIo, "walking " + dir + ": " + ec.message());
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
        std::string path = it->path().string();
        if (chain == nullptr) {
            Status read = ReadPrefix(path, max_bytes, content);
            ++counts.files;
            counts.bytes += read.ok() ? content.size() : 0;
            if (read.ok()) {
                ++counts.passed;
            } else if (read.message().find(strerror(EPERM)) != std::string::npos) {
                ++counts.dropped;
            } else {
                return read;
            }
            continue;
        }
        HVKIT_RETURN_IF_ERROR(ReadPrefix(path, max_bytes, content));
        filters::FilterItem item;
        item.source = HVFILTER_ITEM_FILE;
        item.bytes = content;
        item.path = path;
        Result<filters::FilterOutcome> outcome = chain->Run(item);
        ++counts.files;
        counts.bytes += content.size();
        if (!outcome.ok()) {
            if (counts.errors++ == 0) Fail(kTool, path + ": " + outcome.status().message(), 0);
        } else if (outcome->verdict == filters::FilterVerdict::kPass) {
            ++counts.passed;
        } else {
            ++counts.dropped;
        }
    }
    if (ec) return Error(ErrorCode::kIo, "walking " + dir + ": " + ec.message());
    return Status::Ok();
}

struct ScanOptions {
    std::string modules, chain, dir;
    int64_t max_bytes = 0;
    bool open_only = false;
};

Result<ScanOptions> ParseOptions(const std::vector<std::string>& argv) {
    HVKIT_ASSIGN_OR_RETURN(
        cli::Args args,
        cli::ParseArgs(
            argv, {{"--modules", "--chain", "--dir", "--max-content-bytes"}, {"--open-only"}}));
    ScanOptions o;
    o.open_only = args.Has("--open-only");
    if (!o.open_only) {
        HVKIT_ASSIGN_OR_RETURN(o.modules, args.Required("--modules"));
        HVKIT_ASSIGN_OR_RETURN(o.chain, args.Required("--chain"));
    }
    HVKIT_ASSIGN_OR_RETURN(o.dir, args.Required("--dir"));
    HVKIT_ASSIGN_OR_RETURN(
        o.max_bytes, IntegerOption(args, "--max-content-bytes", 0, kMaxContentLimit, 1 << 20));
    return o;
}

int Main(const std::vector<std::string>& argv) {
    Result<ScanOptions> o = ParseOptions(argv);
    if (!o.ok()) return Fail(kTool, o.status().message() + "\n" + kUsage, 2);
    std::optional<filters::Chain> chain;
    if (!o->open_only) {
        Result<filters::Chain> loaded = LoadChain(o->modules, o->chain);
        if (!loaded.ok()) return Fail(kTool, loaded.status().message(), 2);
        chain = std::move(loaded).value();
    }

    ScanCounts c;
    uint64_t start = MonotonicNs();
    Status st = ScanTree(o->dir, static_cast<size_t>(o->max_bytes), chain ? &*chain : nullptr, c);
    double seconds = static_cast<double>(MonotonicNs() - start) / 1e9;
    if (!st.ok()) return Fail(kTool, st.message(), 1);
    std::printf(
        "{\"files\":%llu,\"bytes\":%llu,\"passed\":%llu,\"dropped\":%llu,\"errors\":%llu,"
        "\"seconds\":%.6f,\"files_per_second\":%.1f}\n",
        static_cast<unsigned long long>(c.files), static_cast<unsigned long long>(c.bytes),
        static_cast<unsigned long long>(c.passed), static_cast<unsigned long long>(c.dropped),
        static_cast<unsigned long long>(c.errors), seconds,
        seconds > 0 ? static_cast<double>(c.files) / seconds : 0.0);
    return 0;
}

}  // namespace
}  // namespace hvkit::bench

int main(int argc, char** argv) {
    return hvkit::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
}
