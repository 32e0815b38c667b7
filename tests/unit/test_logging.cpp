// Unit tests for log/logging: logger construction from the configuration, and log_value().
#include <gtest/gtest.h>

#include "log/logging.hpp"

namespace bg {

TEST(Logging, BuildsStderrAndSyslogLoggers) {
    LogConfig c = default_config().log;
    auto l = make_logger(c, "test", true);
    ASSERT_TRUE(l);
    EXPECT_EQ((*l)->level(), spdlog::level::info);
    c.target = "syslog";
    c.level = "warn";
    auto s = make_logger(c, "test", false);
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)->level(), spdlog::level::warn);
    c.level = "loud";
    EXPECT_FALSE(make_logger(c, "test", true));
    c.level = "info";
    c.facility = "kern";
    EXPECT_FALSE(make_logger(c, "test", false));
}

TEST(Logging, LogValueIsSafeForOneLine) {
    EXPECT_EQ(log_value("plain"), "plain");
    EXPECT_EQ(log_value("two words"), "\"two words\"");
    EXPECT_EQ(log_value("a\nb\r\nc"), "\"a b c\"");
    EXPECT_EQ(log_value("q\"x"), "\"q\\\"x\"");
    EXPECT_EQ(log_value(""), "\"\"");
    EXPECT_EQ(log_value(std::string(1000, 'x'), 10), "xxxxxxxxxx");
    EXPECT_EQ(log_value("bad\xff"), "bad\xEF\xBF\xBD");
}

}  // namespace bg
