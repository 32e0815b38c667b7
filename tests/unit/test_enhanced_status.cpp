// Unit tests for smtp/enhanced_status: three integers, the scanner, and the registry.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "smtp/enhanced_status.hpp"

namespace bg {

TEST(EnhancedStatus, ParsesThreeIntegers) {
    EXPECT_EQ(parse_enhanced_status("5.7.26"), (EnhancedStatus{5, 7, 26}));
    EXPECT_EQ(parse_enhanced_status("4.2.2"), (EnhancedStatus{4, 2, 2}));
    EXPECT_EQ(parse_enhanced_status("5.1.10"), (EnhancedStatus{5, 1, 10}));
    EXPECT_EQ(parse_enhanced_status("2.0.0"), (EnhancedStatus{2, 0, 0}));
    EXPECT_EQ(parse_enhanced_status("5.7.606"), (EnhancedStatus{5, 7, 606}));
    EXPECT_EQ((EnhancedStatus{5, 7, 26}).to_string(), "5.7.26");
}

TEST(EnhancedStatus, RejectsNonStatus) {
    for (const char* bad : {"", "5.1", "6.1.1", "5.1.1234", "5..1", "5.1.1x", "x.1.1", "5.1.1.1", "55.1.1", "5.1."})
        EXPECT_FALSE(parse_enhanced_status(bad)) << bad;
}

TEST(EnhancedStatus, ScansAtStartOfText) {
    std::size_t len = 0;
    auto s = scan_enhanced_status("5.1.1 User unknown", len);
    ASSERT_TRUE(s);
    EXPECT_EQ(len, 5u);
    s = scan_enhanced_status("5.7.26. end", len);
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, (EnhancedStatus{5, 7, 26}));
    EXPECT_FALSE(scan_enhanced_status("5.1.1.1 is an address", len));
    EXPECT_FALSE(scan_enhanced_status("5.1", len));
}

TEST(EnhancedStatus, RegistryKeysAreUnique) {
    std::set<std::string> seen;
    for (const auto& m : status_registry()) {
        EXPECT_TRUE(seen.insert(std::string(m.code)).second) << "duplicate key " << m.code;
        EXPECT_FALSE(m.text.empty()) << m.code;
    }
    EXPECT_GE(seen.size(), 80u);
}

TEST(EnhancedStatus, DescribeFallsBackToSubject) {
    EXPECT_EQ(describe(EnhancedStatus{5, 7, 26}), "multiple authentication checks failed");
    EXPECT_EQ(describe(EnhancedStatus{4, 2, 2}), "mailbox full");
    EXPECT_EQ(describe(EnhancedStatus{5, 7, 999}), "other or undefined security status");
    EXPECT_EQ(describe(EnhancedStatus{5, 9, 9}), "");
}

}  // namespace bg
