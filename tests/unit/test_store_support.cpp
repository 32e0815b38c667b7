// test_store_support.cpp - temporary directories and the private PostgreSQL cluster for the store
// tests (see test_store_support.hpp).
#include "test_store_support.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#ifndef BG_PG_BINDIR
#define BG_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

namespace bg::testing_support {

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/bg_store_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
}

int run(const std::string& command) {
    const int rc = std::system(command.c_str());
    if (rc == -1 || !WIFEXITED(rc)) return -1;
    return WEXITSTATUS(rc);
}

namespace {

// BG_PG_BINDIR in the environment overrides the configured directory (other PostgreSQL versions).
std::string pg_bindir() {
    const char* env = std::getenv("BG_PG_BINDIR");
    return env && *env ? env : BG_PG_BINDIR;
}

int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Stops the cluster when the test program ends.
class PgEnvironment : public ::testing::Environment {
public:
    void TearDown() override {
        if (started) PgCluster::instance().shutdown();
    }
    static inline bool started = false;
};
[[maybe_unused]] ::testing::Environment* const pg_environment =
    ::testing::AddGlobalTestEnvironment(new PgEnvironment);

}  // namespace

std::string PgCluster::as_owner(const std::string& command) const {
    if (geteuid() != 0) return command;
    return "runuser -u postgres -- " + command;
}

PgCluster& PgCluster::instance() {
    static PgCluster cluster;
    return cluster;
}

PgCluster::PgCluster() {
    PgEnvironment::started = true;
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/bg_pg_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = buf.data();
    if (geteuid() == 0) {
        const passwd* pw = getpwnam("postgres");
        if (pw == nullptr) {
            error_ = "running as root and there is no 'postgres' user to run the cluster as";
            return;
        }
        if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            error_ = "cannot chown " + dir_ + " to postgres";
            return;
        }
    }
    const std::string bin = pg_bindir();
    if (run(as_owner(bin + "/initdb -D " + dir_ + "/data -A trust -U bg -E UTF8 --locale=C --no-sync > " + dir_ +
                     "/initdb.log 2>&1")) != 0) {
        error_ = "initdb failed: " + slurp(dir_ + "/initdb.log");
        return;
    }
    port_ = free_port();
    if (port_ == 0) {
        error_ = "no free port on 127.0.0.1";
        return;
    }
    if (!start()) return;
    ok_ = true;
}

bool PgCluster::start() {
    const std::string bin = pg_bindir();
    const std::string opts = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                             " -c unix_socket_directories=" + dir_ + " -c fsync=off -c max_connections=50";
    if (run(as_owner(bin + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o '" + opts +
                     "' start > " + dir_ + "/pg_ctl.log 2>&1")) != 0) {
        error_ = "pg_ctl start failed: " + slurp(dir_ + "/pg_ctl.log") + slurp(dir_ + "/server.log");
        return false;
    }
    return true;
}

bool PgCluster::stop() {
    const std::string bin = pg_bindir();
    return run(as_owner(bin + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop > /dev/null 2>&1")) == 0;
}

void PgCluster::shutdown() {
    if (!dir_.empty()) {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        dir_.clear();
    }
    ok_ = false;
}

int PgCluster::psql(const std::string& db, const std::string& sql) {
    // The SQL is ours (test constants), passed through a file to avoid shell quoting.
    const std::string file = dir_ + "/cmd.sql";
    {
        std::ofstream out(file);
        out << sql << "\n";
    }
    return run(pg_bindir() + "/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(port_) + " -U bg -d " + db +
               " -f " + file + " > /dev/null 2>&1");
}

std::string PgCluster::create_database() {
    const std::string name = "bgtest" + std::to_string(++next_db_);
    if (psql("postgres", "CREATE DATABASE " + name + ";") != 0) return {};
    return "postgresql://bg@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

}  // namespace bg::testing_support

// LeakSanitizer (BG_SANITIZE builds): libpqxx 6.4 leaks the PGresult of a statement that fails
// because the connection broke (connection_base::exec_prepared asks for the client encoding, which
// throws, before it takes ownership of the result). PgStore.LostConnectionIsTempErrorThenReconnects
// does exactly that; the leak is libpqxx's, a few KiB per lost connection.
extern "C" const char* __lsan_default_suppressions();  // NOLINT(bugprone-reserved-identifier)
extern "C" const char* __lsan_default_suppressions() {
    return "leak:pqxx::connection_base::exec_prepared\n";
}
