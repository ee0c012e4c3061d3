// End to end: a repository built with hvrepository, read by hvkit's own TUF
// client (hvkit::tuf::Client) through a fetcher mapped onto REPO/metadata
// and REPO/targets, across publishes and key rotations.
#include "hvkit/tuf/client.h"
#include "directory_fetcher.h"
#include "hvkit/fs.h"
#include "hvkit/tuf/trusted_store.h"
#include "repo_fixture.h"

namespace hvkit::testing {
namespace {

class RepoClientTest : public RepoFixture {
  protected:
    RepoClientTest() {
        fetcher.Map("http://repo.test/metadata/", RepoDir() + "/metadata");
        fetcher.Map("http://repo.test/targets/", RepoDir() + "/targets");
        EXPECT_TRUE(MakeDirectories(dir.Sub("client-metadata")).ok());
        store = tuf::MakeDirectoryTrustedStore(dir.Sub("client-metadata"));
    }

    // A fresh client (as after a restart) over the same trusted store.
    std::unique_ptr<tuf::Client> NewClient() {
        tuf::ClientConfig config;
        config.metadata_base_url = "http://repo.test/metadata/";
        config.target_base_url = "http://repo.test/targets/";
        config.clock = &clock;
        auto client = std::make_unique<tuf::Client>(config, fetcher, *store);
        Status st = client->Initialize(Metadata("1.root.json"));
        EXPECT_TRUE(st.ok()) << st.message();
        return client;
    }

    // Refresh, look up and download (target); the bytes or the error.
    Result<std::string> Download(const std::string& target) {
        auto client = NewClient();
        HVKIT_RETURN_IF_ERROR(client->Refresh());
        HVKIT_ASSIGN_OR_RETURN(tuf::TargetInfo info, client->GetTargetInfo(target));
        const std::string out = dir.Sub("downloads/" + std::to_string(++downloads));
        HVKIT_RETURN_IF_ERROR(MakeDirectories(DirName(out)));
        HVKIT_RETURN_IF_ERROR(client->DownloadTarget(info, out));
        return ReadTestFile(out);
    }

    std::string File(const std::string& name, const std::string& contents) {
        WriteTestFile(dir.Sub("in/" + name), contents);
        return dir.Sub("in/" + name);
    }

    DirectoryFetcher fetcher;
    std::unique_ptr<tuf::TrustedStore> store;
    int downloads = 0;
};

TEST_F(RepoClientTest, DownloadsPublishedTargets) {
    repo::Repository repo = Init();
    const std::string package(300000, 'p');
    ASSERT_TRUE(repo.AddTarget(File("pkg", package), "hypervisor/hvmm-1.0.hvpkg").ok());
    ASSERT_TRUE(repo.AddTarget(File("notes.txt", "release notes"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());

    auto bytes = Download("hypervisor/hvmm-1.0.hvpkg");
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(*bytes, package);
    bytes = Download("notes.txt");
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(*bytes, "release notes");
}

TEST_F(RepoClientTest, StagedTargetIsNotVisible) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    auto bytes = Download("a.txt");
    EXPECT_EQ(bytes.status().code(), ErrorCode::kNotFound) << bytes.status().message();
}

TEST_F(RepoClientTest, RefreshesAcrossRotationsOfEveryRole) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    ASSERT_TRUE(Download("a.txt").ok());

    for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
        repo::KeyRotation rotation;
        rotation.role = role;
        auto report = repo.RotateKey(rotation);
        ASSERT_TRUE(report.ok()) << role << ": " << report.status().message();
        ASSERT_TRUE(repo.AddTarget(File(std::string(role) + ".txt", role), "").ok());
        ASSERT_TRUE(repo.Publish().ok());
        auto bytes = Download(std::string(role) + ".txt");
        ASSERT_TRUE(bytes.ok()) << "after rotating " << role << ": " << bytes.status().message();
        EXPECT_EQ(*bytes, role);
    }
    // The client followed every root version and now trusts the latest.
    auto client = NewClient();
    ASSERT_TRUE(client->Refresh().ok());
    EXPECT_EQ(client->trusted()->root().meta.common.version, 5);
    auto a = Download("a.txt");
    ASSERT_TRUE(a.ok()) << a.status().message();
    EXPECT_EQ(*a, "alpha");
}

TEST_F(RepoClientTest, RepublishingRenewsAnExpiredTimestamp) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    now += 2 * kDay;  // timestamp (1 day) has expired
    EXPECT_EQ(NewClient()->Refresh().code(), ErrorCode::kExpired);
    ASSERT_TRUE(repo.Publish().ok());
    auto bytes = Download("a.txt");
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
}

TEST_F(RepoClientTest, RemovedTargetDisappears) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    ASSERT_TRUE(Download("a.txt").ok());
    ASSERT_TRUE(repo.RemoveTarget("a.txt").ok());
    ASSERT_TRUE(repo.Publish().ok());
    EXPECT_EQ(Download("a.txt").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hvkit::testing
