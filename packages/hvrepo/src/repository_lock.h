// One writer at a time: every Repository holds an exclusive flock on
// REPO/.hvrepo.lock, so a scheduled publish and an operator's rotate-key
// cannot interleave their files. The lock dies with the process.
#pragma once

#include <memory>
#include <string>

#include "hvkit/status.h"

namespace hvkit::repo {

class RepositoryLock {
  public:
    // Takes the lock of the repository in (dir) without waiting; kConflict
    // when another hvrepo holds it.
    static Result<std::shared_ptr<RepositoryLock>> Acquire(const std::string& dir);
    ~RepositoryLock();
    RepositoryLock(const RepositoryLock&) = delete;
    RepositoryLock& operator=(const RepositoryLock&) = delete;

  private:
    explicit RepositoryLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace hvkit::repo
