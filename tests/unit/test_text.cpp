// Unit tests for util/text and util/duration.
#include <gtest/gtest.h>

#include "util/duration.hpp"
#include "util/text.hpp"

namespace bg {

TEST(Text, TrimAndCase) {
    EXPECT_EQ(text::trim("  a b \r\n"), "a b");
    EXPECT_EQ(text::trim(""), "");
    EXPECT_TRUE(text::iequals("RCPT", "rcpt"));
    EXPECT_FALSE(text::iequals("RCPT", "rcp"));
    EXPECT_EQ(text::ifind("Host Not Found", "not found"), 5u);
    EXPECT_EQ(text::ifind("abc", "abcd"), std::string_view::npos);
    EXPECT_EQ(text::to_lower("MiXeD"), "mixed");
}

TEST(Text, Split) {
    const auto parts = text::split("a,b,,c", ',');
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[2], "");
    EXPECT_EQ(parts[3], "c");
}

TEST(Text, PrintableFoldsControlBytes) {
    EXPECT_EQ(text::printable(std::string("a\0b\r\n\tc  d", 10)), "a b c d");
    EXPECT_EQ(text::printable("\x01\x02"), "");
    EXPECT_EQ(text::printable("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(Text, ClipNeverSplitsUtf8) {
    EXPECT_EQ(text::clip("abcdef", 4), "abcd");
    EXPECT_EQ(text::clip("ab\xc3\xa9", 3), "ab");
    EXPECT_EQ(text::clip("abc", 10), "abc");
}

TEST(Text, ValidUtf8ReplacesBadSequences) {
    EXPECT_EQ(text::valid_utf8("ok"), "ok");
    EXPECT_EQ(text::valid_utf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(text::valid_utf8("\xc3"), "\xEF\xBF\xBD");            // truncated sequence
    EXPECT_EQ(text::valid_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(text::valid_utf8("\xe3\x81\x82"), "\xe3\x81\x82");
}

TEST(Duration, ParsesUnits) {
    EXPECT_EQ(parse_duration("30s").value(), 30);
    EXPECT_EQ(parse_duration("5m").value(), 300);
    EXPECT_EQ(parse_duration("2h").value(), 7200);
    EXPECT_EQ(parse_duration("7d").value(), 604800);
    EXPECT_EQ(parse_duration("2w").value(), 1209600);
    EXPECT_EQ(parse_duration("90").value(), 90);
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("7x"));
    EXPECT_FALSE(parse_duration("-1s"));
    EXPECT_FALSE(parse_duration("1d2h"));
    EXPECT_FALSE(parse_duration("99999999999999999999d"));
    EXPECT_EQ(format_duration(604800), "7d");
    EXPECT_EQ(format_duration(86400 * 3), "3d");
    EXPECT_EQ(format_duration(90), "90s");
    EXPECT_EQ(format_duration(0), "0s");
}

}  // namespace bg
