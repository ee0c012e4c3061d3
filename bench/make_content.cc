// Generates the benchmark's package content: a mix of incompressible and
// compressible files, a few large and many small, and the hvpkg recipe that
// lists them.
//   bench_make_content OUT_DIR RECIPE.json [TOTAL_MIB]
// Deterministic: the same arguments give the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hvkit/fs.h"
#include "hvkit/json.h"

#include "bench_random.h"

namespace {

using hvkit::bench::Random;

std::string Incompressible(size_t n, uint64_t seed) {
    Random rng(seed);
    std::string s(n, '\0');
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rng.Next();
        for (int b = 0; b < 8; ++b) s[i + static_cast<size_t>(b)] = static_cast<char>(v >> (8 * b));
    }
    return s;
}

// Log/symbol-table-like text: compresses about 5-10x with zstd -3.
std::string Text(size_t n, uint64_t seed) {
    static const char* kWords[] = {"vcpu",  "exit",  "mmio",   "pio",    "irq",  "virtio", "blk",
                                   "net",   "queue", "notify", "hvchan", "slot", "commit", "verify",
                                   "stage", "page",  "fault",  "ept",    "msr"};
    Random rng(seed);
    std::string s;
    s.reserve(n + 128);
    while (s.size() < n) {
        char line[128];
        uint64_t r = rng.Next();
        snprintf(line, sizeof line, "%016llx %s_%s %llu\n",
                 static_cast<unsigned long long>(r & 0xffffffffffull), kWords[r % 19],
                 kWords[(r >> 8) % 19], static_cast<unsigned long long>((r >> 20) % 100000));
        s += line;
    }
    s.resize(n);
    return s;
}

// A disk-image-like file: zeros with a random block every (stride) bytes.
std::string SparseImage(size_t n, uint64_t seed) {
    std::string s(n, '\0');
    const size_t block = 64 << 10;
    const size_t stride = 1 << 20;
    for (size_t off = 0; off + block <= n; off += stride) {
        s.replace(off, block, Incompressible(block, seed + off));
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s OUT_DIR RECIPE.json [TOTAL_MIB (default 256)]\n", argv[0]);
        return 2;
    }
    std::string out = argv[1];
    size_t mib = argc == 4 ? strtoul(argv[3], nullptr, 10) : 256;
    if (mib < 16) {
        fprintf(stderr, "TOTAL_MIB must be at least 16\n");
        return 2;
    }
    const size_t M = 1 << 20;
    struct Planned {
        std::string path;
        std::string component;
        std::string mode;
        std::string content;
    };
    std::vector<Planned> files;
    // Shares of the total: 1/2 incompressible (two files), 3/16 text,
    // 1/16 sparse image, 1/4 in small files (64 KiB each, half random, half text).
    size_t big = mib * M / 4;
    files.push_back({"hypervisor/firmware-a.bin", "hypervisor", "0644", Incompressible(big, 1)});
    files.push_back({"hypervisor/firmware-b.bin", "hypervisor", "0644", Incompressible(big, 2)});
    files.push_back(
        {"hypervisor/share/symbols.txt", "hypervisor", "0644", Text(mib * M * 3 / 16, 3)});
    files.push_back(
        {"guest/images/rootfs.img", "guest-extension", "0644", SparseImage(mib * M / 16, 4)});
    size_t small = 64 << 10;
    size_t count = mib * M / 4 / small;
    for (size_t i = 0; i < count; ++i) {
        char name[64];
        bool binary = i % 2 == 0;
        snprintf(name, sizeof name, binary ? "filters/mod-%04zu.so" : "config/rules-%04zu.conf", i);
        files.push_back({name, binary ? "filter-module" : "config", binary ? "0755" : "0644",
                         binary ? Incompressible(small, 100 + i) : Text(small, 100 + i)});
    }

    hvkit::Json recipe;
    recipe["name"] = "bench";
    recipe["version"] = "1.0.0";
    recipe["min_installed_version"] = "0.1.0";
    hvkit::Json list = hvkit::Json::MakeArray();
    size_t total = 0;
    for (const auto& f : files) {
        std::string path = out + "/" + f.path;
        hvkit::Status st = hvkit::MakeDirectories(hvkit::DirName(path));
        if (st.ok()) st = hvkit::WriteFileAtomic(path, f.content, 0644);
        if (!st.ok()) {
            fprintf(stderr, "bench_make_content: %s\n", st.message().c_str());
            return 1;
        }
        hvkit::Json entry;
        entry["component"] = f.component;
        entry["source"] = path;
        entry["path"] = f.path;
        entry["mode"] = f.mode;
        list.Push(std::move(entry));
        total += f.content.size();
    }
    recipe["files"] = std::move(list);
    hvkit::Status st = hvkit::WriteFileAtomic(argv[2], hvkit::DumpJson(recipe) + "\n");
    if (!st.ok()) {
        fprintf(stderr, "bench_make_content: %s\n", st.message().c_str());
        return 1;
    }
    printf("bench content: %zu files, %zu MiB in %s\n", files.size(), total / M, out.c_str());
    return 0;
}
