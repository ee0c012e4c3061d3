// hvchan-bench: the round trip of an hvchan call from guest userspace (an
// empty echo: one MMIO exit, the host's dispatch, the call block), next to a
// bare port-I/O exit (an OUT to a port no device claims), in the same run.
//
//   hvchan-bench [--iterations N] [--port P]
//
// Prints one line per peer with median and p99 in microseconds, then the
// ratio of the medians; exit 0, 1 on failure, 2 usage, 3 no hvchan device.
#include <sys/io.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "hvkit/cli_args.h"
#include "hvkit/hvchan_guest.h"

namespace {

using namespace hvkit;

uint64_t NowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Summary {
    double median_us;
    double p99_us;
};

Summary Summarize(std::vector<uint64_t> ns) {
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
        return ns[std::min(ns.size() - 1, static_cast<size_t>(q * ns.size()))] / 1000.0;
    };
    return {at(0.5), at(0.99)};
}

template <typename Fn>
std::vector<uint64_t> Time(int64_t n, Fn&& fn) {
    std::vector<uint64_t> samples;
    samples.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        uint64_t t0 = NowNs();
        fn();
        samples.push_back(NowNs() - t0);
    }
    return samples;
}

}  // namespace

int main(int argc, char** argv) {
    auto args = cli::ParseArgs(std::vector<std::string>(argv + 1, argv + argc),
                               {.value_options = {"--iterations", "--port"}, .positional = 0});
    auto usage = [](const std::string& why) {
        fprintf(stderr, "hvchan-bench: %s\nusage: hvchan-bench [--iterations N] [--port P]\n",
                why.c_str());
        return 2;
    };
    if (!args.ok()) return usage(args.status().message());
    int64_t iterations = 2000, port = 0x80;
    for (auto [name, target, max] : {std::tuple{"--iterations", &iterations, int64_t{10000000}},
                                     {"--port", &port, int64_t{0xffff}}}) {
        auto v = args->One(name);
        if (!v.ok()) return usage(v.status().message());
        if (!*v) continue;
        auto n = cli::ParseInteger(name, **v, 1, max);
        if (!n.ok()) return usage(n.status().message());
        *target = *n;
    }
    auto ch = hvchan::Channel::OpenFirst();
    if (!ch.ok()) {
        fprintf(stderr, "hvchan-bench: %s\n", ch.status().message().c_str());
        return ch.status().code() == ErrorCode::kNotFound ? 3 : 1;
    }
    if (ioperm(static_cast<unsigned long>(port), 1, 1) != 0) {
        perror("hvchan-bench: ioperm (root needed)");
        return 1;
    }
    bool failed = false;
    auto call = [&] {
        if (!(*ch)->Call(HVCHAN_CALL_ECHO, {0, 0, 0, 0}).ok()) failed = true;
    };
    auto out = [&] { outb(0, static_cast<unsigned short>(port)); };
    // Warm up both paths, then interleave the peers in rounds so drift in a
    // slow environment hits both alike.
    Time(100, call);
    Time(100, out);
    std::vector<uint64_t> calls, outs;
    const int64_t rounds = 10;
    for (int64_t r = 0; r < rounds; ++r) {
        auto c = Time(iterations / rounds + 1, call);
        auto o = Time(iterations / rounds + 1, out);
        calls.insert(calls.end(), c.begin(), c.end());
        outs.insert(outs.end(), o.begin(), o.end());
    }
    if (failed) {
        fprintf(stderr, "hvchan-bench: an echo call failed\n");
        return 1;
    }
    Summary c = Summarize(calls), o = Summarize(outs);
    printf("hvchan-bench: hvchan call (empty echo): n=%zu median %.1f us p99 %.1f us\n",
           calls.size(), c.median_us, c.p99_us);
    printf("hvchan-bench: port I/O exit (out 0x%llx): n=%zu median %.1f us p99 %.1f us\n",
           static_cast<unsigned long long>(port), outs.size(), o.median_us, o.p99_us);
    printf("hvchan-bench: ratio of medians hvchan/port-I/O %.2f\n", c.median_us / o.median_us);
    return 0;
}
