// The signature file format: what it accepts, and that every refusal names
// the file and line.
#include "signature_file.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace hvkit::filters {
namespace {

TEST(SignatureFileTest, ParsesHexStringsCommentsAndBlankLines) {
    std::string text =
        "# test signatures\n"
        "\n"
        "eicar-ish: \"X5O!P%@AP\"   # a quoted string\n"
        "  elf_magic: 7f 45 4c 46\n"
        "packed:7f454c46\r\n"
        "escapes: \"a\\\"b\\\\c\\x00\\xff\\n\"\n";
    Result<std::vector<Signature>> parsed = ParseSignatures(text, "t.sigs");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    ASSERT_EQ(parsed->size(), 4u);
    EXPECT_EQ((*parsed)[0].name, "eicar-ish");
    EXPECT_EQ((*parsed)[0].bytes, "X5O!P%@AP");
    EXPECT_EQ((*parsed)[0].line, 3u);
    EXPECT_EQ((*parsed)[1].bytes,
              "\x7f"
              "ELF");
    EXPECT_EQ((*parsed)[1].line, 4u);
    EXPECT_EQ((*parsed)[2].bytes,
              "\x7f"
              "ELF");
    EXPECT_EQ((*parsed)[3].bytes, std::string("a\"b\\c\x00\xff\n", 8));
}

struct BadLine {
    const char* text;
    const char* expected;  // the whole message must contain this
};

class SignatureFileErrorTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(SignatureFileErrorTest, NamesFileLineAndProblem) {
    Result<std::vector<Signature>> parsed = ParseSignatures(GetParam().text, "rules/x.sigs");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.status().message().find(GetParam().expected), std::string::npos)
        << parsed.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    BadLines, SignatureFileErrorTest,
    ::testing::Values(
        BadLine{"ok: 41\nno colon here\n", "rules/x.sigs:2: expected 'name: pattern'"},
        BadLine{"# c\n: 41\n", "rules/x.sigs:2: the signature has no name"},
        BadLine{"bad name: 41\n", "rules/x.sigs:1: name 'bad name' may hold only"},
        BadLine{"a: 414\n", "rules/x.sigs:1: odd number of hex digits"},
        BadLine{"a: 4 1\n", "rules/x.sigs:1: a blank splits a hex byte"},
        BadLine{"a: 4g\n", "rules/x.sigs:1: 'g' is not a hex digit"},
        BadLine{"\n\na: \"open\n", "rules/x.sigs:3: unterminated string"},
        BadLine{"a: \"x\" y\n", "rules/x.sigs:1: text after the closing quote"},
        BadLine{"a: \"\\q\"\n", "rules/x.sigs:1: unknown escape \\q"},
        BadLine{"a: \"\\x4\"\n", "rules/x.sigs:1: \\x needs two hex digits"},
        BadLine{"a:   # nothing\n", "rules/x.sigs:1: signature 'a' has an empty pattern"},
        BadLine{"a: \"\"\n", "rules/x.sigs:1: signature 'a' has an empty pattern"},
        BadLine{"a: 41\nb: 42\na: 43\n",
                "rules/x.sigs:3: signature 'a' is already defined on line 1"},
        BadLine{"# only comments\n\n", "rules/x.sigs: no signatures defined"}));

TEST(SignatureFileTest, LoadReportsMissingFileAndParsesRealOne) {
    testing::TempDir dir;
    Result<std::vector<Signature>> missing = LoadSignatureFile(dir.Sub("none.sigs"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find(dir.Sub("none.sigs") + ": cannot open"),
              std::string::npos);

    testing::WriteTestFile(dir.Sub("bad.sigs"), "a: 41\nb: zz\n");
    Result<std::vector<Signature>> bad = LoadSignatureFile(dir.Sub("bad.sigs"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find(dir.Sub("bad.sigs") + ":2: "), std::string::npos);

    testing::WriteTestFile(dir.Sub("good.sigs"), "a: 41\n");
    Result<std::vector<Signature>> good = LoadSignatureFile(dir.Sub("good.sigs"));
    ASSERT_TRUE(good.ok()) << good.status().message();
    EXPECT_EQ(good->at(0).bytes, "A");
}

}  // namespace
}  // namespace hvkit::filters
