// Files for the scan benchmark (docs/benchmarks.md, "Filters"): N files of
// pseudo-random bytes, every K-th of them holding a signature string.
//
//   bench_make_scan_files --dir D --files N --size BYTES
//                         [--signature-every K --signature STRING]
//
// Deterministic: file i (scan-NNNNNN.bin, i from 0) is xorshift64* bytes
// seeded by i; when (i + 1) is a multiple of K its signature sits at an
// offset drawn from the same generator. A file without the signature never
// holds it by chance (any chance occurrence is broken up), so exactly
// N / K files match. Writes into D (created if needed; an empty directory
// keeps other files out of the count) and prints one JSON line: files,
// signed, bytes, dir. Exit 0, 1 on a write failure, 2 on a usage error.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "filter_bench_common.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"

#include "bench_random.h"

namespace hvkit::bench {
namespace {

constexpr const char* kTool = "bench_make_scan_files";
constexpr const char* kUsage =
    "usage: bench_make_scan_files --dir D --files N --size BYTES [--signature-every K "
    "--signature STRING]";

struct ScanFilesOptions {
    std::string dir;
    uint64_t files = 0, size = 0, every = 0;
    std::string signature;
};

Result<ScanFilesOptions> ParseOptions(const std::vector<std::string>& argv) {
    HVKIT_ASSIGN_OR_RETURN(
        cli::Args args,
        cli::ParseArgs(argv, {{"--dir", "--files", "--size", "--signature-every", "--signature"}}));
    ScanFilesOptions o;
    HVKIT_ASSIGN_OR_RETURN(o.dir, args.Required("--dir"));
    HVKIT_ASSIGN_OR_RETURN(o.files, RequiredInteger(args, "--files", 1, 1000000));
    HVKIT_ASSIGN_OR_RETURN(o.size, RequiredInteger(args, "--size", 0, 64 << 20));
    HVKIT_ASSIGN_OR_RETURN(o.every, IntegerOption(args, "--signature-every", 0, 1000000, 0));
    HVKIT_ASSIGN_OR_RETURN(auto signature, args.One("--signature"));
    o.signature = signature.value_or("");
    if (o.every > 0 && (o.signature.empty() || o.signature.size() > o.size)) {
        return Error(ErrorCode::kInvalidArgument,
                     "--signature '" + o.signature + "': must be 1.." + std::to_string(o.size) +
                         " bytes (--size) when --signature-every is set");
    }
    if (o.every == 0 && !o.signature.empty()) {
        return Error(ErrorCode::kInvalidArgument,
                     "--signature: needs --signature-every K (every K-th file gets it)");
    }
    return o;
}

// The content of file (index).
std::string Content(const ScanFilesOptions& o, uint64_t index) {
    Random rng(index);
    std::string s(o.size, '\0');
    for (size_t i = 0; i < s.size(); i += 8) {
        uint64_t v = rng.Next();
        std::memcpy(&s[i], &v, std::min<size_t>(8, s.size() - i));
    }
    const std::string& sig = o.signature;
    if (sig.empty()) return s;
    bool signed_file = (index + 1) % o.every == 0;
    // Break up chance occurrences, so only the planted one matches.
    for (size_t at = s.find(sig); at != std::string::npos;
         at = s.find(sig, at + 1 >= sig.size() ? at + 1 - sig.size() : 0)) {
        s[at] ^= 0x01;
    }
    if (signed_file) s.replace(rng.Next() % (s.size() - sig.size() + 1), sig.size(), sig);
    return s;
}

Status WriteFile(const std::string& path, const std::string& content) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return Error(ErrorCode::kIo, "creating " + path + ": " + strerror(errno));
    for (size_t done = 0; done < content.size();) {
        ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error(ErrorCode::kIo, "writing " + path + ": " + strerror(errno));
        done += static_cast<size_t>(n);
    }
    return Status::Ok();
}

int Main(const std::vector<std::string>& argv) {
    Result<ScanFilesOptions> o = ParseOptions(argv);
    if (!o.ok()) return Fail(kTool, o.status().message() + "\n" + kUsage, 2);
    Status st = MakeDirectories(o->dir);
    if (!st.ok()) return Fail(kTool, "--dir " + o->dir + ": " + st.message(), 1);
    uint64_t signed_files = 0;
    for (uint64_t i = 0; i < o->files; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "/scan-%06llu.bin", static_cast<unsigned long long>(i));
        st = WriteFile(o->dir + name, Content(*o, i));
        if (!st.ok()) return Fail(kTool, st.message(), 1);
        if (o->every && (i + 1) % o->every == 0) ++signed_files;
    }
    uint64_t bytes = o->files * o->size;
    std::printf("{\"files\":%llu,\"signed\":%llu,\"bytes\":%llu,\"dir\":%s}\n",
                static_cast<unsigned long long>(o->files),
                static_cast<unsigned long long>(signed_files),
                static_cast<unsigned long long>(bytes), DumpJson(Json(o->dir), 0).c_str());
    return 0;
}

}  // namespace
}  // namespace hvkit::bench

int main(int argc, char** argv) {
    return hvkit::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
}
