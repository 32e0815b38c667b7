// SQLite-only store tests: open errors (missing, unreadable, corrupt, not a database), a lookup
// on a database that becomes unusable (TempError, never NotFound), several processes writing and
// reading one file at once, and a writer killed with SIGKILL in the middle of a batch.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/suppression_store.hpp"
#include "test_store_support.hpp"

namespace bg {
namespace {


using testing_support::TempDir;

Event event_for(std::string recipient, UnixTime t, std::string queue_id = "q") {
    Event e;
    e.time = t;
    e.recipient = std::move(recipient);
    e.source = EventSource::Maillog;
    e.reply_code = 550;
    e.status = "5.1.1";
    e.text = "550 5.1.1 User unknown";
    e.stage = "rcpt";
    e.queue_id = std::move(queue_id);
    e.category = Category::UserUnknown;
    e.blame = Blame::Recipient;
    e.rule_id = "user_unknown.text";
    return e;
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
}

TEST(SqliteStoreOpen, UriErrors) {
    EXPECT_FALSE(open_store("mysql://localhost/x"));
    EXPECT_FALSE(open_store("sqlite:"));
    EXPECT_FALSE(open_store("sqlite:/tmp/x.db?journal=off"));
    auto r = open_store("/var/lib/x.db");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("sqlite:PATH"), std::string::npos) << r.error().message;
}

TEST(SqliteStoreOpen, MissingDirectoryIsAClearError) {
    TempDir dir;
    auto r = open_store("sqlite:" + dir.path() + "/no/such/dir/store.db");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("/no/such/dir"), std::string::npos) << r.error().message;
}

TEST(SqliteStoreOpen, NotADatabase) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    write_file(path, std::string(8192, 'x'));
    auto r = open_store("sqlite:" + path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not an SQLite database"), std::string::npos) << r.error().message;
}

TEST(SqliteStoreOpen, CorruptHeaderIsAClearError) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    {
        auto s = open_store("sqlite:" + path);
        ASSERT_TRUE(s) << s.error().message;
    }
    // Keep the magic string, destroy the rest of the header and the schema page.
    std::string content = "SQLite format 3";
    content.push_back('\0');
    content += std::string(8192, '\xa5');
    write_file(path, content);
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
    auto r = open_store("sqlite:" + path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
    EXPECT_TRUE(r.error().message.find("corrupt") != std::string::npos ||
                r.error().message.find("not an SQLite database") != std::string::npos)
        << r.error().message;
}

TEST(SqliteStoreOpen, PathIsADirectory) {
    TempDir dir;
    auto r = open_store("sqlite:" + dir.path());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
}

// As root, permissions do not stop us: the check runs in a child that drops to `nobody`.
TEST(SqliteStoreOpen, UnreadableFile) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    {
        auto s = open_store("sqlite:" + path);
        ASSERT_TRUE(s) << s.error().message;
    }
    ASSERT_EQ(chmod(path.c_str(), 0), 0);
    ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
        auto r = open_store("sqlite:" + path);
        if (r) _exit(1);
        _exit(r.error().message.find("Permission denied") != std::string::npos ? 0 : 2);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: opened anyway, 2: unclear message, 3: could not drop privileges";
}

TEST(SqliteStoreOpen, NewerSchemaIsRefused) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    {
        auto s = open_store("sqlite:" + path);
        ASSERT_TRUE(s) << s.error().message;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 'future', 0)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    auto r = open_store("sqlite:" + path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

// The file is damaged under an open store: lookups report TempError, never NotFound.
TEST(SqliteStoreBroken, LookupIsTempErrorWhenTheFileIsDamaged) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    auto s = open_store("sqlite:" + path + "?busy_timeout_ms=200");
    ASSERT_TRUE(s) << s.error().message;
    for (int i = 0; i < 2000; ++i) {
        Suppression sup;
        sup.key = "user" + std::to_string(i) + "@example.com";
        sup.category = Category::UserUnknown;
        ASSERT_TRUE((*s)->put(sup));
    }
    ASSERT_TRUE((*s)->lookup("user5@example.com", 1).found());

    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
    // Overwrite everything after page 1 (the header and schema stay readable).
    {
        const int fd = open(path.c_str(), O_WRONLY);
        ASSERT_GE(fd, 0);
        struct stat st {};
        ASSERT_EQ(fstat(fd, &st), 0);
        const std::string junk(static_cast<std::size_t>(st.st_size) - 4096, '\xa5');
        ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 4096), static_cast<ssize_t>(junk.size()));
        close(fd);
    }
    // A write that touches page 1 only makes the store's connection drop its page cache.
    ASSERT_EQ(sqlite3_exec(other, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);

    for (const char* who : {"user5@example.com", "nobody@example.com"}) {
        const LookupResult r = (*s)->lookup(who, 1);
        EXPECT_EQ(r.status, LookupStatus::TempError) << who << ": " << to_string(r.status);
        EXPECT_FALSE(r.error.empty());
    }
}

// Several processes record events, write suppressions and look up at once: nothing is lost,
// and no call fails (no "database is locked").
TEST(SqliteStoreConcurrency, ProcessesWriteAndReadAtOnce) {
    TempDir dir;
    const std::string uri = "sqlite:" + dir.path() + "/store.db";
    constexpr int processes = 4, batches = 40, per_batch = 25;
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // Each process opens its own store; open races the others' migrations too.
            auto s = open_store(uri);
            if (!s) {
                std::fprintf(stderr, "child %d: open: %s\n", p, s.error().message.c_str());
                _exit(1);
            }
            for (int b = 0; b < batches; ++b) {
                std::vector<Event> batch;
                for (int i = 0; i < per_batch; ++i)
                    batch.push_back(event_for("p" + std::to_string(p) + "n" + std::to_string(i) + "@example.com",
                                              b, "b" + std::to_string(b)));
                auto ids = (*s)->record_events(batch);
                if (!ids) {
                    std::fprintf(stderr, "child %d: record: %s\n", p, ids.error().message.c_str());
                    _exit(2);
                }
                Suppression sup;
                sup.key = "p" + std::to_string(p) + "b" + std::to_string(b) + "@example.com";
                sup.category = Category::UserUnknown;
                sup.event_id = ids->front();
                if (auto r = (*s)->put(sup); !r) {
                    std::fprintf(stderr, "child %d: put: %s\n", p, r.error().message.c_str());
                    _exit(3);
                }
                const LookupResult l = (*s)->lookup(sup.key, 1);
                if (l.status != LookupStatus::Found) {
                    std::fprintf(stderr, "child %d: lookup: %s %s\n", p, std::string(to_string(l.status)).c_str(),
                                 l.error.c_str());
                    _exit(4);
                }
                const LookupResult other = (*s)->lookup("p" + std::to_string((p + 1) % processes) + "n0@example.com", 1);
                if (other.status == LookupStatus::TempError) {
                    std::fprintf(stderr, "child %d: lookup: %s\n", p, other.error.c_str());
                    _exit(5);
                }
            }
            _exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "a child failed (see stderr)";
    }
    auto s = open_store(uri);
    ASSERT_TRUE(s) << s.error().message;
    auto st = (*s)->stats();
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->events, processes * batches * per_batch);
    EXPECT_EQ(st->suppressions, processes * batches);
    for (int p = 0; p < processes; ++p)
        EXPECT_EQ((*s)->events_for("p" + std::to_string(p) + "n7@example.com", 0)->size(),
                  static_cast<std::size_t>(batches));
}

// A writer killed with SIGKILL in the middle of its batches: every batch it reported committed is
// there, whole, and no batch is there in part.
TEST(SqliteStoreCrash, SigkillMidBatchLosesNothingCommitted) {
    TempDir dir;
    const std::string uri = "sqlite:" + dir.path() + "/store.db";
    constexpr int per_batch = 500;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        auto s = open_store(uri);
        if (!s) _exit(1);
        for (int b = 0;; ++b) {
            std::vector<Event> batch;
            for (int i = 0; i < per_batch; ++i)
                batch.push_back(event_for("r" + std::to_string(i) + "@example.com", b, "b" + std::to_string(b)));
            if (!(*s)->record_events(batch)) _exit(2);
            if (write(fds[1], &b, sizeof b) != static_cast<ssize_t>(sizeof b)) _exit(3);
        }
    }
    close(fds[1]);
    int last = -1, got = 0;
    while (got < 8 && read(fds[0], &last, sizeof last) == static_cast<ssize_t>(sizeof last)) ++got;
    ASSERT_EQ(got, 8) << "the writer stopped early";
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    // Batches reported after we stopped reading are committed too; read what is left.
    int more;
    while (read(fds[0], &more, sizeof more) == static_cast<ssize_t>(sizeof more)) last = more;
    close(fds[0]);

    auto s = open_store(uri);
    ASSERT_TRUE(s) << s.error().message;
    auto st = (*s)->stats();
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_GE(st->events, static_cast<std::int64_t>(last + 1) * per_batch);
    EXPECT_EQ(st->events % per_batch, 0) << "a batch was committed in part";
    auto ev = (*s)->events_for("r0@example.com", 0);
    ASSERT_TRUE(ev);
    EXPECT_GE(ev->size(), static_cast<std::size_t>(last + 1));
}

// The lookup snapshot (store.lookup_snapshot_ms): lookups may miss another connection's change for
// at most the snapshot's age, never their own connection's, and an idle snapshot is let go.
Suppression entry(std::string key) {
    Suppression sup;
    sup.key = std::move(key);
    sup.category = Category::UserUnknown;
    return sup;
}

TEST(SqliteLookupSnapshot, OtherConnectionsChangesWaitForTheNextSnapshotOwnWritesDoNot) {
    TempDir dir;
    const std::string uri = "sqlite:" + dir.path() + "/store.db";
    auto reader = open_store(uri);
    auto writer = open_store(uri);
    ASSERT_TRUE(reader && writer);
    (*reader)->set_lookup_snapshot(std::chrono::seconds(30));
    EXPECT_EQ((*reader)->lookup("joe@example.com", 1).status, LookupStatus::NotFound);  // opens the snapshot
    ASSERT_TRUE((*writer)->put(entry("joe@example.com")));
    EXPECT_EQ((*reader)->lookup("joe@example.com", 1).status, LookupStatus::NotFound) << "read from the snapshot";
    // Any other call on the reader's connection ends its snapshot first.
    ASSERT_TRUE((*reader)->put(entry("ann@example.com")));
    EXPECT_TRUE((*reader)->lookup("joe@example.com", 1).found());
    EXPECT_TRUE((*reader)->lookup("ann@example.com", 1).found());
    // Turned off: every lookup reads the latest data.
    (*reader)->set_lookup_snapshot(std::chrono::milliseconds(0));
    ASSERT_TRUE((*writer)->remove("joe@example.com"));
    EXPECT_EQ((*reader)->lookup("joe@example.com", 1).status, LookupStatus::NotFound);
}

TEST(SqliteLookupSnapshot, RenewedOnceItsAgeIsPast) {
    TempDir dir;
    const std::string uri = "sqlite:" + dir.path() + "/store.db";
    auto reader = open_store(uri);
    auto writer = open_store(uri);
    ASSERT_TRUE(reader && writer);
    (*reader)->set_lookup_snapshot(std::chrono::milliseconds(20));
    EXPECT_EQ((*reader)->lookup("joe@example.com", 1).status, LookupStatus::NotFound);
    ASSERT_TRUE((*writer)->put(entry("@example.com")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const LookupResult r = (*reader)->lookup("joe@example.com", 1);
    ASSERT_TRUE(r.found());
    EXPECT_EQ(r.suppression.key, "@example.com");
}

// The first column of a pragma's first row, on a connection of its own (-1 when it fails).
int pragma_int(const std::string& path, const char* pragma) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    int value = -1;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, pragma, -1, &st, nullptr), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) value = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
}

// checkpoint(TRUNCATE) from a third connection: busy while a reader pins an older snapshot.
int truncate_checkpoint_busy(const std::string& path) { return pragma_int(path, "PRAGMA wal_checkpoint(TRUNCATE)"); }

TEST(SqliteLookupSnapshot, AnIdleSnapshotIsEndedSoCheckpointsComplete) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    auto reader = open_store("sqlite:" + path);
    auto writer = open_store("sqlite:" + path);
    ASSERT_TRUE(reader && writer);
    (*reader)->set_lookup_snapshot(std::chrono::milliseconds(1000));
    EXPECT_EQ((*reader)->lookup("joe@example.com", 1).status, LookupStatus::NotFound);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*writer)->put(entry("user" + std::to_string(i) + "@example.com")));
    EXPECT_EQ(truncate_checkpoint_busy(path), 1) << "the reader's snapshot should still hold the log";
    // No further lookup: the janitor ends the snapshot after its second.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(truncate_checkpoint_busy(path), 0);
    EXPECT_TRUE((*reader)->lookup("user7@example.com", 1).found());
}

// A new store has 8 KiB pages; a file made with other pages keeps them; the page size read
// from a file's header (as the policy daemon sizes its page-cache pool), hostile paths too.
TEST(SqliteStoreOpen, NewStoresHave8KiBPagesOlderFilesKeepTheirs) {
    TempDir dir;
    const std::string fresh = dir.path() + "/fresh.db";
    EXPECT_EQ(sqlite_store_page_size(fresh), sqlite_new_page_size);  // no file yet: what open makes
    ASSERT_TRUE(open_store("sqlite:" + fresh));
    EXPECT_EQ(pragma_int(fresh, "PRAGMA page_size"), 8192);
    EXPECT_EQ(sqlite_store_page_size(fresh), 8192);

    // a file made with SQLite's default page size keeps it (WAL mode cannot change it)
    const std::string old = dir.path() + "/old.db";
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "PRAGMA page_size=4096; CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
    }
    auto s = open_store("sqlite:" + old);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->put(Suppression{.key = "a@example.com", .category = Category::UserUnknown}));
    EXPECT_TRUE((*s)->lookup("a@example.com", 10).found());
    EXPECT_EQ(pragma_int(old, "PRAGMA page_size"), 4096);
    EXPECT_EQ(sqlite_store_page_size(old), 4096);

    // no database header, or one with an impossible page size: the default
    const std::string junk = dir.path() + "/junk";
    write_file(junk, std::string(100, 'x'));
    EXPECT_EQ(sqlite_store_page_size(junk), sqlite_new_page_size);
    write_file(junk, "");
    EXPECT_EQ(sqlite_store_page_size(junk), sqlite_new_page_size);
    const std::string magic("SQLite format 3\0", 16);
    write_file(junk, magic + "\x03\xe8" + std::string(82, '\0'));  // 1000: not a power of two
    EXPECT_EQ(sqlite_store_page_size(junk), sqlite_new_page_size);
    write_file(junk, magic + std::string("\0\x01", 2) + std::string(82, '\0'));  // 1 stands for 65536
    EXPECT_EQ(sqlite_store_page_size(junk), 65536);
    // a directory, and a FIFO nobody writes to (must not block)
    EXPECT_EQ(sqlite_store_page_size(dir.path()), sqlite_new_page_size);
    const std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(sqlite_store_page_size(fifo), sqlite_new_page_size);

    EXPECT_EQ(sqlite_path_of("sqlite:/var/lib/b/store.db"), "/var/lib/b/store.db");
    EXPECT_EQ(sqlite_path_of("sqlite:///var/lib/b/store.db?busy_timeout_ms=10"), "/var/lib/b/store.db");
    EXPECT_EQ(sqlite_path_of("postgresql://bg@localhost/bg"), std::nullopt);
}

// A store made by an older bounceguard (schema 1) is migrated on open, its data kept.
TEST(SqliteStoreOpen, OlderSchemaIsMigratedOnOpen) {
    TempDir dir;
    const std::string path = dir.path() + "/store.db";
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        const std::string v1(migrations().front().sqlite_sql);
        ASSERT_EQ(migrations().front().version, 1);
        ASSERT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                               "applied INTEGER NOT NULL); INSERT INTO schema_version VALUES (1, '0001_init', 0); "
                               "INSERT INTO events (time, recipient, domain, source, category, blame) "
                               "VALUES (5, 'a@example.com', 'example.com', 'maillog', 'user_unknown', 'recipient'); "
                               "INSERT INTO suppressions (key, category, first_seen, last_seen) "
                               "VALUES ('a@example.com', 'user_unknown', 5, 5)",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    auto s = open_store("sqlite:" + path);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(*(*s)->schema_version(), migrations().back().version);
    EXPECT_TRUE((*s)->lookup("a@example.com", 10).found());
    EXPECT_EQ(*(*s)->count_domain_recipients("example.com", Category::UserUnknown, 0, 0), 1);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(name, ',') FROM pragma_index_info('events_domain')", -1, &st,
                                 nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))), "domain,category,time,recipient");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

}  // namespace
}  // namespace bg
