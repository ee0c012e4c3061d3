// xorshift64*: the fixed, fast generator benchmark contents come from, so
// the same seed gives the same bytes on every machine.
#pragma once

#include <cstdint>

namespace hvkit::bench {

class Random {
  public:
    explicit Random(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t Next() {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 0x2545F4914F6CDD1Dull;
    }

  private:
    uint64_t s_;
};

}  // namespace hvkit::bench
