// An IrqLine that remembers its level and counts rising edges.
#pragma once

#include "hvmm.h"

namespace hvkit::hvmm::testing {

class FakeIrq final : public IrqLine {
  public:
    void Set(bool level) override {
        if (level && !level_) ++edges_;
        level_ = level;
    }
    bool level() const { return level_; }
    int edges() const { return edges_; }

  private:
    bool level_ = false;
    int edges_ = 0;
};

}  // namespace hvkit::hvmm::testing
