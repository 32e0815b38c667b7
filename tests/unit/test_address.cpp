// Unit tests for smtp/address: normalisation of mailboxes and domains (table-driven).
#include <gtest/gtest.h>

#include "smtp/address.hpp"

namespace bg {

TEST(Address, Normalises) {
    const struct {
        std::string_view in, out;
    } cases[] = {
        {"joe@example.com", "joe@example.com"},
        {"<Joe@Example.COM>", "joe@example.com"},
        {"  < joe@example.com >\r\n", "joe@example.com"},
        {"Joe.Bloggs+tag@EXAMPLE.com.", "joe.bloggs+tag@example.com"},
        {"joe@bücher.example", "joe@xn--bcher-kva.example"},
        {"joe@BÜCHER.example", "joe@xn--bcher-kva.example"},
        {"joe@xn--bcher-kva.example", "joe@xn--bcher-kva.example"},
        {"jörg@example.com", "jörg@example.com"},  // UTF-8 local part (RFC 6531) kept as is
        {"\"joe smith\"@example.com", "\"joe smith\"@example.com"},
        {"postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"},
        {"a@b", "a@b"},
    };
    for (const auto& c : cases) {
        auto r = normalize_address(c.in);
        ASSERT_TRUE(r) << c.in << ": " << r.error().message;
        EXPECT_EQ(*r, c.out) << c.in;
    }
}

TEST(Address, RejectsInvalid) {
    const std::string long_local(65, 'a');
    const std::string long_label(64, 'a');
    const std::string_view bad[] = {
        "", "<>", "   ", "joe", "joe@", "@example.com", "<joe@example.com", "joe smith@example.com",
        "joe@exa mple.com", "joe@example..com", "joe@-example.com", "joe@example.com\n@x",
        ".joe@example.com", "joe.@example.com", "jo..e@example.com", "joe@[192.0.2.1",
        "joe@exa_mple\x01.com", "jo\x7f" "e@example.com",
    };
    for (std::string_view b : bad) {
        auto r = normalize_address(b);
        EXPECT_FALSE(r) << "accepted: " << b;
        if (!r) {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
    EXPECT_FALSE(normalize_address(long_local + "@example.com"));
    EXPECT_FALSE(normalize_address("joe@" + long_label + ".com"));
    EXPECT_FALSE(normalize_address("joe@" + std::string(300, 'a')));
}

TEST(Address, ErrorsAreReadableAndClipped) {
    auto r = normalize_address("joe\x01@" + std::string(500, 'x'));
    ASSERT_FALSE(r);
    EXPECT_LT(r.error().message.size(), 200u);
    EXPECT_EQ(r.error().message.find('\x01'), std::string::npos);
}

TEST(Address, Domains) {
    EXPECT_EQ(*normalize_domain("Example.COM"), "example.com");
    EXPECT_EQ(*normalize_domain("münchen.DE."), "xn--mnchen-3ya.de");
    EXPECT_FALSE(normalize_domain(""));
    EXPECT_FALSE(normalize_domain("."));
    EXPECT_FALSE(normalize_domain("a..b"));
    EXPECT_EQ(domain_of("joe@example.com"), "example.com");
    EXPECT_EQ(domain_of("\"a@b\"@example.com"), "example.com");
    EXPECT_EQ(domain_of("nothing"), "");
}

}  // namespace bg
