// hvchan-hammer: hostile input from guest userspace. Echo calls with
// out-of-range, overflowing and edge offsets and lengths, unknown call
// numbers, narrow and read-only register accesses; every answer is checked
// against the ABI's rule, and the channel must still answer correctly after.
//
//   hvchan-hammer [--iterations N] [--seed S]
//
// Prints one line per kind of probe and "hvchan-hammer: PASS ..." or
// "hvchan-hammer: FAIL ..."; exit status 0 on PASS, 1 on FAIL, 2 usage,
// 3 no hvchan device.
#include <cstdio>
#include <cstring>

#include "hvkit/cli_args.h"
#include "hvkit/hvchan_guest.h"

namespace {

using namespace hvkit;

// The ABI's rule for echo, written out independently of the host's code.
uint32_t ExpectedEcho(uint64_t in, uint64_t length, uint64_t out) {
    bool in_ok = in <= HVCHAN_BAR2_CALL_IN_SIZE && length <= HVCHAN_BAR2_CALL_IN_SIZE - in;
    bool out_ok = out <= HVCHAN_BAR2_CALL_OUT_SIZE && length <= HVCHAN_BAR2_CALL_OUT_SIZE - out;
    return in_ok && out_ok ? HVCHAN_OK : HVCHAN_E_RANGE;
}

// Values that sit on the edges the checks must get right.
constexpr uint64_t kEdges[] = {0,
                               1,
                               7,
                               HVCHAN_BAR2_CALL_OUT_SIZE - 1,
                               HVCHAN_BAR2_CALL_OUT_SIZE,
                               HVCHAN_BAR2_CALL_OUT_SIZE + 1,
                               HVCHAN_BAR2_CALL_IN_SIZE - 1,
                               HVCHAN_BAR2_CALL_IN_SIZE,
                               HVCHAN_BAR2_CALL_IN_SIZE + 1,
                               HVCHAN_BAR2_SIZE,
                               0x7fffffffffffffffull,
                               0x8000000000000000ull,
                               0xfffffffffffff000ull,
                               0xffffffffffffffffull};

class Hammer {
  public:
    Hammer(hvchan::Channel& ch, uint64_t seed) : ch_(ch), rng_(seed | 1) {}

    void Echo(uint64_t in, uint64_t length, uint64_t out) {
        uint32_t want = ExpectedEcho(in, length, out);
        bool verify = want == HVCHAN_OK && length > 0 && length <= 4096;
        if (verify) {
            for (uint64_t i = 0; i < length; ++i)
                ch_.in_area()[in + i] = static_cast<uint8_t>(Next());
        }
        hvchan::CallResult r = ch_.Call(HVCHAN_CALL_ECHO, {in, length, out, Next()});
        Count(r, want,
              "echo in=" + std::to_string(in) + " length=" + std::to_string(length) +
                  " out=" + std::to_string(out));
        if (verify && r.ok() &&
            memcmp(ch_.in_area().data() + in, ch_.out_area().data() + out, length) != 0) {
            Fail("echo in=" + std::to_string(in) + " length=" + std::to_string(length) +
                 ": output differs from input");
        }
    }

    void Unknown(uint32_t number) {
        Count(ch_.Call(number, {Next(), Next(), Next(), Next()}), HVCHAN_E_UNKNOWN_CALL,
              "call " + std::to_string(number));
    }

    void Registers() {
        uint32_t magic = ch_.ReadRegister(HVCHAN_REG_MAGIC);
        ch_.WriteRegister(HVCHAN_REG_MAGIC, ~magic);
        ch_.WriteRegister(HVCHAN_REG_ABI_VERSION, 0);
        ch_.WriteRegister(HVCHAN_REG_SEQUENCE, 0);
        ch_.WriteRegister(0x800, 0xdeadbeef);
        if (ch_.ReadRegister(HVCHAN_REG_MAGIC) != HVCHAN_MAGIC) Fail("MAGIC changed by a write");
        if (ch_.ReadRegister(0x800) != 0xffffffffu)
            Fail("an unlisted register reads other than all-ones");
        if (ch_.ReadRegisterNarrow(HVCHAN_REG_MAGIC, 1) != 0xff) Fail("a 1-byte read was answered");
        if (ch_.ReadRegisterNarrow(HVCHAN_REG_MAGIC + 2, 2) != 0xffff)
            Fail("a 2-byte read was answered");
        registers_ += 8;
    }

    void Final() {
        uint64_t before = ch_.Call(HVCHAN_CALL_ECHO, {0, 0, 0, 0}).sequence;
        auto info = ch_.Info();
        if (!info.ok()) Fail("info after the hammer: " + info.status().message());
        hvchan::CallResult r = ch_.Call(HVCHAN_CALL_ECHO, {0, 0, 0, 0});
        if (r.sequence != before + 2) Fail("the sequence did not count every call");
    }

    uint64_t Next() {  // xorshift64
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return rng_;
    }
    uint64_t Pick() {
        uint64_t r = Next();
        switch (r % 4) {
            case 0:
                return kEdges[(r >> 8) % std::size(kEdges)];
            case 1:
                return (r >> 8) % (HVCHAN_BAR2_CALL_OUT_SIZE + 64);
            case 2:
                return (r >> 8) % 4096;
            default:
                return r;
        }
    }

    int failures() const { return failures_; }
    void Report() const {
        printf(
            "hvchan-hammer: %llu calls: %llu OK, %llu HVCHAN_E_RANGE, %llu HVCHAN_E_UNKNOWN_CALL; "
            "%llu register probes\n",
            (unsigned long long)calls_, (unsigned long long)ok_, (unsigned long long)range_,
            (unsigned long long)unknown_, (unsigned long long)registers_);
    }

  private:
    void Count(const hvchan::CallResult& r, uint32_t want, const std::string& what) {
        ++calls_;
        if (r.status == HVCHAN_OK) ++ok_;
        if (r.status == HVCHAN_E_RANGE) ++range_;
        if (r.status == HVCHAN_E_UNKNOWN_CALL) ++unknown_;
        if (r.status != want) {
            Fail(what + ": got " + hvchan::StatusName(r.status) + ", want " +
                 hvchan::StatusName(want));
        }
    }
    void Fail(const std::string& what) {
        if (++failures_ <= 10) fprintf(stderr, "hvchan-hammer: wrong: %s\n", what.c_str());
    }
    hvchan::Channel& ch_;
    uint64_t rng_;
    int failures_ = 0;
    uint64_t calls_ = 0, ok_ = 0, range_ = 0, unknown_ = 0, registers_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    auto args = cli::ParseArgs(std::vector<std::string>(argv + 1, argv + argc),
                               {.value_options = {"--iterations", "--seed"}, .positional = 0});
    auto usage = [](const std::string& why) {
        fprintf(stderr, "hvchan-hammer: %s\nusage: hvchan-hammer [--iterations N] [--seed S]\n",
                why.c_str());
        return 2;
    };
    if (!args.ok()) return usage(args.status().message());
    int64_t iterations = 1000, seed = 0x68766b6974;
    for (auto [name, target] : {std::pair{"--iterations", &iterations}, {"--seed", &seed}}) {
        auto v = args->One(name);
        if (!v.ok()) return usage(v.status().message());
        if (!*v) continue;
        auto n = cli::ParseInteger(name, **v, 0, INT64_MAX);
        if (!n.ok()) return usage(n.status().message());
        *target = *n;
    }
    auto ch = hvchan::Channel::OpenFirst();
    if (!ch.ok()) {
        fprintf(stderr, "hvchan-hammer: %s\n", ch.status().message().c_str());
        return ch.status().code() == ErrorCode::kNotFound ? 3 : 1;
    }
    Hammer h(**ch, static_cast<uint64_t>(seed));
    for (uint64_t in : kEdges) {
        for (uint64_t length : kEdges) {
            for (uint64_t out : kEdges) h.Echo(in, length, out);
        }
    }
    for (uint32_t number : {2u, 3u, 0xfu, 0x17u, 0x1fu, 0x20u, 0x2fu, 0x80000000u, 0xffffffffu}) {
        h.Unknown(number);
    }
    for (int64_t i = 0; i < iterations; ++i) {
        if (i % 64 == 0) h.Registers();
        if (i % 16 == 0) h.Unknown(static_cast<uint32_t>(h.Next() | 0x100));
        h.Echo(h.Pick(), h.Pick(), h.Pick());
    }
    h.Final();
    h.Report();
    if (h.failures() != 0) {
        printf("hvchan-hammer: FAIL: %d answers broke the ABI's rules\n", h.failures());
        return 1;
    }
    printf(
        "hvchan-hammer: PASS: every hostile call got its error status and the channel still "
        "answers\n");
    return 0;
}
