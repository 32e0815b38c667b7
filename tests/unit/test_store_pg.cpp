// PostgreSQL-only store tests: a server that is down or goes away gives clear errors and a
// TempError lookup, a batch it interrupts fails as a whole, and the driver reconnects once it is
// back.
#include <gtest/gtest.h>

#include <memory>

#include "store/suppression_store.hpp"
#include "test_store_support.hpp"

namespace bg {
namespace {

Suppression entry(std::string key) {
    Suppression s;
    s.key = std::move(key);
    s.category = Category::UserUnknown;
    return s;
}

using testing_support::PgCluster;

// A store on a new database of the private cluster, which a test may stop and start.
class PgStore : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(pg.ok()) << "the private PostgreSQL cluster did not start: " << pg.error();
        const std::string uri = pg.create_database();
        ASSERT_FALSE(uri.empty()) << "CREATE DATABASE failed";
        auto opened = open_store(uri);
        ASSERT_TRUE(opened) << opened.error().message;
        s = std::move(*opened);
    }

    PgCluster& pg = PgCluster::instance();
    std::unique_ptr<SuppressionStore> s;
};

TEST(PgStoreOpen, NoServerIsAClearError) {
    // Port 1 on loopback: nothing listens there.
    auto r = open_store("postgresql://bg@127.0.0.1:1/none?connect_timeout=2");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("PostgreSQL"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("connection"), std::string::npos) << r.error().message;
}

TEST_F(PgStore, LostConnectionIsTempErrorThenReconnects) {
    ASSERT_TRUE(s->put(entry("joe@example.com")));
    ASSERT_TRUE(s->lookup("joe@example.com", 1).found());

    // The server goes down: TempError, never NotFound.
    ASSERT_TRUE(pg.stop());
    const LookupResult down = s->lookup("joe@example.com", 1);
    EXPECT_EQ(down.status, LookupStatus::TempError) << to_string(down.status);
    EXPECT_FALSE(down.error.empty());
    const LookupResult still_down = s->lookup("jim@example.com", 1);
    EXPECT_EQ(still_down.status, LookupStatus::TempError) << to_string(still_down.status);
    EXPECT_FALSE(s->stats());

    // It comes back: the same store object reconnects.
    ASSERT_TRUE(pg.start()) << pg.error();
    const LookupResult back = s->lookup("joe@example.com", 1);
    EXPECT_EQ(back.status, LookupStatus::Found) << back.error;
}

// The server goes away in the middle of a batch: the calls after that fail, the batch fails as a
// whole and nothing of it is kept; the same store object reconnects for the next batch.
TEST_F(PgStore, BatchLostWithTheConnectionFailsAsAWhole) {
    bool stopped = false;
    auto r = s->batch([&]() -> Result<void> {
        EXPECT_TRUE(s->put(entry("before@example.com")));
        stopped = pg.stop();
        EXPECT_EQ(s->lookup("before@example.com", 1).status, LookupStatus::TempError);
        EXPECT_FALSE(s->put(entry("during@example.com")));
        EXPECT_FALSE(s->get("before@example.com"));  // still the lost batch, not a new connection
        return Ok{};
    });
    ASSERT_TRUE(stopped) << pg.error();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("batch"), std::string::npos) << r.error().message;
    ASSERT_TRUE(pg.start()) << pg.error();
    EXPECT_EQ(s->lookup("before@example.com", 1).status, LookupStatus::NotFound);
    EXPECT_TRUE(s->batch([&]() -> Result<void> { return s->put(entry("after@example.com")); }));
    EXPECT_TRUE(s->lookup("after@example.com", 1).found());
}

}  // namespace
}  // namespace bg
