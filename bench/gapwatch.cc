// gapwatch MIB: the guest's view of a blackout (bench/takeover.sh). Touches
// MIB MiB of anonymous memory, then runs two threads until killed:
//   - a clock loop that reads CLOCK_MONOTONIC as fast as it can and prints
//     every gap above 20 ms ("gapwatch: gap MS ms"): the guest did not run
//     for that long, whoever paused it;
//   - a pass over every page of the memory every 500 ms, timed; a pass more
//     than twice the median of the undisturbed passes (and 1 ms above it)
//     is printed ("gapwatch:
//     pass MS ms, median MS ms"): the first pass after a takeover refaults
//     the pages into the new VM's nested page tables.
// The console is the only channel (each byte an exit in the test host), so
// it prints only what deviates, and "gapwatch: ready ..." once.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

double NowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ClockLoop() {
    double last = NowMs();
    for (;;) {
        double now = NowMs();
        if (now - last > 20.0) {
            printf("gapwatch: gap %.1f ms\n", now - last);
            fflush(stdout);
            now = NowMs();  // the print itself is not the guest's gap
        }
        last = now;
    }
}

double Pass(volatile uint8_t* mem, size_t bytes) {
    double t0 = NowMs();
    uint64_t sum = 0;
    for (size_t off = 0; off < bytes; off += 4096) sum += mem[off];
    double t1 = NowMs();
    if (sum == 1) printf("\n");  // keeps the reads
    return t1 - t0;
}

}  // namespace

int main(int argc, char** argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], nullptr, 10) : 256;
    size_t bytes = mib << 20;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("gapwatch: mmap");
        return 1;
    }
    auto* mem = static_cast<uint8_t*>(p);
    for (size_t off = 0; off < bytes; off += 4096) mem[off] = static_cast<uint8_t>(off >> 12) | 1;
    // The median comes from passes made as the loop below makes them (after
    // a sleep, caches cold), six of them before anything is reported.
    std::vector<double> passes;
    for (int i = 0; i < 6; ++i) {
        usleep(500000);
        passes.push_back(Pass(mem, bytes));
    }
    std::sort(passes.begin(), passes.end());
    printf("gapwatch: ready, %zu MiB touched, pass %.1f ms\n", mib, passes[3]);
    fflush(stdout);
    std::thread clock(ClockLoop);
    for (;;) {
        usleep(500000);
        double ms = Pass(mem, bytes);
        std::vector<double> sorted = passes;
        std::sort(sorted.begin(), sorted.end());
        double median = sorted[sorted.size() / 2];
        if (ms > 2 * median && ms > median + 1.0) {
            printf("gapwatch: pass %.1f ms, median %.1f ms\n", ms, median);
            fflush(stdout);
        } else {
            passes.push_back(ms);  // only undisturbed passes make the median
        }
    }
}
