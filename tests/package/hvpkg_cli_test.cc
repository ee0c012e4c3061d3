// Runs the hvpkg binary the way a publisher and an installer would.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "temp_dir.h"

namespace hvkit::testing {
namespace {

struct CliRun {
    int code;
    std::string output;  // stdout and stderr
};

CliRun Hvpkg(const std::string& args) {
    std::string cmd = std::string(HVPKG_BINARY) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return {-1, "popen failed"};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class HvpkgCli : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(Hvpkg("keygen --out " + tmp.Sub("a.json")).code, 0);
        ASSERT_EQ(Hvpkg("keygen --out " + tmp.Sub("b.json")).code, 0);
        CliRun trust =
            Hvpkg("trust --key " + tmp.Sub("a.pub.json") + " --key " + tmp.Sub("b.pub.json") +
                  " --threshold 2 --out " + tmp.Sub("trust.json"));
        ASSERT_EQ(trust.code, 0) << trust.output;
    }
    std::string Recipe() const {
        return std::string(HVKIT_SOURCE_DIR) + "/packages/recipes/demo.json";
    }

    TempDir tmp;
};

TEST_F(HvpkgCli, BuildSignVerifyInspectExtract) {
    std::string pkg = tmp.Sub("demo.hvpkg");
    CliRun build = Hvpkg("build " + Recipe() + " --key " + tmp.Sub("a.json") + " --out " + pkg);
    ASSERT_EQ(build.code, 0) << build.output;

    CliRun below = Hvpkg("verify " + pkg + " --trust " + tmp.Sub("trust.json"));
    EXPECT_EQ(below.code, 1);
    EXPECT_NE(below.output.find("hvpkg: refusing package " + pkg +
                                ": manifest: 1 valid signature(s) from authorised keys, "
                                "threshold is 2"),
              std::string::npos)
        << below.output;

    CliRun sign = Hvpkg("sign " + pkg + " --key " + tmp.Sub("b.json"));
    ASSERT_EQ(sign.code, 0) << sign.output;
    EXPECT_NE(sign.output.find("now 2 signature(s)"), std::string::npos) << sign.output;

    CliRun verify = Hvpkg("verify " + pkg + " --trust " + tmp.Sub("trust.json"));
    EXPECT_EQ(verify.code, 0) << verify.output;
    EXPECT_NE(verify.output.find("signed by 2 trusted key(s), threshold 2"), std::string::npos);

    CliRun inspect = Hvpkg("inspect " + pkg + " --json");
    ASSERT_EQ(inspect.code, 0) << inspect.output;
    auto doc = ParseJson(inspect.output, "inspect output");
    ASSERT_TRUE(doc.ok()) << doc.status().message();
    EXPECT_EQ(*JsonString((*doc)["manifest"], "name", "m"), "hvkit-demo");
    EXPECT_EQ((*doc)["signature_keyids"].as_array().size(), 2u);
    EXPECT_TRUE((*doc)["payload_verified"].as_bool());

    CliRun human = Hvpkg("inspect " + pkg);
    EXPECT_EQ(human.code, 0);
    EXPECT_NE(human.output.find("guest/bin/hvdemo-hello"), std::string::npos) << human.output;

    CliRun extract =
        Hvpkg("extract " + pkg + " --trust " + tmp.Sub("trust.json") + " --dest " + tmp.Sub("out"));
    ASSERT_EQ(extract.code, 0) << extract.output;
    EXPECT_EQ(ReadTestFile(tmp.Sub("out/config/hvkit-demo.json")),
              ReadTestFile(std::string(HVKIT_SOURCE_DIR) +
                           "/packages/recipes/demo/config/hvkit-demo.json"));

    CliRun again =
        Hvpkg("extract " + pkg + " --trust " + tmp.Sub("trust.json") + " --dest " + tmp.Sub("out"));
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;

    CliRun rollback =
        Hvpkg("verify " + pkg + " --trust " + tmp.Sub("trust.json") + " --installed-version 1.0.0");
    EXPECT_EQ(rollback.code, 1);
    EXPECT_NE(rollback.output.find("refusing a rollback"), std::string::npos) << rollback.output;
}

TEST_F(HvpkgCli, CorruptedPackageFailsAndLeavesNothing) {
    std::string pkg = tmp.Sub("demo.hvpkg");
    ASSERT_EQ(Hvpkg("build " + Recipe() + " --compression xz --key " + tmp.Sub("a.json") +
                    " --key " + tmp.Sub("b.json") + " --out " + pkg)
                  .code,
              0);
    std::string bytes = ReadTestFile(pkg);
    bytes[bytes.size() / 2] ^= 0x55;
    WriteTestFile(pkg, bytes);
    CliRun verify = Hvpkg("verify " + pkg + " --trust " + tmp.Sub("trust.json"));
    EXPECT_EQ(verify.code, 1) << verify.output;
    EXPECT_NE(verify.output.find("hvpkg: refusing "), std::string::npos) << verify.output;
    CliRun extract =
        Hvpkg("extract " + pkg + " --trust " + tmp.Sub("trust.json") + " --dest " + tmp.Sub("out"));
    EXPECT_EQ(extract.code, 1);
    EXPECT_FALSE(PathExists(tmp.Sub("out")));
}

TEST_F(HvpkgCli, UsageErrorsExitWithTwo) {
    EXPECT_EQ(Hvpkg("").code, 2);
    EXPECT_EQ(Hvpkg("frobnicate").code, 2);
    CliRun missing = Hvpkg("verify pkg.hvpkg");
    EXPECT_EQ(missing.code, 2);
    EXPECT_NE(missing.output.find("hvpkg: verify: --trust is required"), std::string::npos)
        << missing.output;
    EXPECT_EQ(Hvpkg("build --out x.hvpkg").code, 2);
    EXPECT_EQ(Hvpkg("extract p --trust t --dest d --bogus").code, 2);
    EXPECT_EQ(Hvpkg("verify p --trust t --installed-version 1.0").code, 2);
    CliRun help = Hvpkg("--help");
    EXPECT_EQ(help.code, 0);
    EXPECT_NE(help.output.find("Exit status"), std::string::npos);
}

TEST_F(HvpkgCli, KeygenNeverOverwritesAKey) {
    std::string before = ReadTestFile(tmp.Sub("a.json"));
    CliRun again = Hvpkg("keygen --out " + tmp.Sub("a.json"));
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.output.find("refusing to overwrite"), std::string::npos) << again.output;
    EXPECT_EQ(ReadTestFile(tmp.Sub("a.json")), before);
}

}  // namespace
}  // namespace hvkit::testing
