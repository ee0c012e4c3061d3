// The extraction side of the reader: files are written into a staging
// directory beside the destination (same filesystem, so the final rename is
// atomic), fsynced, and the staging directory is renamed to the destination by
// Commit(). Destroying an uncommitted tree removes the staging directory.
// Internal to hvpackage.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hvkit/file_system.h"
#include "hvkit/package/component.h"
#include "package_stream.h"

namespace hvkit::internal {

class StagingTree : public PayloadSink {
  public:
    // Creates "(parent of dest)/.(name of dest).staging-XXXXXX". (dest) must not
    // exist; only files of (components) are written (all when empty). Every
    // change to the disk goes through (fs), which must outlive the tree.
    static Result<std::unique_ptr<StagingTree>> Create(const std::string& dest,
                                                       const ComponentSet& components,
                                                       FileSystem& fs);
    ~StagingTree() override;

    Status OnManifest(const PackageInfo& info) override;
    Status BeginFile(const PackageFile& file) override;
    Status WriteData(const void* data, size_t size) override;
    Status EndFile(const PackageFile& file) override;

    // fsyncs the files and directories, renames the staging directory to the destination
    // (never over an existing one) and fsyncs the parent.
    Status Commit();

  private:
    StagingTree(std::string dest, std::string staging, int staging_fd, ComponentSet components,
                FileSystem& fs);
    Status MakeParents(const std::string& path);
    Status Fail(const std::string& what, const std::string& path) const;

    FileSystem& fs_;
    std::string dest_;
    std::string staging_;
    int staging_fd_;
    ComponentSet components_;
    std::set<std::string> dirs_;        // created, relative to staging_
    std::vector<std::string> written_;  // files to fsync in Commit()
    int file_fd_ = -1;
    bool skipping_ = false;
    bool committed_ = false;
};

}  // namespace hvkit::internal
