// The tools' shared argument parser: positional counts, repeatable options,
// and usage errors that name what is wrong.
#include <gtest/gtest.h>

#include "hvkit/cli_args.h"

namespace hvkit::cli {
namespace {

TEST(CliArgs, PositionalCountIsExactUnlessMoreAreAllowed) {
    CommandSpec exact{.value_options = {"--chain"}, .flags = {}, .positional = 1};
    EXPECT_TRUE(ParseArgs({"a"}, exact).ok());
    Result<Args> two = ParseArgs({"a", "b"}, exact);
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.status().message(), "expected 1 argument(s), got 2");

    CommandSpec more = exact;
    more.more_positional = true;
    Result<Args> files = ParseArgs({"--chain", "c.json", "a", "b", "c"}, more);
    ASSERT_TRUE(files.ok()) << files.status().message();
    EXPECT_EQ(files->positional, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(*files->Required("--chain"), "c.json");
    Result<Args> none = ParseArgs({"--chain", "c.json"}, more);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.status().message(), "expected at least 1 argument(s), got 0");
}

TEST(CliArgs, RepeatedOptionsKeepTheirOrderAndOneRefusesRepeats) {
    CommandSpec spec{.value_options = {"--modules"}, .flags = {"--json"}, .positional = 0};
    Result<Args> args = ParseArgs({"--modules", "/a", "--modules=/b", "--json"}, spec);
    ASSERT_TRUE(args.ok()) << args.status().message();
    EXPECT_EQ(args->All("--modules"), (std::vector<std::string>{"/a", "/b"}));
    EXPECT_TRUE(args->Has("--json"));
    EXPECT_FALSE(args->One("--modules").ok()) << "two values for a single-valued read";
    EXPECT_FALSE(ParseArgs({"--frob"}, spec).ok());
}

}  // namespace
}  // namespace hvkit::cli
